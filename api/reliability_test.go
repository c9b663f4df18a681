package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/engine/limiter"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/identitytest"
	"github.com/authnzrv/authnzrv/identity/password"
)

// Tests named after the findings of issue 13 (reliability and security of
// the running server).

const (
	msgWrong        = "user does not exist or password doesn't match"
	reasonBusy      = "server is busy, try again later"
	reasonInFlight  = "too many password checks in progress for this account, try again later"
	msgLockedOutTxt = "Your user account has been locked after repeated login failures. Try again in an hour or contact the server admins."
)

func fastLockout(tries int) envOption {
	return withOptions(func(o *api.Options) {
		o.Lockout = api.Lockout{Enabled: true, Tries: tries, Duration: time.Hour, BackoffBase: time.Millisecond, BackoffCap: 20 * time.Millisecond}
	})
}

func isLockedOut(r *client.Reply) bool {
	return !r.Success && len(r.Messages) == 1 && r.Messages[0] == msgLockedOutTxt
}

// TestFinding2ParallelGuessesCannotBeatLockout: 100 wrong passwords sent at
// once to two instances sharing the database evaluate exactly userlocktries
// of them; the account ends locked; the right password sent after them is
// not accepted.
func TestFinding2ParallelGuessesCannotBeatLockout(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		const tries, guesses = 10, 100
		a := newEnv(t, db, fastLockout(tries))
		b := newEnvOnStore(t, a, fastLockout(tries))
		a.verifiedUser("victim@example.org")
		bodies := make([]map[string]any, guesses)
		for i := range bodies {
			bodies[i] = map[string]any{"session_token": a.newSession(nil), "email": "victim@example.org",
				"password": fmt.Sprintf("guess %d", i), "client_ipaddr": fmt.Sprintf("203.0.113.%d", i)}
		}
		replies := make([]*client.Reply, guesses)
		var wg sync.WaitGroup
		for i := range guesses {
			env := a
			if i%2 == 1 {
				env = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i] = env.do("user-login", bodies[i])
			}()
		}
		wg.Wait()
		wrong, other := 0, map[string]int{}
		for _, r := range replies {
			switch {
			case r.Success:
				t.Fatalf("a wrong password logged in: %+v", r)
			case r.Reason() == msgWrong:
				wrong++
			case isLockedOut(r):
				other["locked out"]++
			case r.Reason() == reasonInFlight:
				other["in flight"]++
			default:
				t.Fatalf("unexpected reply %+v", r)
			}
		}
		if wrong != tries {
			t.Fatalf("%d wrong passwords evaluated, want exactly %d (others: %v)", wrong, tries, other)
		}
		u, err := a.store.UserByEmail(context.Background(), "victim@example.org")
		if err != nil || u.UserRole != "locked" || u.IsActive {
			t.Fatalf("victim after the guesses: %+v %v", u, err)
		}
		r := b.do("user-login", loginBody(b, "victim@example.org", goodPassword))
		if r.Success || !isLockedOut(r) {
			t.Fatalf("the right password after the lock-out: %+v", r)
		}
	})
}

// TestFinding3BusyIsNotAFailure: correct passwords answered "server is
// busy" count nothing: with userlocktries 2, a flood of the owner's own
// correct logins through a one-hash budget never locks the account.
func TestFinding3BusyIsNotAFailure(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		p := testParams()
		e := newEnv(t, db, fastLockout(2), withHasher(func(o *password.Options) {
			o.Params, o.MemoryBudget, o.MaxWaiting, o.MaxWaitingPerKey = p, uint64(p.Memory), 1, 1
		}))
		e.verifiedUser("owner@example.org")
		const n = 40
		bodies := make([]map[string]any, n)
		for i := range bodies {
			bodies[i] = loginBody(e, "owner@example.org", goodPassword)
			bodies[i]["client_ipaddr"] = fmt.Sprintf("198.51.100.%d", i)
		}
		counts := map[string]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do("user-login", bodies[i])
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.Success:
					counts["ok"]++
				case r.Reason() == reasonBusy:
					counts["busy"]++
					if _, ok := r.Response["retry_after"]; !ok {
						t.Errorf("busy reply without a retry hint: %+v", r.Response)
					}
				case r.Reason() == reasonInFlight:
					counts["in flight"]++
				default:
					t.Errorf("unexpected reply %+v", r)
				}
			}()
		}
		wg.Wait()
		if counts["ok"] == 0 {
			t.Fatalf("no login succeeded: %v", counts)
		}
		u, err := e.store.UserByEmail(context.Background(), "owner@example.org")
		if err != nil || u.UserRole == "locked" || !u.IsActive {
			t.Fatalf("owner locked by busy answers (%v): %+v %v", counts, u, err)
		}
		if r := e.do("user-login", loginBody(e, "owner@example.org", goodPassword)); !r.Success {
			t.Fatalf("owner after the flood (%v): %+v", counts, r)
		}
	})
}

