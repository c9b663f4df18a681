package api_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
				// Not env.do: t.Fatal must not run outside the test's
				// goroutine.
				r, err := env.c.Do(context.Background(), "user-login", bodies[i])
				if err != nil {
					t.Errorf("guess %d: %v", i, err)
					return
				}
				replies[i] = r
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
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
				r, err := e.c.Do(context.Background(), "user-login", bodies[i])
				if err != nil {
					t.Errorf("login %d: %v", i, err)
					return
				}
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

// reasonOf is a reply's failure reason: the top-level one, or the inner
// one of an argument validation failure.
func reasonOf(r *client.Reply) string {
	if reason := r.Reason(); reason != "" {
		return reason
	}
	if inner, ok := r.Response["response"].(map[string]any); ok {
		s, _ := inner["failure_reason"].(string)
		return s
	}
	s, _ := r.Response["failure_reason"].(string)
	return s
}

const reasonInvalidParams = "invalid request parameters"

// bigBody lets a test send values up to the production default body size.
func bigBody() envOption {
	return withOptions(func(o *api.Options) { o.MaxBodySize = 1 << 20 })
}

// fastest is the least time of n sends of one request (and its last reply).
func fastest(e *testEnv, n int, request string, body map[string]any) (time.Duration, *client.Reply) {
	best, r := time.Duration(1<<63-1), (*client.Reply)(nil)
	for range n {
		start := time.Now()
		r = e.do(request, body)
		best = min(best, time.Since(start))
	}
	return best, r
}

// TestFinding1AdversarialNamesAndLimits: user-new and self user-edit with
// full names of 64 KiB of dots, combining marks, mixed scripts and spaces
// are refused with a clear failure in about the time the same request takes
// with 64 KiB of plain letters; at the 280-character limit the same shapes
// get an answer of the same kind (a user or a documented refusal). E-mails
// and passwords at their limits are accepted and one character above them
// refused.
func TestFinding1AdversarialNamesAndLimits(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db, bigBody())
		uid := e.verifiedUser("editor@example.org")
		sess := e.newSession(uid)
		n := 0
		signup := func(name string) q {
			n++
			return q{"full_name": name, "email": fmt.Sprintf("finding1-%d@example.org", n), "password": goodPassword}
		}
		edit := func(name string) q {
			return q{"user_id": uid, "user_role": "authenticated", "session_token": sess, "target_userid": uid,
				"update_dict": q{"full_name": name}}
		}
		const size = 64 << 10
		shapes := map[string]string{
			"dots":            strings.Repeat(".", size),
			"combining marks": "a" + strings.Repeat("\u0301", size/2),
			"mixed scripts":   strings.Repeat("aЖ中ا\u0301ק", size/14),
			"spaces":          strings.Repeat(" ", size),
		}
		plain := strings.Repeat("abcdefghij", size/10)
		requests := []struct {
			name     string
			body     func(string) q
			refusals []string // above the limit
			atLimit  []string // failure reasons allowed at the limit ("" is a success)
		}{
			{"user-new", signup, []string{reasonInvalidParams}, []string{"", "invalid full name", "full name too long"}},
			{"user-edit", edit, []string{reasonInvalidParams, "invalid value for 'full_name' in update_dict"},
				[]string{"", "invalid value for 'full_name' in update_dict"}},
		}
		for _, rq := range requests {
			base, _ := fastest(e, 3, rq.name, rq.body(plain))
			for shape, s := range shapes {
				took, r := fastest(e, 3, rq.name, rq.body(s))
				if r.Success || !slices.Contains(rq.refusals, reasonOf(r)) {
					t.Errorf("%s with 64 KiB of %s: %+v", rq.name, shape, r)
				}
				if took > 20*base {
					t.Errorf("%s with 64 KiB of %s took %v, %.0f× the %v of plain letters", rq.name, shape, took, float64(took)/float64(base), base)
				}
				r = e.do(rq.name, rq.body(string([]rune(s)[:280])))
				if reason := reasonOf(r); r.Success != (reason == "") || !slices.Contains(rq.atLimit, reason) {
					t.Errorf("%s with 280 characters of %s: %+v", rq.name, shape, r)
				}
			}
		}
		domain := "@example.org"
		atLimit := strings.Repeat("l", 280-len(domain)) + domain
		pw := strings.Repeat("aROwQin9L8nNtPTEMLXd", 52)[:1024]
		cases := []struct {
			name   string
			body   q
			reason string
		}{
			{"e-mail of 280 characters", q{"full_name": "Limit", "email": atLimit, "password": goodPassword}, ""},
			{"e-mail of 281 characters", q{"full_name": "Limit", "email": "l" + atLimit, "password": goodPassword}, reasonInvalidParams},
			{"e-mail of 64 KiB", q{"full_name": "Limit", "email": strings.Repeat("l", size) + domain, "password": goodPassword}, reasonInvalidParams},
			{"password of 1024 characters", q{"full_name": "Limit", "email": "pw1024@example.org", "password": pw}, ""},
			{"password of 1025 characters", q{"full_name": "Limit", "email": "pw1025@example.org", "password": pw + "x"}, reasonInvalidParams},
			{"password of 64 KiB", q{"full_name": "Limit", "email": "pw64k@example.org", "password": strings.Repeat(pw, 64)}, reasonInvalidParams},
		}
		for _, tc := range cases {
			r := e.do("user-new", tc.body)
			if r.Success != (tc.reason == "") || reasonOf(r) != tc.reason {
				t.Errorf("%s: %+v, want failure reason %q", tc.name, r, tc.reason)
			}
		}
	})
}

