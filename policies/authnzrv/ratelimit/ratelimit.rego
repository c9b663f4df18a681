# METADATA
# title: Rate limits
# description: |
#   Which token buckets a request draws from, and their rates (security.md
#   §5). The server enforces the answer with token buckets (in process, or
#   Redis GCRA shared by all instances) and builds each bucket's key from
#   the request: the client address or e-mail (keyed digests) with the
#   request type for "ip" and "email" buckets, the user id, session or API
#   key digest for the others.
#
#   Input:
#     request        the request type ("health" for GET /health)
#     group          its rate-limit group from the request table: ipaddr,
#                    user, session, apikey or internal
#     email_request  true when the type draws from a per-e-mail bucket
#     has            {email, user, session, apikey}: which identifiers the
#                    request carries
#   Data: data.authnzrv.ratelimits, the parsed `ratelimits` setting
#   ({"ipaddr": 720, "user-list": 10, ...}); data.authnzrv.model, the
#   permissions model.
package authnzrv.ratelimit

# The reference's group defaults (requests per minute) and burst size.
defaults := {"ipaddr": 720, "user": 480, "session": 600, "apikey": 720, "burst": 150}

group_names := object.keys(defaults)

# The reference's stricter limits for sensitive request types. An explicit
# entry for the same type in the `ratelimits` setting wins (quirk #32).
builtin := {
	"user-new": 5,
	"user-login": 10,
	"user-logout": 10,
	"user-edit": 10,
	"user-resetpass": 5,
	"user-changepass": 5,
	"user-sendemail-signup": 2,
	"user-sendemail-forgotpass": 2,
	"user-set-emailsent": 2,
	"apikey-new": 30,
	"apikey-new-nosession": 30,
	"apikey-refresh-nosession": 30,
}

# authnzrv's own request types (not in the reference) with limits of the
# same kind: the second factor and social login steps.
own := {
	"user-login-totp": 10,
	"user-totp-enroll": 5,
	"user-totp-confirm": 5,
	"user-totp-disable": 5,
	"user-social-start": 10,
	"user-social-finish": 10,
}

default configured := {}

configured := data.authnzrv.ratelimits

config := object.union(defaults, configured)

# type_limit is the per-request-type limit, when there is one.
type_limit := configured[input.request] if {
	not input.request in group_names
} else := builtin[input.request] if {
	builtin[input.request]
} else := own[input.request]

# Internal request types share a fixed, generous limit, as in the reference.
group_limit := 3000 if input.group == "internal"

else := config[input.group]

ip_bucket := {"kind": "ip", "per_minute": type_limit, "burst": type_limit} if {
	type_limit
} else := {"kind": "ip", "per_minute": group_limit, "burst": max([config.burst, 1])}

email_limit := type_limit if type_limit

else := config.user

email_buckets := [{"kind": "email", "per_minute": email_limit, "burst": email_limit}] if {
	input.email_request
	input.has.email
} else := []

identity_bucket(kind, group) := {"kind": kind, "per_minute": config[group], "burst": max([config.burst, config[group]])}

user_buckets := [identity_bucket("user", "user")] if input.has.user

else := []

session_buckets := [identity_bucket("session", "session")] if input.has.session

else := []

apikey_buckets := [identity_bucket("apikey", "apikey")] if input.has.apikey

else := []

buckets := array.concat(
	array.concat(email_buckets, [ip_bucket]),
	array.concat(user_buckets, array.concat(session_buckets, apikey_buckets)),
)

# METADATA
# title: decision
# description: '{"refuse": reason or "", "buckets": [{"kind", "per_minute", "burst"}]}'
# entrypoint: true
decision := {"refuse": "e-mail request type without an e-mail address", "buckets": []} if {
	input.email_request
	not input.has.email
} else := {"refuse": "", "buckets": buckets}
