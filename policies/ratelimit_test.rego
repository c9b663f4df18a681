package authnzrv.ratelimit_test

import data.authnzrv.ratelimit

req(t) := {"request": t, "client_ip": "203.0.113.7", "email": "", "user_id": 0, "session": "", "apikey": ""}

decide(r, conf) := d if {
	d := ratelimit.decision with input as r with data.authnzrv.ratelimits as conf
}

ip_bucket(r, conf) := b if {
	some b in decide(r, conf).buckets
	startswith(b.key, "ip:")
}

test_group_limits if {
	ip_bucket(req("session-new"), {}) == {"key": "ip:session-new:203.0.113.7", "per_minute": 600, "burst": 150}
	ip_bucket(req("user-list"), {}).per_minute == 480
	ip_bucket(req("apikey-verify"), {}).per_minute == 720
	ip_bucket(req("internal-user-lock"), {}).per_minute == 3000
	ip_bucket(req("health"), {}).per_minute == 720
	ip_bucket(req("session-new"), {"session": 120, "burst": 150}) == {"key": "ip:session-new:203.0.113.7", "per_minute": 120, "burst": 150}
}

test_type_limits if {
	# security.md §5.3's pinned configuration.
	conf := {"ipaddr": 300, "user": 360, "session": 120, "apikey": 720, "burst": 150, "user-list": 10}
	ip_bucket(req("user-list"), conf) == {"key": "ip:user-list:203.0.113.7", "per_minute": 10, "burst": 10}
	ip_bucket(req("user-new"), conf) == {"key": "ip:user-new:203.0.113.7", "per_minute": 5, "burst": 5}

	# An explicit entry wins over the built-in one (quirk #32).
	ip_bucket(req("user-new"), {"user-new": 50}).per_minute == 50
}

test_email_types if {
	d := decide(req("user-sendemail-signup"), {})
	d.refuse != ""
	d.buckets == []
	r := object.union(req("user-sendemail-signup"), {"email": "digest"})
	buckets := decide(r, {}).buckets
	buckets[0] == {"key": "email:user-sendemail-signup:digest", "per_minute": 2, "burst": 2}
	e := object.union(req("user-lookup-email"), {"email": "digest"})
	decide(e, {}).buckets[0].per_minute == 480
}

test_identity_buckets if {
	r := object.union(req("apikey-verify"), {"user_id": 4, "session": "s1", "apikey": "k1"})
	keys := {b.key | some b in decide(r, {}).buckets}
	keys == {"ip:apikey-verify:203.0.113.7", "user:4", "session:s1", "apikey:k1"}
}