// TestFinding3VictimGetsInDuringFlood: while 200 clients flood logins of
// other accounts through a small hashing budget, a user with the right
// password, retrying as the busy replies say, gets in. The time it took is
// logged (authnzrv bench measures it; tests assert no times).
func TestFinding3VictimGetsInDuringFlood(t *testing.T) {
	p := testParams()
	p.Memory = 512
	e := newEnv(t, identitytest.SQLite(t), withHasher(func(o *password.Options) {
		o.Params, o.MemoryBudget = p, uint64(p.Memory) // one hash at a time
	}))
	e.verifiedUser("victim@example.org")
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				body := map[string]any{"session_token": "no-such-session", "email": fmt.Sprintf("flood%d@example.org", i),
					"password": "wrong", "client_ipaddr": fmt.Sprintf("10.0.%d.%d", i/250, i%250)}
				if _, err := e.c.Do(ctx, "user-login", body); err != nil && ctx.Err() == nil {
					t.Errorf("flood: %v", err)
					return
				}
			}
		}()
	}
	start := time.Now()
	tries := 0
	for {
		tries++
		body := loginBody(e, "victim@example.org", goodPassword)
		body["client_ipaddr"] = "192.0.2.1"
		r := e.do("user-login", body)
		if r.Success {
			break
		}
		if r.Reason() != reasonBusy || tries > 100 {
			t.Fatalf("victim's login %d: %+v", tries, r)
		}
		wait, _ := r.Response["retry_after"].(float64)
		time.Sleep(time.Duration(wait * float64(time.Second)))
	}
	t.Logf("victim logged in after %v and %d attempts during a flood of 200 clients", time.Since(start), tries)
	stop()
	wg.Wait()
}

// TestFinding7StandardConformingStringsOff: on a PostgreSQL database whose
// default is standard_conforming_strings = off, a value that would end its
// string literal under that setting stays a value: the server forces the
// setting on for its connections.
func TestFinding7StandardConformingStringsOff(t *testing.T) {
	db := identitytest.Postgres(t)
	admin, err := identity.Open(context.Background(), db.Driver, db.DSN)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(must(url.Parse(db.DSN)).Path, "/")
	if _, err := admin.ExecContext(context.Background(), "ALTER DATABASE "+name+" SET standard_conforming_strings = off"); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	e := newEnv(t, db)
	var scs string
	if err := e.store.DB().QueryRowContext(context.Background(), "SHOW standard_conforming_strings").Scan(&scs); err != nil || scs != "on" {
		t.Fatalf("standard_conforming_strings on the server's connections: %q %v", scs, err)
	}
	for _, inj := range []string{`x\' OR 1=1) --`, `x\' OR TRUE --`, `\'; DROP TABLE users; --`} {
		r := e.do("user-lookup-email", q{"email": inj})
		expect(t, r, false, "user email not found in DB")
		r = e.do("user-lookup-match", q{"by": "email", "match": inj})
		if !r.Success || len(r.Response["user_info"].([]any)) != 0 {
			t.Fatalf("user-lookup-match with %q: %+v", inj, r.Response)
		}
	}
	if _, err := e.store.UserByID(context.Background(), 1); err != nil {
		t.Fatalf("users after the attempts: %v", err)
	}
}