// TestFinding4MemoryBoundedUnderLargeInputs: 150 requests, each with a
// unique string as large as the body limit (1 MiB, the default) allows, in
// turn in each place of the finding (target_name of user-check-access,
// client_ipaddr, ip_address of session-new, the e-mail of user-lookup-email
// and of user-login, the request name), through the rate limiter, the
// replay guard, the metrics and the lock-out: the live heap grows by less
// than 16 MiB (the 150 strings are 84 MiB). The bucket keys are digests
// (engine: TestFinding4BucketKeysBounded).
func TestFinding4MemoryBoundedUnderLargeInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 84 MiB through the API; skipped with -short")
	}
	for name, open := range map[string]func(testing.TB) identitytest.DB{"sqlite": identitytest.SQLite, "postgres": identitytest.Postgres} {
		t.Run(name, func(t *testing.T) {
			local, err := limiter.NewLocal(100_000)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, open(t), bigBody(), fastLockout(10), withOptions(func(o *api.Options) {
				o.Limiter, o.Metrics, o.RequestTTL = local, api.NewMetrics(), 120*time.Second
				o.Replay = limiter.NewLocalReplay(1_000_000, 180*time.Second)
			}))
			// What fits in a 1 MiB body: the body is 16/9 of the envelope
			// (base64 of a Fernet token, itself base64), less the
			// envelope's other keys.
			const size = (1<<20)*9/16 - 4096
			send := func(request, ip string, body q) {
				c, err := client.New(e.url, testSecret, client.WithClientIP(ip))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Do(context.Background(), request, body); err != nil {
					var se *client.StatusError
					if !errors.As(err, &se) || se.Code != http.StatusTooManyRequests {
						t.Fatalf("%s: %v", request, err)
					}
				}
			}
			places := []struct {
				name string
				send func(i int, big string)
			}{
				{"target_name in user-check-access", func(i int, big string) {
					send("user-check-access", fmt.Sprintf("10.1.%d.%d", i/250, i%250), q{"user_id": 1000 + i, "user_role": "superuser",
						"action": "view", "target_name": big, "target_owner": 1, "target_visibility": "public", "target_sharedwith": ""})
				}},
				{"client_ipaddr", func(_ int, big string) { send("session-exists", big, q{"session_token": "none"}) }},
				{"ip_address in session-new", func(i int, big string) {
					send("session-new", fmt.Sprintf("10.2.%d.%d", i/250, i%250), q{"ip_address": big, "user_agent": "x",
						"user_id": nil, "expires": future(), "extra_info_json": q{}})
				}},
				{"e-mail in user-lookup-email", func(i int, big string) {
					send("user-lookup-email", fmt.Sprintf("10.3.%d.%d", i/250, i%250), q{"email": big + "@example.org"})
				}},
				{"e-mail in user-login", func(i int, big string) {
					send("user-login", fmt.Sprintf("10.4.%d.%d", i/250, i%250), q{"session_token": "none", "email": big + "@example.org", "password": "x"})
				}},
				{"request name", func(i int, big string) {
					send(big, fmt.Sprintf("10.5.%d.%d", i/250, i%250), q{})
				}},
			}
			unique := func(i int) string { return fmt.Sprintf("%07d", i) + strings.Repeat("a", size-7) }
			live := func() uint64 {
				var m runtime.MemStats
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&m)
				return m.HeapAlloc
			}
			for _, p := range places { // warm-up: pools, first-use allocations
				p.send(0, unique(0))
			}
			// Under -race 48 requests (27 MiB of strings, still above the
			// bound) keep the test under half a minute.
			n := 150
			if raceDetector {
				n = 48
			}
			before := live()
			for i := 1; i <= n; i++ {
				places[i%len(places)].send(i, unique(i))
			}
			after := live()
			grew := int64(after) - int64(before)
			t.Logf("live heap %d KiB before, %d KiB after %d requests with unique %d KiB strings (%+d KiB)",
				before>>10, after>>10, n, size>>10, grew>>10)
			if grew > 16<<20 {
				t.Fatalf("live heap grew by %d MiB, bound 16 MiB", grew>>20)
			}
		})
	}
}

