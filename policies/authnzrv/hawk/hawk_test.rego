package authnzrv.hawk_test

import data.authnzrv.hawk

# The source's example configuration (config_example.py) plus the cases of
# its tests (tests.py test_mohawk_sig_ok4, test_mohawk_sig_not_ok4/5).
senders := {
	"someone": {"endpoints": ["/v1/account/authenticate"]},
	"otherone": {"endpoints": ["/v1/account/::0"]},
	"testing_entry": {"endpoints": ["/v1/::0", "/v1/testing123ABC"]},
	"irrelevant_entry": {"endpoints": ["/v1/testing123ABC"]},
	"leading": {"endpoints": ["::0/v1/account/create"]},
	"middle": {"endpoints": ["/v1/::0/create"]},
	"nothing": {"endpoints": []},
	"broken": {"endpoints": [1, null, "/v1/account/exists"]},
	"nolist": {},
}

allowed(sender, path) if {
	hawk.decision.allowed with input as {"sender": sender, "path": path} with data.authnzrv.hawk.senders as senders
}

reason(sender, path) := r if {
	r := hawk.decision.reason with input as {"sender": sender, "path": path}
		with data.authnzrv.hawk.senders as senders
}

test_exact if {
	allowed("someone", "/v1/account/authenticate")
	not allowed("someone", "/v1/account/create")
	not allowed("someone", "/v1/account/authenticate/")
	not allowed("someone", "/v1/account/authenticat")
	reason("someone", "/v1/account/authenticate") == "the sender's endpoint /v1/account/authenticate"
	reason("someone", "/v1/account/create") == "the path is not in the sender's endpoints"
}

test_wildcard if {
	allowed("otherone", "/v1/account/create")
	allowed("otherone", "/v1/account/")
	allowed("otherone", "/v1/account/anything/below")
	not allowed("otherone", "/v1/account")
	not allowed("otherone", "/v1/service/health")
	allowed("testing_entry", "/v1/testing123")
	reason("otherone", "/v1/account/exists") == "below the sender's endpoint /v1/account/::0"
}

# ba_acl_check skips an endpoint whose "::0" is at position 0, and removes
# every "::0" of the others before the prefix test.
test_wildcard_position if {
	not allowed("leading", "/v1/account/create")
	not allowed("leading", "::0/v1/account/create/x")
	allowed("leading", "::0/v1/account/create")
	allowed("middle", "/v1//create")
	allowed("middle", "/v1//create/more")
	not allowed("middle", "/v1/account/create")
}

test_unknown_and_empty if {
	not allowed("irrelevant_entry", "/v1/testing123")
	not allowed("nobody", "/v1/account/create")
	reason("nobody", "/v1/account/create") == "unknown Hawk sender"
	not allowed("nothing", "/v1/account/create")
	not allowed("nolist", "/v1/account/create")
	allowed("broken", "/v1/account/exists")
	not allowed("broken", "/v1/account/create")
}

test_no_senders_data if {
	not hawk.decision.allowed with input as {"sender": "someone", "path": "/v1/account/authenticate"}
		with data.authnzrv.hawk.senders as {}
}
