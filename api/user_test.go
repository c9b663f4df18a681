package api_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authnzrv/authnzrv/identity/identitytest"
)

const (
	msgCreated      = "User account created. Please verify your email address to log in."
	msgInvalidEmail = "The email address provided doesn't seem to be a valid email address and cannot be used to sign up for an account on this server."
	msgInvalidName  = "The full name provided appears to contain an HTTP link, and cannot be used to sign up for an account on this server."
)

func TestUserNew(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		// 99, 100, 224
		r := e.do("user-new", map[string]any{"full_name": "Test User", "email": "testuser@test.org", "password": goodPassword})
		expect(t, r, true, "", msgCreated)
		if num(r, "user_id") != 4 || str(r, "user_email") != "testuser@test.org" || r.Response["send_verification"] != true {
			t.Fatalf("reply %+v", r.Response)
		}
		if _, err := uuid.Parse(str(r, "system_id")); err != nil {
			t.Fatalf("system_id %q: %v", str(r, "system_id"), err)
		}
		u, err := e.store.UserByID(context.Background(), 4)
		if err != nil {
			t.Fatal(err)
		}
		x := u.ExtraInfo.Object()
		if u.UserRole != "locked" || u.IsActive || u.EmailVerified || u.EmailVerifySentDatetime == nil ||
			x["provenance"] != "request-created" || x["type"] != "normal-user" || x["verify_retry_wait"] != 6.0 {
			t.Fatalf("stored row %+v extra %v", u, x)
		}
		if strings.HasPrefix(u.Password, goodPassword) || !strings.HasPrefix(u.Password, "$argon2id$") {
			t.Fatal("password not stored as an argon2id hash")
		}

		cases := []struct {
			name   string // checklist item
			body   map[string]any
			reason string
			check  func(t *testing.T, r map[string]any)
		}{
			{"101 system_id given", map[string]any{"email": "sid@example.org", "system_id": "totally-random-systemid-1234"}, "",
				func(t *testing.T, r map[string]any) {
					if r["system_id"] != "totally-random-systemid-1234" {
						t.Fatalf("system_id %v", r["system_id"])
					}
				}},
			{"103 normalised email", map[string]any{"email": "Test.User@Example.ORG"}, "",
				func(t *testing.T, r map[string]any) {
					if r["user_email"] != "test.user@example.org" {
						t.Fatalf("user_email %v", r["user_email"])
					}
				}},
			{"104 reserved name", map[string]any{"email": "admin@example.org"}, "invalid email", nil},
			{"105 reserved name any case (quirk #14 fixed)", map[string]any{"email": "Admin@example.org"}, "invalid email", nil},
			{"106 ascii apostrophe", map[string]any{"email": "o'brien@example.org"}, "invalid email", nil},
			{"106 typographic apostrophe", map[string]any{"email": "o\u2019brien@example.org"}, "", nil},
			{"107 disposable", map[string]any{"email": "x@0-mail.com"}, "invalid email", nil},
			{"107 disposable subdomain", map[string]any{"email": "x@sub.0-mail.com"}, "", nil},
			{"108 no dot", map[string]any{"email": "someone@localhost"}, "", nil},
			{"109 two @", map[string]any{"email": "a@b@c.org"}, "invalid email", nil},
			{"trailing newline (quirk #15 fixed)", map[string]any{"email": "nl@example.org\n"}, "invalid email", nil},
			{"110 suffix in name", map[string]any{"email": "n1@example.org", "full_name": "Test User bIt.Ly/hahaspam"}, "invalid full name", nil},
			{"111 link in name", map[string]any{"email": "n2@example.org", "full_name": "Test User HttPs://BIT.lY/hahaspam"}, "invalid full name", nil},
			{"16 two @ in name (quirk #12 fixed)", map[string]any{"email": "n3@example.org", "full_name": "a@b@c"}, "", nil},
			{"113 weak password", map[string]any{"email": "weak@example.org", "password": "password"}, "invalid password",
				func(t *testing.T, r map[string]any) {
					msgs := fmt.Sprint(r["messages"])
					if r["user_email"] != "weak@example.org" || r["user_id"] != nil || r["send_verification"] != false ||
						!strings.Contains(msgs, "Your password is too short. It must have at least 12 characters.") ||
						!strings.Contains(msgs, "Your password is on the list of the most common passwords and is vulnerable to guessing.") {
						t.Fatalf("reply %v", r)
					}
				}},
			{"115 all digits", map[string]any{"email": "digits@example.org", "password": "239420349823904802398402375025"}, "invalid password",
				func(t *testing.T, r map[string]any) {
					if !strings.Contains(fmt.Sprint(r["messages"]), "Your password cannot be all numbers.") {
						t.Fatalf("messages %v", r["messages"])
					}
				}},
			{"102 extra_info merged", map[string]any{"email": "xi@example.org", "extra_info": map[string]any{"org": "x"}, "verify_retry_wait": 0}, "", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				body := map[string]any{"full_name": "Test User", "password": goodPassword}
				for k, v := range tc.body {
					body[k] = v
				}
				r := e.do("user-new", body)
				if tc.reason == "" {
					expect(t, r, true, "", msgCreated)
				} else {
					expect(t, r, false, tc.reason)
					switch tc.reason {
					case "invalid email":
						if !messagesEqual(r.Messages, msgInvalidEmail) || r.Response["user_email"] != nil {
							t.Fatalf("reply %+v", r.Response)
						}
					case "invalid full name":
						if !messagesEqual(r.Messages, msgInvalidName) {
							t.Fatalf("messages %q", r.Messages)
						}
					}
				}
				if tc.check != nil {
					tc.check(t, r.Response)
				}
			})
		}
		// 102: the stored extra_info keeps the caller's keys; wait 0 → 1.
		u, err = e.store.UserByEmail(context.Background(), "xi@example.org")
		if err != nil {
			t.Fatal(err)
		}
		if x := u.ExtraInfo.Object(); x["org"] != "x" || x["verify_retry_wait"] != 1.0 || x["provenance"] != "request-created" {
			t.Fatalf("extra_info %v", x)
		}
		// 112: the stored name is escaped and squeezed.
		r = e.do("user-new", map[string]any{"full_name": "<b>Bob</b>   Smith", "email": "bob@example.org", "password": goodPassword})
		expect(t, r, true, "")
		u, _ = e.store.UserByEmail(context.Background(), "bob@example.org")
		if u.FullName == nil || *u.FullName != "&lt;b&gt;Bob&lt;/b&gt; Smith" {
			t.Fatalf("stored name %v", u.FullName)
		}
	})
}

