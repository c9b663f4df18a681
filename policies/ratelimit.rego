# Rate-limit policy: which token buckets a request draws from, and their
# rates (security.md §5). The server enforces the answer with token buckets
# (in process, or Redis GCRA shared by all instances).
#
# Input: request (type), client_ip, email (a digest; "" when the body has
# none), user_id (0 when absent), session and apikey (digests, "" when
# absent).
# Data: data.authnzrv.ratelimits, the parsed `ratelimits` setting
# ({"ipaddr": 720, "user-list": 10, ...}); data.authnzrv.model, the
# permissions model (its role limits are there for custom rules).
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

default configured := {}

configured := data.authnzrv.ratelimits

config := object.union(defaults, configured)

# type_limit is the per-request-type limit, when there is one.
type_limit := configured[input.request] if {
	not input.request in group_names
} else := builtin[input.request]

group := "user" if {
	startswith(input.request, "user-")
} else := "session" if {
	startswith(input.request, "session-")
} else := "apikey" if {
	startswith(input.request, "apikey-")
} else := "internal" if {
	startswith(input.request, "internal-")
} else := "ipaddr"

# Internal request types share a fixed, generous limit, as in the reference.
group_limit := 3000 if group == "internal"

else := config[group]

# Request types tied to an e-mail address draw from a per-address bucket too.
email_type if contains(input.request, "email")

ip_bucket := {"key": sprintf("ip:%s:%s", [input.request, input.client_ip]), "per_minute": type_limit, "burst": type_limit} if {
	type_limit
} else := {"key": sprintf("ip:%s:%s", [input.request, input.client_ip]), "per_minute": group_limit, "burst": max([config.burst, 1])}

email_limit := type_limit if type_limit

else := config.user

email_buckets := [{"key": sprintf("email:%s:%s", [input.request, input.email]), "per_minute": email_limit, "burst": email_limit}] if {
	email_type
	input.email != ""
} else := []

user_buckets := [{"key": sprintf("user:%v", [input.user_id]), "per_minute": config.user, "burst": max([config.burst, config.user])}] if {
	input.user_id > 0
} else := []

session_buckets := [{"key": sprintf("session:%s", [input.session]), "per_minute": config.session, "burst": max([config.burst, config.session])}] if {
	input.session != ""
} else := []

apikey_buckets := [{"key": sprintf("apikey:%s", [input.apikey]), "per_minute": config.apikey, "burst": max([config.burst, config.apikey])}] if {
	input.apikey != ""
} else := []

buckets := array.concat(array.concat(array.concat(email_buckets, [ip_bucket]), user_buckets), array.concat(session_buckets, apikey_buckets))

decision := {"refuse": "e-mail request type without an e-mail address", "buckets": []} if {
	email_type
	input.email == ""
} else := {"refuse": "", "buckets": buckets}