func capturedLog() (*syncBuffer, envOption) {
	buf := &syncBuffer{}
	return buf, withLogger(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// claimsSuccess reports whether a failure's messages read like a success.
func claimsSuccess(r *client.Reply) bool {
	for _, m := range r.Messages {
		if l := strings.ToLower(m); strings.Contains(l, "account created") || strings.Contains(l, "successful") {
			return true
		}
	}
	return false
}

// TestFinding6DatabaseDownNeverClaimsSuccess: with the database gone,
// every request gets its documented failure envelope (HTTP 200, success
// false, a failure reason that is not "invalid request parameters", no
// message saying it worked), and the cause is logged at Error.
func TestFinding6DatabaseDownNeverClaimsSuccess(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		logs, withLog := capturedLog()
		e := newEnv(t, db, withLog, fastLockout(5))
		uid := e.verifiedUser("down@example.org")
		token := e.newSession(uid)
		e.store.Cache().Apply("all") // nothing from before the outage answers
		if err := e.store.DB().Close(); err != nil {
			t.Fatal(err)
		}
		requests := []struct {
			name string
			body q
		}{
			{"user-new", q{"full_name": "New User", "email": "new@example.org", "password": goodPassword}},
			{"user-login", q{"session_token": token, "email": "down@example.org", "password": goodPassword}},
			{"user-passcheck-nosession", q{"email": "down@example.org", "password": goodPassword}},
			{"apikey-new-nosession", newNoSessionBody(uid, "authenticated")},
			{"apikey-new", newKeyBody(uid, "authenticated", token)},
			{"session-new", q{"ip_address": "203.0.113.7", "user_agent": "x", "user_id": uid, "expires": future(), "extra_info_json": q{}}},
			{"session-exists", q{"session_token": token}},
			{"user-lookup-email", q{"email": "down@example.org"}},
			{"user-set-emailverified", q{"email": "down@example.org"}},
		}
		for _, rq := range requests {
			r, err := e.c.Do(context.Background(), rq.name, rq.body)
			if err != nil {
				t.Errorf("%s with the database down: %v, want the failure envelope", rq.name, err)
				continue
			}
			if r.Success || reasonOf(r) == "" || reasonOf(r) == reasonInvalidParams || claimsSuccess(r) {
				t.Errorf("%s with the database down: %+v", rq.name, r)
			}
		}
		if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "database is closed") {
			t.Errorf("no Error-level line with the cause in the log:\n%s", logs.String())
		}
	})
}