func TestUserNewExisting(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		// 118: an active user.
		id := e.verifiedUser("active@example.org")
		r := e.do("user-new", map[string]any{"full_name": "Test User", "email": "active@example.org", "password": goodPassword})
		expect(t, r, false, "user exists")
		if num(r, "user_id") != id || r.Response["send_verification"] != false || r.Messages[len(r.Messages)-1] != msgCreated {
			t.Fatalf("reply %+v", r.Response)
		}
		// 120 / quirk #13 fixed: a system user's e-mail is "user exists", not a crash.
		r = e.do("user-new", map[string]any{"full_name": "Test User", "email": "anonuser@localhost", "password": goodPassword})
		expect(t, r, false, "user exists")
		if num(r, "user_id") != 2 || r.Response["send_verification"] != false {
			t.Fatalf("reply %+v", r.Response)
		}
		// 119: an unverified user within the wait → no resend; after it → resend and overwrite.
		uid := e.signup("pending@example.org")
		r = e.do("user-new", map[string]any{"full_name": "Other Name", "email": "pending@example.org", "password": "zQ8#kd93LmA0pX2v"})
		expect(t, r, false, "user exists")
		if r.Response["send_verification"] != false {
			t.Fatal("resend inside verify_retry_wait")
		}
		e.sql("UPDATE users SET emailverify_sent_datetime = ? WHERE user_id = ?", "2001-01-01 00:00:00", uid)
		r = e.do("user-new", map[string]any{"full_name": "Other Name", "email": "pending@example.org", "password": "zQ8#kd93LmA0pX2v"})
		expect(t, r, false, "user exists")
		if r.Response["send_verification"] != true || num(r, "user_id") != uid {
			t.Fatalf("reply %+v", r.Response)
		}
		e.do("user-set-emailverified", map[string]any{"email": "pending@example.org"})
		r = e.do("user-passcheck-nosession", map[string]any{"email": "pending@example.org", "password": goodPassword})
		expect(t, r, false, "user does not exist or password doesn't match")
		r = e.do("user-passcheck-nosession", map[string]any{"email": "pending@example.org", "password": "zQ8#kd93LmA0pX2v"})
		expect(t, r, true, "")
	})
}

// TestParallelSignups: 200 concurrent sign-ups over 100 distinct e-mails
// (each sent twice) leave exactly 100 users, none lost, none duplicated.
func TestParallelSignups(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		const distinct = 100
		var wg sync.WaitGroup
		type outcome struct {
			email string
			ok    bool
			id    int64
			err   error
		}
		results := make(chan outcome, 2*distinct)
		for i := 0; i < 2*distinct; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				email := fmt.Sprintf("par%03d@example.org", i%distinct)
				body := map[string]any{"full_name": "Par User", "email": email, "password": goodPassword,
					"client_ipaddr": fmt.Sprintf("198.51.100.%d", i%250)}
				// A full hashing queue answers at once with a retry hint: a
				// client retries.
				for {
					r, err := e.c.Do(context.Background(), "user-new", body)
					if err != nil {
						results <- outcome{email: email, err: err}
						return
					}
					if r.Reason() == "server is busy, try again later" {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					results <- outcome{email: email, ok: r.Success, id: num(r, "user_id")}
					return
				}
			}(i)
		}
		wg.Wait()
		close(results)
		created := map[string]int{}
		ids := map[string]map[int64]bool{}
		for o := range results {
			if o.err != nil {
				t.Fatalf("%s: %v", o.email, o.err)
			}
			if o.ok {
				created[o.email]++
			}
			if ids[o.email] == nil {
				ids[o.email] = map[int64]bool{}
			}
			ids[o.email][o.id] = true
		}
		for i := 0; i < distinct; i++ {
			email := fmt.Sprintf("par%03d@example.org", i)
			if created[email] != 1 {
				t.Errorf("%s created %d times", email, created[email])
			}
			if len(ids[email]) != 1 {
				t.Errorf("%s answered with several user ids %v", email, ids[email])
			}
		}
		us, err := e.store.ListUsers(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(us) != 3+distinct {
			t.Fatalf("%d users, want %d", len(us), 3+distinct)
		}
	})
}

