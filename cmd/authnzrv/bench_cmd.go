package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/authnzrv/authnzrv/client"
	"github.com/authnzrv/authnzrv/config"
)

// benchResult is one workload at one concurrency.
type benchResult struct {
	Workload    string  `json:"workload"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Requests    int     `json:"requests"`
	PerSecond   float64 `json:"req_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	Errors      int     `json:"errors"`
	Limited     int     `json:"rate_limited"`
	// ServerCPUus is the server's CPU time per request in microseconds,
	// from process_cpu_seconds_total on its /metrics before and after the
	// level (0 when the server has no /metrics).
	ServerCPUus float64 `json:"server_cpu_us_per_req,omitempty"`
	// ServerRSSMB is the server's resident memory after the level, in MB.
	ServerRSSMB float64 `json:"server_rss_mb,omitempty"`
}

// workload prepares its data once and returns the operation to repeat.
// The clients are the end users to spread requests over (one client
// address each); a workload that needs identities makes one per client.
type workload func(ctx context.Context, cs []*client.Client) (func(ctx context.Context) error, error)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const benchPassword = "bench-Pa55word-aROwQin9L8"

// benchUser signs up and verifies a user and returns its id and e-mail.
func benchUser(ctx context.Context, c *client.Client) (int64, string, error) {
	email := "bench-" + randomHex(6) + "@example.org"
	r, err := c.Do(ctx, "user-new", map[string]any{"full_name": "Bench User", "email": email, "password": benchPassword})
	if err != nil {
		return 0, "", err
	}
	if !r.Success {
		return 0, "", fmt.Errorf("user-new: %s", r.Reason())
	}
	if r2, err := c.Do(ctx, "user-set-emailverified", map[string]any{"email": email}); err != nil || !r2.Success {
		return 0, "", fmt.Errorf("user-set-emailverified: %v %v", err, r2)
	}
	id, _ := r.Response["user_id"].(float64)
	return int64(id), email, nil
}