// deadRedis is a client of a port nothing listens on.
func deadRedis(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// TestFinding6RedisOutageClosedAnswers503: with the shared store down and
// the failure policy closed, the rate limiter and the replay guard refuse
// with 503 naming the store and a Retry-After, not the 401 of a wrong key.
func TestFinding6RedisOutageClosedAnswers503(t *testing.T) {
	t.Parallel()
	for name, set := range map[string]func(*api.Options, *redis.Client){
		"rate limiter": func(o *api.Options, c *redis.Client) { o.Limiter = limiter.NewRedis(c, "finding6:", false) },
		"replay guard": func(o *api.Options, c *redis.Client) {
			o.Replay, o.RequestTTL = limiter.NewRedisReplay(c, "finding6:", time.Minute, false), time.Minute
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := deadRedis(t)
			e := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) { set(o, c) }))
			_, err := e.c.Do(context.Background(), "session-exists", q{"session_token": "x"})
			var se *client.StatusError
			if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable || se.RetryAfter == "" ||
				!strings.Contains(se.Body, "(Redis) is unavailable") {
				t.Fatalf("with Redis down: %v, want 503 naming Redis with Retry-After", err)
			}
		})
	}
}

// TestFinding6KeyAgainstSessionDeleteRace: apikey-new racing session-delete
// on the same session gets a key or a documented failure, never HTTP 400.
func TestFinding6KeyAgainstSessionDeleteRace(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		uid := e.verifiedUser("racer@example.org")
		var wg sync.WaitGroup
		for range 20 {
			token := e.newSession(uid)
			for _, rq := range []struct {
				name string
				body q
			}{{"apikey-new", newKeyBody(uid, "authenticated", token)}, {"session-delete", q{"session_token": token}}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := e.c.Do(context.Background(), rq.name, rq.body)
					if err != nil {
						t.Errorf("%s in the race: %v", rq.name, err)
						return
					}
					if !r.Success && (reasonOf(r) == "" || reasonOf(r) == reasonInvalidParams) {
						t.Errorf("%s in the race: %+v", rq.name, r)
					}
				}()
			}
		}
		wg.Wait()
	})
}

// nested is a JSON object nested depth deep.
func nested(depth int) q {
	v := q{"leaf": true}
	for range depth - 1 {
		v = q{"a": v}
	}
	return v
}