// TestFinding7MySQLBackslashModeRefused: a MySQL DSN that asks for
// NO_BACKSLASH_ESCAPES is refused (bun escapes with backslashes).
func TestFinding7MySQLBackslashModeRefused(t *testing.T) {
	t.Parallel()
	_, err := identity.Open(context.Background(), identity.DriverMySQL, "u@tcp(127.0.0.1:1)/db?sql_mode=%27NO_BACKSLASH_ESCAPES%27")
	if err == nil || !strings.Contains(err.Error(), "NO_BACKSLASH_ESCAPES is refused") {
		t.Fatalf("err %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestFinding10TokensFromBeforeAStart: a server whose replay guard is in
// process refuses the tokens minted before it started (it cannot remember
// whether they were used before), and accepts newer ones once.
func TestFinding10TokensFromBeforeAStart(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) {
		o.RequestTTL, o.NotBefore = 120*time.Second, start
		o.Replay = limiter.NewLocalReplay(1000, 180*time.Second)
	}))
	msg := `{"request": "session-exists", "body": {"session_token": "x"}, "reqid": 1, "client_ipaddr": "1.2.3.4"}`
	if code, body, _ := rawPost(t, "POST", e.url+"/", sealAt(t, testSecret, msg, start.Add(-30*time.Second)), ""); code != 401 {
		t.Fatalf("token minted before the start: HTTP %d %s", code, body)
	}
	fresh := sealAt(t, testSecret, msg, start.Add(time.Second))
	for i, want := range []int{200, 401} {
		if code, _, _ := rawPost(t, "POST", e.url+"/", fresh, ""); code != want {
			t.Fatalf("token minted after the start, send %d: HTTP %d, want %d", i+1, code, want)
		}
	}
}

// TestFinding10DeactivatedUsersSessionsEnd: deactivating a user ends their
// sessions (the reference kept them); reactivating does not bring them
// back.
func TestFinding10DeactivatedUsersSessionsEnd(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		uid := e.verifiedUser("inactive@example.org")
		tok := e.newSession(uid)
		expect(t, e.do("session-exists", q{"session_token": tok}), true, "")
		expect(t, e.do("internal-user-edit", q{"target_userid": uid, "update_dict": q{"is_active": false}}), true, "")
		expect(t, e.do("session-exists", q{"session_token": tok}), false, "session does not exist or expired")
		expect(t, e.do("internal-user-edit", q{"target_userid": uid, "update_dict": q{"is_active": true}}), true, "")
		expect(t, e.do("session-exists", q{"session_token": tok}), false, "session does not exist or expired")
		// A session made for an inactive user does not answer either.
		expect(t, e.do("internal-user-edit", q{"target_userid": uid, "update_dict": q{"is_active": false}}), true, "")
		expect(t, e.do("session-exists", q{"session_token": e.newSession(uid)}), false, "session does not exist or expired")
	})
}

// TestFinding10LockRevokesNoSessionKeys: a lock revokes the user's
// no-session API keys; they do not come back with the unlock.
func TestFinding10LockRevokesNoSessionKeys(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		uid := e.verifiedUser("keys@example.org")
		r := e.do("apikey-new-nosession", newNoSessionBody(uid, "authenticated"))
		var claims map[string]any
		if err := json.Unmarshal([]byte(str(r, "apikey")), &claims); err != nil {
			t.Fatal(err)
		}
		verify := q{"apikey_dict": claims, "user_id": uid, "user_role": "authenticated"}
		expect(t, e.do("apikey-verify-nosession", verify), true, "")
		expect(t, e.do("internal-user-lock", q{"target_userid": uid, "action": "lock"}), true, "")
		expect(t, e.do("internal-user-lock", q{"target_userid": uid, "action": "unlock"}), true, "")
		r = e.do("apikey-verify-nosession", verify)
		expect(t, r, false, "key validation failed, provided key does not match stored key or has expired")
	})
}

// TestFinding10ExpectContinueTooLarge: a request announcing a body over the
// limit gets 413 at once, not "100 Continue".
func TestFinding10ExpectContinueTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, identitytest.SQLite(t))
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", 10<<20)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "HTTP/1.1 413") {
		t.Fatalf("status line %q, want 413", line)
	}
}
