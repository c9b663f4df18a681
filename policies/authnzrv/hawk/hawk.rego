# METADATA
# title: Hawk sender access (Bergson Authenticator REST API)
# description: |
#   Which Hawk sender may call which endpoint of the Bergson Authenticator
#   REST API, exactly as the source's ba_acl_check decides: an endpoint of
#   the sender's list equal to the path allows it; an endpoint containing
#   "::0" (anywhere but at its start) allows every path that starts with
#   the endpoint with each "::0" removed ("/v1/account/::0" allows
#   "/v1/account/" and everything below it). Everything else is refused,
#   as is a sender the list does not know.
#
#   Input:
#     sender  the Hawk id of a request whose signature verified
#     path    the request's path (for the unversioned aliases the server
#             asks with the /v1/account/... path they stand for)
#   Data: data.authnzrv.hawk.senders, name -> {"endpoints": [...]}, from
#   the --hawksenders file (the keys never enter policy data).
# related_resources:
#   - description: the source's ba_acl_check
#     ref: https://github.com/gudmdharalds/bergson_authenticator
package authnzrv.hawk

sender := data.authnzrv.hawk.senders[input.sender]

endpoints := [e | some e in sender.endpoints; is_string(e)]

# The endpoint of the list equal to the path.
exact := input.path if input.path in endpoints

# The wildcard endpoints whose prefix the path starts with.
wildcards contains e if {
	some e in endpoints
	indexof(e, "::0") > 0
	startswith(input.path, replace(e, "::0", ""))
}

# METADATA
# title: decision
# description: |
#   The answer: {"allowed": bool, "reason": words}.
# entrypoint: true
decision := {"allowed": false, "reason": "unknown Hawk sender"} if {
	not sender
} else := {"allowed": true, "reason": sprintf("the sender's endpoint %s", [exact])} if {
	exact
} else := {"allowed": true, "reason": sprintf("below the sender's endpoint %s", [min(wildcards)])} if {
	count(wildcards) > 0
} else := {"allowed": false, "reason": "the path is not in the sender's endpoints"}