// TestFinding8BoundsTheSameOnEveryDatabase: oversized e-mails, names and
// user agents, deep JSON, negative or non-numeric key lifetimes are
// refused before the database, so every database answers alike; values at
// the limits are accepted alike; and attacker-controlled strings are
// truncated in the log.
func TestFinding8BoundsTheSameOnEveryDatabase(t *testing.T) {
	const big = 500_000
	answers := map[string]map[string]string{} // case → database → answer
	var order []string
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		logs, withLog := capturedLog()
		e := newEnv(t, db, bigBody(), withLog)
		uid := e.verifiedUser("bounds@example.org")
		token := e.newSession(uid)
		session := func(ua string, extra any) q {
			return q{"ip_address": "203.0.113.7", "user_agent": ua, "user_id": uid, "expires": future(), "extra_info_json": extra}
		}
		key := func(k string, v any) q {
			b := newKeyBody(uid, "authenticated", token)
			b[k] = v
			return b
		}
		n := 0
		signup := func(email, name string) q {
			n++
			if email == "" {
				email = fmt.Sprintf("bounds%d@example.org", n)
			}
			return q{"full_name": name, "email": email, "password": goodPassword}
		}
		domain := "@example.org"
		cases := []struct {
			name, request string
			body          q
			want          string // failure reason; "" for a success
		}{
			{"500 KB e-mail", "user-new", signup(strings.Repeat("e", big)+domain, "N"), reasonInvalidParams},
			{"e-mail of 280", "user-new", signup(strings.Repeat("e", 280-len(domain))+domain, "N"), ""},
			{"500 KB full name", "user-new", signup("", strings.Repeat("n", big)), reasonInvalidParams},
			{"full name of 280", "user-new", signup("", strings.Repeat("n", 280)), ""},
			{"full name of 280 that escaping lengthens", "user-new", signup("", strings.Repeat(`"`, 280)), "full name too long"},
			{"500 KB user agent", "session-new", session(strings.Repeat("u", big), q{}), reasonInvalidParams},
			{"user agent of 280", "session-new", session(strings.Repeat("u", 280), q{}), ""},
			{"user agent of 2048 (a long browser one)", "session-new", session(strings.Repeat("u", 2048), q{}), ""},
			{"user agent of 2049", "session-new", session(strings.Repeat("u", 2049), q{}), reasonInvalidParams},
			{"extra_info_json 9990 deep", "session-new", session("x", nested(9990)), reasonInvalidParams},
			{"extra_info_json 16 deep", "session-new", session("x", nested(16)), ""},
			{"expires_days -1", "apikey-new", key("expires_days", -1), reasonInvalidParams},
			{"not_valid_before true", "apikey-new", key("not_valid_before", true), reasonInvalidParams},
			{"not_valid_before -1", "apikey-new", key("not_valid_before", -1), reasonInvalidParams},
			{"not_valid_before 2^63", "apikey-new", key("not_valid_before", json.Number("9223372036854775808")), reasonInvalidParams},
			{"not_valid_before 1e308", "apikey-new", key("not_valid_before", json.Number("1e308")), reasonInvalidParams},
			{"a good key", "apikey-new", key("not_valid_before", 0), ""},
		}
		for _, tc := range cases {
			r := e.do(tc.request, tc.body)
			got := reasonOf(r)
			if r.Success != (tc.want == "") || got != tc.want {
				t.Errorf("%s: %+v, want failure reason %q", tc.name, r, tc.want)
			}
			if answers[tc.name] == nil {
				answers[tc.name] = map[string]string{}
				order = append(order, tc.name)
			}
			answers[tc.name][db.Driver] = fmt.Sprintf("success=%v reason=%q", r.Success, got)
		}
		// A 16-deep document comes back as stored.
		r := e.do("session-new", session("x", nested(16)))
		r = e.do("session-exists", q{"session_token": str(r, "session_token")})
		if info, _ := r.Response["session_info"].(map[string]any); info == nil || fmt.Sprint(info["extra_info_json"]) != fmt.Sprint(nested(16)) {
			t.Errorf("16-deep extra_info_json after a round trip: %+v", r.Response)
		}
		// Attacker-controlled strings in the log are cut short.
		reqid := strings.Repeat("r", big/2)
		if _, err := e.c.DoEnvelope(context.Background(), q{"request": strings.Repeat("x", big/2), "body": q{}, "reqid": reqid,
			"client_ipaddr": "203.0.113.7"}, nil); err != nil {
			t.Fatal(err)
		}
		e.do("session-new", session("x", q{}))
		e.do("session-new", q{"ip_address": "203.0.113.7", "user_agent": "x", "user_id": uid, "expires": strings.Repeat("9", big), "extra_info_json": q{}})
		if !strings.Contains(logs.String(), "request="+strings.Repeat("x", 64)) || !strings.Contains(logs.String(), "invalid request parameters") {
			t.Fatalf("the requests with long strings were not logged:\n%.2000s", logs.String())
		}
		for _, l := range strings.Split(logs.String(), "\n") {
			if len(l) > 4096 {
				t.Errorf("a log line of %d bytes: %.200s…", len(l), l)
			}
		}
	})
	for _, c := range order {
		var first string
		for _, a := range answers[c] {
			if first == "" {
				first = a
			} else if a != first {
				t.Errorf("%s answered differently by the databases: %v", c, answers[c])
			}
		}
	}
}

// TestFinding10MixedCaseLogin: the e-mail typed at login is normalised as
// sign-up stored it: Alice@Example.org logs in as alice@example.org.
func TestFinding10MixedCaseLogin(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		e.verifiedUser("alice@example.org")
		for _, typed := range []string{"Alice@Example.org", "ALICE@EXAMPLE.ORG", "alice@example.org"} {
			expect(t, e.do("user-login", loginBody(e, typed, goodPassword)), true, "", "Login successful.")
			expect(t, e.do("user-passcheck-nosession", q{"email": typed, "password": goodPassword}), true, "")
		}
		expect(t, e.do("user-login", loginBody(e, "Alice@Example.org", "wrong password")), false, msgWrong)
	})
}