func TestUserSetEmailVerified(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		id := e.signup("v@example.org")
		// 167
		r := e.do("user-set-emailverified", map[string]any{"email": "v@example.org"})
		expect(t, r, true, "", "Email verification toggle request succeeded.")
		if num(r, "user_id") != id || r.Response["is_active"] != true || str(r, "user_role") != "authenticated" {
			t.Fatalf("reply %+v", r.Response)
		}
		// 168
		r = e.do("user-set-emailverified", map[string]any{"email": "nobody@example.org"})
		expect(t, r, false, "could not find user in DB by email", "Email verification toggle request failed.")
		if r.Response["user_id"] != nil || r.Response["is_active"] != false || str(r, "user_role") != "locked" {
			t.Fatalf("reply %+v", r.Response)
		}
		// 169 (quirk #26 fixed): a verified user an admin locked stays locked.
		e.sql(`UPDATE users SET is_active = ?, user_role = 'locked', extra_info = ? WHERE user_id = ?`, false, `{"previous_user_roles": ["staff"]}`, id)
		r = e.do("user-set-emailverified", map[string]any{"email": "v@example.org"})
		expect(t, r, true, "")
		if r.Response["is_active"] != false || str(r, "user_role") != "locked" {
			t.Fatalf("a locked, verified user was re-activated: %+v", r.Response)
		}
		// An unverified user with a recorded previous role gets it back.
		id2 := e.signup("prev@example.org")
		e.sql(`UPDATE users SET extra_info = ? WHERE user_id = ?`, `{"previous_user_roles": ["locked", "staff"]}`, id2)
		r = e.do("user-set-emailverified", map[string]any{"email": "prev@example.org"})
		if str(r, "user_role") != "staff" {
			t.Fatalf("role %q, want staff", str(r, "user_role"))
		}
	})
}

var userInfoKeys = []string{"user_id", "system_id", "full_name", "email", "email_verified", "is_active",
	"last_login_try", "last_login_success", "failed_login_tries", "created_on", "last_updated", "user_role",
	"extra_info", "emailverify_sent_datetime", "emailforgotpass_sent_datetime", "emailchangepass_sent_datetime"}

var isoRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$`)

func checkUserInfo(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok || len(m) != len(userInfoKeys) {
		t.Fatalf("user_info %v: want exactly %d keys", v, len(userInfoKeys))
	}
	for _, k := range userInfoKeys {
		if _, ok := m[k]; !ok {
			t.Fatalf("user_info lacks %q", k)
		}
	}
	for _, k := range []string{"created_on", "last_updated"} {
		if s, _ := m[k].(string); !isoRe.MatchString(s) {
			t.Fatalf("%s = %v is not a naive isoformat datetime", k, m[k])
		}
	}
	return m
}

func TestUserListAndLookup(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		// 140
		r := e.do("user-list", map[string]any{"user_id": nil})
		expect(t, r, true, "", "User look up successful.")
		list := r.Response["user_info"].([]any)
		if len(list) != 3 {
			t.Fatalf("%d users", len(list))
		}
		for i, u := range list {
			m := checkUserInfo(t, u)
			if m["user_id"] != float64(i+1) {
				t.Fatalf("order: %v", m["user_id"])
			}
		}
		// 141
		r = e.do("user-list", map[string]any{"user_id": 1})
		if l := r.Response["user_info"].([]any); len(l) != 1 {
			t.Fatalf("user-list 1: %v", l)
		}
		r = e.do("user-list", map[string]any{"user_id": 9999})
		expect(t, r, true, "")
		if l := r.Response["user_info"].([]any); len(l) != 0 {
			t.Fatalf("user-list 9999: %v", l)
		}
		// 142
		r = e.do("user-lookup-email", map[string]any{"email": "anonuser@localhost"})
		expect(t, r, true, "", "User look up successful.")
		if checkUserInfo(t, r.Response["user_info"])["user_id"] != 2.0 {
			t.Fatal("wrong user")
		}
		r = e.do("user-lookup-email", map[string]any{"email": "nobody@example.org"})
		expect(t, r, false, "user email not found in DB", "User look up failed.")
		if v, ok := r.Response["user_info"]; !ok || v != nil {
			t.Fatal("user_info must be null")
		}
	})
}