func newSession(ctx context.Context, c *client.Client) (string, error) {
	r, err := c.Do(ctx, "session-new", map[string]any{"ip_address": "203.0.113.7", "user_agent": "authnzrv-bench",
		"user_id": nil, "extra_info_json": nil, "expires": time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05.000000")})
	if err != nil {
		return "", err
	}
	if !r.Success {
		return "", fmt.Errorf("session-new: %s", r.Reason())
	}
	tok, _ := r.Response["session_token"].(string)
	return tok, nil
}

func expectSuccess(r *client.Reply, err error) error {
	if err != nil {
		return err
	}
	if !r.Success {
		return fmt.Errorf("%s", r.Reason())
	}
	return nil
}

// prepare makes one request body per client (in parallel, at most 8 at a
// time: sign-ups wait for the password hasher) and returns the operation
// that sends them in turn, each from its own client.
func prepare(ctx context.Context, cs []*client.Client, request string, ok bool,
	body func(ctx context.Context, i int, c *client.Client) (map[string]any, error)) (func(context.Context) error, error) {
	bodies := make([]map[string]any, len(cs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, c := range cs {
		g.Go(func() error {
			b, err := body(gctx, i, c)
			bodies[i] = b
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var next atomic.Uint64
	return func(ctx context.Context) error {
		i := int((next.Add(1) - 1) % uint64(len(cs)))
		r, err := cs[i].Do(ctx, request, bodies[i])
		if ok {
			return expectSuccess(r, err)
		}
		return err
	}, nil
}

var workloads = map[string]workload{
	// noop is an encrypted request of a type the server does not have: it
	// is decrypted, decoded and answered with an encrypted failure, the
	// floor of every request's cost.
	"noop": func(ctx context.Context, cs []*client.Client) (func(context.Context) error, error) {
		return prepare(ctx, cs, "bench-noop", false, func(context.Context, int, *client.Client) (map[string]any, error) {
			return map[string]any{}, nil
		})
	},
	"session-exists": func(ctx context.Context, cs []*client.Client) (func(context.Context) error, error) {
		return prepare(ctx, cs, "session-exists", true, func(ctx context.Context, _ int, c *client.Client) (map[string]any, error) {
			tok, err := newSession(ctx, c)
			return map[string]any{"session_token": tok}, err
		})
	},
	"user-check-access": func(ctx context.Context, cs []*client.Client) (func(context.Context) error, error) {
		return prepare(ctx, cs, "user-check-access", true, func(ctx context.Context, _ int, c *client.Client) (map[string]any, error) {
			id, _, err := benchUser(ctx, c)
			return map[string]any{"user_id": id, "user_role": "authenticated", "action": "view", "target_name": "dataset",
				"target_owner": id, "target_visibility": "private", "target_sharedwith": ""}, err
		})
	},
	"apikey-verify-nosession": func(ctx context.Context, cs []*client.Client) (func(context.Context) error, error) {
		op, err := prepare(ctx, cs, "apikey-verify-nosession", true, func(ctx context.Context, _ int, c *client.Client) (map[string]any, error) {
			id, _, err := benchUser(ctx, c)
			if err != nil {
				return nil, err
			}
			r, err := c.Do(ctx, "apikey-new-nosession", map[string]any{"issuer": "bench", "audience": "bench", "subject": "bench",
				"apiversion": 1, "expires_seconds": 86400, "not_valid_before": 0, "user_id": id, "user_role": "authenticated",
				"ip_address": "203.0.113.7", "refresh_expires": 86400, "refresh_nbf": 0})
			if err := expectSuccess(r, err); err != nil {
				return nil, fmt.Errorf("apikey-new-nosession: %w", err)
			}
			var claims map[string]any
			if err := json.Unmarshal([]byte(r.Response["apikey"].(string)), &claims); err != nil {
				return nil, err
			}
			return map[string]any{"apikey_dict": claims, "user_id": id, "user_role": "authenticated"}, nil
		})
		time.Sleep(10 * time.Millisecond) // keys are valid from the next moment on
		return op, err
	},
	"user-login": func(ctx context.Context, cs []*client.Client) (func(context.Context) error, error) {
		emails := make([]string, len(cs))
		if _, err := prepare(ctx, cs, "", false, func(ctx context.Context, i int, c *client.Client) (map[string]any, error) {
			var err error
			_, emails[i], err = benchUser(ctx, c)
			return nil, err
		}); err != nil {
			return nil, err
		}
		var next atomic.Uint64
		return func(ctx context.Context) error {
			i := int((next.Add(1) - 1) % uint64(len(cs)))
			tok, err := newSession(ctx, cs[i])
			if err != nil {
				return err
			}
			return expectSuccess(cs[i].Do(ctx, "user-login", map[string]any{"session_token": tok, "email": emails[i], "password": benchPassword}))
		}, nil
	},
	"user-new": func(ctx context.Context, cs []*client.Client) (func(context.Context) error, error) {
		var next atomic.Uint64
		return func(ctx context.Context) error {
			c := cs[int((next.Add(1)-1)%uint64(len(cs)))]
			return expectSuccess(c.Do(ctx, "user-new", map[string]any{"full_name": "Bench User",
				"email": "bench-" + randomHex(8) + "@example.org", "password": benchPassword}))
		}, nil
	},
}

// benchClients are spread clients sharing one HTTP client, each sending
// its requests as a different end user's address (10.x.y.z).
func benchClients(url, key string, hc *http.Client, spread int) ([]*client.Client, error) {
	cs := make([]*client.Client, spread)
	for i := range cs {
		ip := fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255+1)
		if spread == 1 {
			ip = "127.0.0.1"
		}
		c, err := client.New(url, key, client.WithHTTPClient(hc), client.WithClientIP(ip))
		if err != nil {
			return nil, err
		}
		cs[i] = c
	}
	return cs, nil
}

// serverStats reads the server's CPU seconds and resident memory from its
// Prometheus /metrics (ok false when it has none).
func serverStats(ctx context.Context, hc *http.Client, url string) (cpu, rss float64, ok bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/metrics", nil)
	if err != nil {
		return 0, 0, false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, 0, false
	}
	found := 0
	for _, line := range strings.Split(string(body), "\n") {
		name, value, _ := strings.Cut(line, " ")
		switch name {
		case "process_cpu_seconds_total":
			cpu, _ = strconv.ParseFloat(strings.TrimSpace(value), 64)
			found++
		case "process_resident_memory_bytes":
			rss, _ = strconv.ParseFloat(strings.TrimSpace(value), 64)
			found++
		}
	}
	return cpu, rss, found == 2
}

// runBench repeats op with n workers for d.
func runBench(ctx context.Context, name string, op func(context.Context) error, n int, d time.Duration) benchResult {
	var mu sync.Mutex
	var lat []time.Duration
	errs, limited := 0, 0
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			e, l := 0, 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t := time.Now()
				err := op(ctx)
				var se *client.StatusError
				switch {
				case err == nil:
					mine = append(mine, time.Since(t))
				case errors.As(err, &se) && se.Code == http.StatusTooManyRequests:
					l++
				default:
					e++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += e
			limited += l
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	return benchResult{Workload: name, Concurrency: n, Seconds: elapsed, Requests: len(lat), PerSecond: float64(len(lat)) / elapsed,
		P50ms: pct(0.50), P99ms: pct(0.99), Errors: errs, Limited: limited}
}

// secretValue reads --secret as the server reads its secret item: the path
// of a regular file means the file's contents (without surrounding
// newlines), anything else is the key itself.
func secretValue(s string) (string, error) {
	st, err := os.Stat(s)
	if err != nil || !st.Mode().IsRegular() {
		return s, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return "", fmt.Errorf("--secret: %w", err)
	}
	return strings.Trim(string(b), "\n"), nil
}

func newBenchCmd() *cobra.Command {
	var (
		url, secret, list, levels string
		duration                  time.Duration
		asJSON                    bool
		spread                    int
	)
	cmd := &cobra.Command{
		Use:   "bench --url URL --secret KEY",
		Short: "load-test any server speaking the authnzerver protocol",
		Long: `bench runs workloads (noop, session-exists, user-check-access,
apikey-verify-nosession, user-login, user-new) against a server for a fixed
duration at each concurrency level and reports requests per second, p50 and
p99 latency, errors and rate-limited (429) requests, and — when the server
has a Prometheus /metrics, as authnzrv does — the server's own CPU time per
request and its resident memory, as text or JSON. noop is an encrypted
request of an unknown type: the floor of every request's cost. It creates
its own users and sessions through the protocol; every request is
encrypted afresh, so request freshness (the replay guard) may stay on.
Measure a server started with --ratelimits none unless you measure the
limits; to measure them as they work for many end users, --spread N sends
the requests of N users (own sessions, accounts and keys, made first) from
N client addresses in turn, so that no bucket empties (N ≥ req/s × 60 ÷ the
smallest per-minute limit, e.g. 1024 for 8,000 req/s and user:480).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" || secret == "" {
				return fmt.Errorf("--url and --secret are required")
			}
			key, err := secretValue(secret)
			if err != nil {
				return err
			}
			if !config.ValidFernetKey(key) {
				return errors.New("--secret: not a Fernet key, nor the path of a file holding one")
			}
			var conc []int
			for _, s := range strings.Split(levels, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 1 {
					return fmt.Errorf("--concurrency: %q is not a positive integer", s)
				}
				conc = append(conc, n)
			}
			transport := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}
			hc := &http.Client{Transport: transport, Timeout: 30 * time.Second}
			if spread < 1 || spread > 65536 {
				return fmt.Errorf("--spread: %d is not between 1 and 65536", spread)
			}
			cs, err := benchClients(url, key, hc, spread)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var results []benchResult
			for _, name := range strings.Split(list, ",") {
				name = strings.TrimSpace(name)
				w, ok := workloads[name]
				if !ok {
					return fmt.Errorf("unknown workload %q", name)
				}
				op, err := w(ctx, cs)
				if err != nil {
					return fmt.Errorf("%s: set-up: %w", name, err)
				}
				for _, n := range conc {
					cpu0, _, haveStats := serverStats(ctx, hc, url)
					r := runBench(ctx, name, op, n, duration)
					if cpu1, rss, ok := serverStats(ctx, hc, url); haveStats && ok && r.Requests > 0 {
						r.ServerCPUus = (cpu1 - cpu0) * 1e6 / float64(r.Requests)
						r.ServerRSSMB = rss / 1e6
					}
					results = append(results, r)
					if !asJSON {
						fmt.Fprintf(cmd.ErrOrStderr(), "%s c=%d: %.0f req/s\n", name, n, r.PerSecond)
					}
				}
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(results)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "workload\tconcurrency\treq/s\tp50 ms\tp99 ms\tserver CPU µs/req\tserver RSS MB\terrors\t429\t")
			for _, r := range results {
				fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t%.2f\t%.0f\t%.0f\t%d\t%d\t\n", r.Workload, r.Concurrency, r.PerSecond,
					r.P50ms, r.P99ms, r.ServerCPUus, r.ServerRSSMB, r.Errors, r.Limited)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "server URL, e.g. http://127.0.0.1:13431")
	f.StringVar(&secret, "secret", "", "the server's Fernet key, or the path of a file holding it (as the server's --secret)")
	f.StringVar(&list, "workloads", "noop,session-exists,user-check-access,apikey-verify-nosession,user-login,user-new", "comma-separated workloads")
	f.StringVar(&levels, "concurrency", "1,16,64", "comma-separated concurrency levels")
	f.DurationVar(&duration, "duration", 10*time.Second, "how long each workload runs at each level")
	f.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	f.IntVar(&spread, "spread", 1, "end users (client addresses, sessions, accounts) to spread requests over")
	return cmd
}