// TestFinding10MixedCaseEverywhere: every request type that names a user by
// e-mail finds the user whose e-mail sign-up stored, whatever the case
// typed, and answers with the stored form.
func TestFinding10MixedCaseEverywhere(t *testing.T) {
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		e := newEnv(t, db)
		id := e.signup("carol@example.org")
		typed := "Carol@Example.ORG"
		r := e.do("user-set-emailverified", q{"email": typed})
		expect(t, r, true, "")
		if num(r, "user_id") != id {
			t.Fatalf("verified user %d, want %d", num(r, "user_id"), id)
		}
		r = e.do("user-lookup-email", q{"email": typed})
		expect(t, r, true, "")
		if info, _ := r.Response["user_info"].(map[string]any); info == nil || info["email"] != "carol@example.org" {
			t.Fatalf("lookup: %+v", r.Response)
		}
		r = e.do("user-set-emailsent", q{"email": typed, "email_type": "forgotpass"})
		expect(t, r, true, "")
		if str(r, "email") != "carol@example.org" {
			t.Fatalf("emailsent answered %q", str(r, "email"))
		}
		expect(t, e.do("user-changepass-nosession", q{"user_id": id, "full_name": "Carol", "email": typed,
			"current_password": goodPassword, "new_password": "zQ8#kd93LmA0pX2v"}), true, "")
		expect(t, e.do("user-delete", q{"user_id": id, "email": typed, "password": "zQ8#kd93LmA0pX2v"}), true, "")
	})
}

// hungRedis accepts connections and never answers; it counts the
// connections on which a command arrived.
func hungRedis(t *testing.T) (addr string, asked *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	asked = &atomic.Int64{}
	var conns sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			conns.Add(1)
			go func() {
				defer conns.Done()
				buf := make([]byte, 512)
				if _, err := c.Read(buf); err == nil {
					asked.Add(1)
				}
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		conns.Wait()
	})
	return ln.Addr().String(), asked
}

