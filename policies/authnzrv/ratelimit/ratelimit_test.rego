package authnzrv.ratelimit_test

import data.authnzrv.ratelimit

none := {"email": false, "user": false, "session": false, "apikey": false}

req(t, group) := {"request": t, "group": group, "email_request": false, "has": none}

decide(r, conf) := d if {
	d := ratelimit.decision with input as r with data.authnzrv.ratelimits as conf
}

ip_bucket(r, conf) := b if {
	some b in decide(r, conf).buckets
	b.kind == "ip"
}

test_group_limits if {
	ip_bucket(req("session-new", "session"), {}) == {"kind": "ip", "per_minute": 600, "burst": 150}
	ip_bucket(req("user-list", "user"), {}).per_minute == 480
	ip_bucket(req("apikey-verify", "apikey"), {}).per_minute == 720
	ip_bucket(req("internal-user-lock", "internal"), {}).per_minute == 3000
	ip_bucket(req("health", "ipaddr"), {}).per_minute == 720
	conf := {"session": 120, "burst": 150}
	ip_bucket(req("session-new", "session"), conf) == {"kind": "ip", "per_minute": 120, "burst": 150}
}

test_type_limits if {
	# security.md §5.3's pinned configuration.
	conf := {"ipaddr": 300, "user": 360, "session": 120, "apikey": 720, "burst": 150, "user-list": 10}
	ip_bucket(req("user-list", "user"), conf) == {"kind": "ip", "per_minute": 10, "burst": 10}
	ip_bucket(req("user-new", "user"), conf) == {"kind": "ip", "per_minute": 5, "burst": 5}

	# An explicit entry wins over the built-in one (quirk #32).
	ip_bucket(req("user-new", "user"), {"user-new": 50}).per_minute == 50
}

test_own_type_limits if {
	# authnzrv's second factor and social login steps are limited like logins.
	ip_bucket(req("user-login-totp", "user"), {}) == {"kind": "ip", "per_minute": 10, "burst": 10}
	ip_bucket(req("user-totp-disable", "user"), {}).per_minute == 5
	ip_bucket(req("user-social-finish", "user"), {}).per_minute == 10
	ip_bucket(req("user-social-list", "user"), {}).per_minute == 480

	# An explicit entry wins here too.
	ip_bucket(req("user-login-totp", "user"), {"user-login-totp": 30}).per_minute == 30
}

test_email_types if {
	mail := object.union(req("user-sendemail-signup", "user"), {"email_request": true})
	d := decide(mail, {})
	d.refuse != ""
	d.buckets == []
	with_email := object.union(mail, {"has": object.union(none, {"email": true})})
	buckets := decide(with_email, {}).buckets
	buckets[0] == {"kind": "email", "per_minute": 2, "burst": 2}
	has_email := object.union(none, {"email": true})
	lookup := object.union(req("user-lookup-email", "user"), {"email_request": true, "has": has_email})
	decide(lookup, {}).buckets[0].per_minute == 480

	# An e-mail in a type without a per-address bucket draws from none.
	login := object.union(req("user-login", "user"), {"has": object.union(none, {"email": true})})
	[b.kind | some b in decide(login, {}).buckets] == ["ip"]
}

test_identity_buckets if {
	has := {"email": false, "user": true, "session": true, "apikey": true}
	r := object.union(req("apikey-verify", "apikey"), {"has": has})
	[b.kind | some b in decide(r, {}).buckets] == ["ip", "user", "session", "apikey"]
	decide(r, {"burst": 1000}).buckets[1] == {"kind": "user", "per_minute": 480, "burst": 1000}
}
