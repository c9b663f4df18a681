package api_test

import (
	"testing"

	"github.com/authnzrv/authnzrv/identity/identitytest"
)

const (
	accessTrue  = "Access request check successful. Access granted: True."
	accessFalse = "Access request check successful. Access granted: False."
)

func TestUserCheckAccess(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		u4 := e.verifiedUser("four@example.org") // authenticated
		u5 := e.signup("five@example.org")       // unverified
		u6 := e.verifiedUser("six@example.org")  // authenticated
		e.sql("UPDATE users SET user_role = 'staff' WHERE user_id = ?", u6)
		if u4 != 4 || u5 != 5 || u6 != 6 {
			t.Fatalf("ids %d %d %d", u4, u5, u6)
		}
		type q = map[string]any
		req := func(uid int64, role, action, item string, owner int64, vis, shared string) q {
			return q{"user_id": uid, "user_role": role, "action": action, "target_name": item,
				"target_owner": owner, "target_visibility": vis, "target_sharedwith": shared}
		}
		cases := []struct {
			name   string // checklist item
			body   q
			ok     bool
			reason string
			msg    string
		}{
			{"189 view public object", req(4, "authenticated", "view", "object", 1, "public", ""), true, "", accessTrue},
			{"190 delete public object", req(4, "authenticated", "delete", "object", 1, "public", ""), false, "action not permitted", accessFalse},
			{"191 edit own private dataset", req(4, "authenticated", "edit", "dataset", 4, "private", ""), true, "", accessTrue},
			{"192 superuser deletes others' dataset", req(1, "superuser", "delete", "dataset", 4, "private", ""), true, "", accessTrue},
			{"193 locked user 3", req(3, "locked", "view", "collection", 1, "public", ""), false, "user initiating request is not valid", accessFalse},
			{"194 unknown user", req(10, "superuser", "view", "collection", 1, "public", ""), false, "user initiating request is not valid", accessFalse},
			{"195 unverified user", req(5, "authenticated", "view", "collection", 1, "public", ""), false, "user initiating request is not valid", accessFalse},
			{"196 wrong role claimed", req(4, "superuser", "view", "collection", 1, "public", ""), false, "user initiating request is not valid", accessFalse},
			{"197 owner inactive", req(1, "superuser", "view", "collection", 3, "public", ""), false, "users specified as owner or shared-with not found", accessFalse},
			{"198 malformed shared-with", req(4, "authenticated", "view", "dataset", 1, "public", "4,x"), false, "exception when checking the DB", "Could not validate access to the requested item."},
			{"199 unknown role", req(4, "wizard", "view", "dataset", 1, "public", ""), false, "exception when checking the DB", "Could not validate access to the requested item."},
			{"200 unknown shared-with user", req(4, "authenticated", "view", "dataset", 1, "shared", "4,99"), false, "users specified as owner or shared-with not found", accessFalse},
			{"201 shared with 2 = everyone", req(4, "authenticated", "view", "dataset", 1, "shared", "2"), true, "", accessTrue},
			{"201 every listed id must exist", req(4, "authenticated", "view", "dataset", 1, "shared", "2,5"), false, "users specified as owner or shared-with not found", accessFalse},
			{"shared list without requester", req(4, "authenticated", "view", "dataset", 1, "shared", "6"), false, "action not permitted", accessFalse},
			{"staff lists others' private", req(6, "staff", "list", "collection", 1, "private", ""), true, "", accessTrue},
			{"staff cannot view others' private", req(6, "staff", "view", "collection", 1, "private", ""), false, "action not permitted", accessFalse},
			{"authenticated owns no object", req(4, "authenticated", "view", "object", 4, "public", ""), false, "action not permitted", accessFalse},
			{"none list", req(4, "authenticated", "view", "dataset", 1, "shared", "NONE"), false, "action not permitted", accessFalse},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				expect(t, e.do("user-check-access", tc.body), tc.ok, tc.reason, tc.msg)
			})
		}
	})
}

func TestUserCheckLimit(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		e.verifiedUser("four@example.org")
		type q = map[string]any
		lim := func(uid int64, role, name string, v any) q {
			return q{"user_id": uid, "user_role": role, "limit_name": name, "value_to_check": v}
		}
		const passT, passF = "Limit check successful. Limit check passed: True.", "Limit check successful. Limit check passed: False."
		cases := []struct {
			name   string // checklist item
			body   q
			ok     bool
			reason string
			msg    string
		}{
			{"202 under limit", lim(1, "superuser", "max_requests", 10000), true, "", passT},
			{"203 over limit", lim(1, "superuser", "max_requests_per_minute", 10000000), false, "user is over limit", passF},
			{"204 wrong role", lim(4, "superuser", "max_requests", 1), false, "user attempting access not found", passF},
			{"205 unknown limit passes", lim(4, "authenticated", "nonexistent_limit_name", 1), true, "", passT},
			{"206 digit string", lim(1, "superuser", "max_requests", "42"), true, "", passT},
			{"206 float string fails", lim(1, "superuser", "max_requests", "4.5"), false, "user is over limit", passF},
			{"207 equal to the limit fails", lim(1, "superuser", "max_requests", 5000000), false, "user is over limit", passF},
			{"unknown role", lim(1, "wizard", "max_requests", 1), false, "exception when checking the DB", "Could not validate limit rule for the requested item."},
			{"authenticated under", lim(4, "authenticated", "max_requests", 10000), true, "", passT},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				expect(t, e.do("user-check-limit", tc.body), tc.ok, tc.reason, tc.msg)
			})
		}
	})
}