// TestFinding10HungRedisCostsOneTimeoutPerCooldown: with a Redis that
// accepts and never answers, the first request waits for the client's
// timeout and opens the circuit breaker; the next requests within the
// cooldown do not ask Redis at all (fail-open: they are served).
func TestFinding10HungRedisCostsOneTimeoutPerCooldown(t *testing.T) {
	t.Parallel()
	addr, asked := hungRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: 100 * time.Millisecond,
		WriteTimeout: 100 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	e := newEnv(t, identitytest.SQLite(t), withOptions(func(o *api.Options) { o.Limiter = limiter.NewRedis(c, "finding10:", true) }))
	start := time.Now()
	for i := range 20 {
		if r := e.do("session-exists", q{"session_token": "x"}); r.Success {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	if time.Since(start) >= limiter.BreakerCooldown {
		t.Skipf("20 requests took %v, longer than the breaker's cooldown: nothing to conclude", time.Since(start))
	}
	if n := asked.Load(); n != 1 {
		t.Fatalf("Redis was asked on %d connections during 20 requests, want 1 (one timeout per cooldown)", n)
	}
}

// testRedis is a client of AUTHNZRV_TEST_REDIS; the test is skipped when
// it is not set.
func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	u := os.Getenv("AUTHNZRV_TEST_REDIS")
	if u == "" {
		t.Skip("AUTHNZRV_TEST_REDIS is not set: skipping the Redis PII scan (e.g. AUTHNZRV_TEST_REDIS=redis://127.0.0.1:6379/0)")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("AUTHNZRV_TEST_REDIS: %v", err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// redisValues returns the value of a key, whatever its type, as strings.
func redisValues(ctx context.Context, c *redis.Client, key string) ([]string, error) {
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	switch typ {
	case "string":
		v, err := c.Get(ctx, key).Result()
		return []string{v}, err
	case "hash":
		m, err := c.HGetAll(ctx, key).Result()
		var out []string
		for k, v := range m {
			out = append(out, k, v)
		}
		return out, err
	case "set":
		return c.SMembers(ctx, key).Result()
	case "list":
		return c.LRange(ctx, key, 0, -1).Result()
	case "zset":
		return c.ZRange(ctx, key, 0, -1).Result()
	}
	return nil, nil // gone meanwhile, or a type authnzrv does not write
}

// TestFinding9NoPIIInRedis: sign-ups, logins right and wrong, lock-outs,
// forgot-password requests and look-ups of random e-mail addresses from
// random client addresses, through servers whose rate limiter, replay
// guard and cache invalidations use Redis; then every key in Redis is
// scanned, and the values of this run's keys read: no e-mail address, no
// part before an '@' and no client address appears. (Lock-out counts are
// rows of login_failures keyed by digest, not Redis hashes.)
func TestFinding9NoPIIInRedis(t *testing.T) {
	rc := testRedis(t)
	ctx := context.Background()
	identitytest.Each(t, func(t *testing.T, db identitytest.DB) {
		var tag [6]byte
		if _, err := rand.Read(tag[:]); err != nil {
			t.Fatal(err)
		}
		run := hex.EncodeToString(tag[:])
		prefix := "authnzrv-test-finding9-" + run + ":"
		t.Cleanup(func() {
			for _, match := range []string{prefix + "*", "rate:" + prefix + "*"} {
				keys, _ := rc.Keys(ctx, match).Result()
				if len(keys) > 0 {
					rc.Del(ctx, keys...)
				}
			}
		})
		e := newEnv(t, db, fastLockout(2), withOptions(func(o *api.Options) {
			o.Limiter = limiter.NewRedis(rc, prefix+"rl:", false)
			o.Replay, o.RequestTTL = limiter.NewRedisReplay(rc, prefix+"replay:", 3*time.Minute, false), 2*time.Minute
		}))
		e.store.PublishInvalidations(identity.RedisPublisher(rc))
		var secrets []string // what must not appear
		for i := range 4 {
			local := fmt.Sprintf("pii%suser%d", run, i)
			email, typed := local+"@example.org", local+"@Example.org" // as stored, and as a user may type it at login
			ip := fmt.Sprintf("10.%d.%d.%d", tag[0], tag[1], 10+i)
			secrets = append(secrets, email, local, ip)
			with := func(body q) q { body["client_ipaddr"] = ip; return body }
			uid := e.signup(typed)
			expect(t, e.do("user-set-emailverified", with(q{"email": email})), true, "")
			expect(t, e.do("user-login", with(loginBody(e, typed, goodPassword))), true, "", "Login successful.")
			e.do("user-login", with(loginBody(e, typed, "wrong password")))
			e.do("user-passcheck-nosession", with(q{"email": email, "password": "wrong"}))
			e.do("user-login", with(loginBody(e, email, "wrong password"))) // locks
			e.do("user-sendemail-forgotpass", with(q{"email_address": email, "session_token": e.newSession(uid),
				"server_name": "Test", "server_baseurl": "https://example.org", "password_forgot_url": "/forgot",
				"verification_token": "token", "verification_expiry": 900}))
			e.do("user-lookup-email", with(q{"email": email}))
			e.do("user-new", with(q{"full_name": "Again", "email": email, "password": goodPassword}))
		}
		found := map[string]int{}
		var cursor uint64
		for {
			keys, next, err := rc.Scan(ctx, cursor, "*", 1000).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				mine := strings.Contains(k, prefix)
				if mine {
					kind := "replay"
					if strings.Contains(k, prefix+"rl:") {
						kind = "rate limit"
					}
					found[kind]++
				}
				texts := []string{k}
				if mine {
					v, err := redisValues(ctx, rc, k)
					if err != nil && !errors.Is(err, redis.Nil) {
						t.Fatal(err)
					}
					texts = append(texts, v...)
				}
				for _, text := range texts {
					for _, s := range secrets {
						if strings.Contains(strings.ToLower(text), strings.ToLower(s)) {
							t.Errorf("Redis key %q holds %q", k, s)
						}
					}
				}
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
		if found["rate limit"] == 0 || found["replay"] == 0 {
			t.Fatalf("this run left no rate-limit or replay keys in Redis (%v): the scan proves nothing", found)
		}
		t.Logf("scanned Redis: %d rate-limit and %d replay keys of this run, none with an e-mail, local part or address", found["rate limit"], found["replay"])
	})
}
