package api_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/authnzrv/authnzrv/identity/identitytest"
)

// TestCacheNeverStale: every write that changes what the identity cache
// holds is followed at once by the read it affects, on the instance that
// wrote and on a second instance sharing the database: neither answers
// from a stale entry. The reads are made once before the write, so both
// caches hold the entries the write must invalidate.
func TestCacheNeverStale(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		a := newEnv(t, db)
		b := newEnvOnStore(t, a)
		type fixture struct {
			uid               int64
			email             string
			session, session2 string
			key               map[string]any
		}
		setup := func(email string) fixture {
			uid := a.verifiedUser(email)
			f := fixture{uid: uid, email: email, session: a.newSession(uid), session2: a.newSession(uid)}
			r := a.do("apikey-new-nosession", q{"issuer": "x", "audience": "y", "subject": "z", "apiversion": 1,
				"expires_seconds": 3600, "not_valid_before": 0, "user_id": uid, "user_role": "authenticated",
				"ip_address": "203.0.113.7", "refresh_expires": 7200, "refresh_nbf": 0})
			if !r.Success {
				t.Fatalf("apikey-new-nosession: %+v", r)
			}
			if err := json.Unmarshal([]byte(str(r, "apikey")), &f.key); err != nil {
				t.Fatal(err)
			}
			return f
		}
		access := func(f fixture, role string) q {
			return q{"user_id": f.uid, "user_role": role, "action": "view", "target_name": "dataset",
				"target_owner": f.uid, "target_visibility": "private", "target_sharedwith": ""}
		}
		verify := func(f fixture) q { return q{"apikey_dict": f.key, "user_id": f.uid, "user_role": "authenticated"} }
		type read struct {
			request string
			body    func(f fixture) q
			before  bool // the answer before the write
			after   bool // the answer after it
		}
		sessionOK := func(f fixture) q { return q{"session_token": f.session} }
		session2OK := func(f fixture) q { return q{"session_token": f.session2} }
		cases := []struct {
			name  string
			write func(f fixture) (string, q)
			reads []read
		}{
			{"lock", func(f fixture) (string, q) { return "internal-user-lock", q{"target_userid": f.uid, "action": "lock"} },
				[]read{{"session-exists", sessionOK, true, false},
					{"user-check-access", func(f fixture) q { return access(f, "authenticated") }, true, false}}},
			{"role change", func(f fixture) (string, q) {
				return "internal-user-edit", q{"target_userid": f.uid, "update_dict": q{"user_role": "staff"}}
			}, []read{{"user-check-access", func(f fixture) q { return access(f, "authenticated") }, true, false},
				{"user-check-access", func(f fixture) q { return access(f, "staff") }, false, true}}},
			{"password change", func(f fixture) (string, q) {
				return "user-changepass", q{"user_id": f.uid, "session_token": f.session, "full_name": "Test User",
					"email": f.email, "current_password": goodPassword, "new_password": "zQ8#kd93LmA0pX2v"}
			}, []read{{"session-exists", session2OK, true, false}}},
			{"session delete", func(f fixture) (string, q) { return "session-delete", q{"session_token": f.session} },
				[]read{{"session-exists", sessionOK, true, false}, {"session-exists", session2OK, true, true}}},
			{"logout", func(f fixture) (string, q) { return "user-logout", q{"session_token": f.session, "user_id": f.uid} },
				[]read{{"session-exists", sessionOK, true, false}}},
			{"sessions of a user", func(f fixture) (string, q) {
				return "session-delete-userid", q{"session_token": f.session, "user_id": f.uid, "keep_current_session": true}
			}, []read{{"session-exists", session2OK, true, false}, {"session-exists", sessionOK, true, true}}},
			{"key revoke", func(f fixture) (string, q) { return "apikey-revoke-nosession", verify(f) },
				[]read{{"apikey-verify-nosession", verify, true, false}}},
			{"keys revoked all", func(f fixture) (string, q) { return "apikey-revokeall-nosession", verify(f) },
				[]read{{"apikey-verify-nosession", verify, true, false}}},
			{"user delete", func(f fixture) (string, q) { return "internal-user-delete", q{"target_userid": f.uid} },
				[]read{{"session-exists", sessionOK, true, false},
					{"user-check-access", func(f fixture) q { return access(f, "authenticated") }, true, false},
					{"apikey-verify-nosession", verify, true, false}}},
			{"deactivate", func(f fixture) (string, q) {
				return "internal-user-edit", q{"target_userid": f.uid, "update_dict": q{"is_active": false}}
			}, []read{{"user-check-access", func(f fixture) q { return access(f, "authenticated") }, true, false},
				{"apikey-verify-nosession", verify, true, false}}},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				f := setup(fmt.Sprintf("cache%d@example.org", i))
				for _, env := range []*testEnv{a, b} {
					for _, rd := range tc.reads {
						if got := env.do(rd.request, rd.body(f)).Success; got != rd.before {
							t.Fatalf("%s before the write: success %v, want %v", rd.request, got, rd.before)
						}
					}
				}
				req, body := tc.write(f)
				if r := a.do(req, body); !r.Success {
					t.Fatalf("write %s: %+v", req, r)
				}
				for name, env := range map[string]*testEnv{"the writing instance": a, "the other instance": b} {
					for _, rd := range tc.reads {
						if got := env.do(rd.request, rd.body(f)).Success; got != rd.after {
							t.Errorf("%s on %s right after the write: success %v, want %v", rd.request, name, got, rd.after)
						}
					}
				}
			})
		}
	})
}
