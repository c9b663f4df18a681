package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/uptrace/bun"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/identity/social"
	"github.com/authnzrv/authnzrv/identity/validate"
)

func registerServeFlags(cmd *cobra.Command) {
	config.RegisterFlags(cmd.Flags())
	cmd.Flags().Bool("autosetup", false, config.Help("autosetup"))
}

// loadConfig resolves the configuration of a command from its flags, the
// process environment (or the one the command's context carries, see
// withEnviron) and the env file. It does not validate.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	home, _ := os.UserHomeDir()
	cfg, err := config.Load(cmd.Flags(), environFrom(cmd.Context()), home)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// newLogger builds the server's logger on w: slog's JSONHandler when
// logformat is json, its TextHandler otherwise; debug level in debug mode.
// It then logs, once, the configuration's notes (disagreeing sources,
// ignored and unknown variables), none of which holds a secret.
func newLogger(ctx context.Context, w io.Writer, cfg *config.Config) *slog.Logger {
	level := slog.LevelInfo
	if cfg.DebugMode {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	log := slog.New(h)
	cfg.Provenance.Log(ctx, log)
	for _, w := range cfg.PermissionWarnings() {
		log.Warn("configuration: " + w)
	}
	return log
}

// parseArgon2Params reads "m=65536,t=3,p=4" into hashing parameters.
func parseArgon2Params(s string) (password.Params, error) {
	p := password.DefaultParams()
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return p, fmt.Errorf("argon2params: %q is not key=value", part)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, fmt.Errorf("argon2params: %s: %w", k, err)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, fmt.Errorf("argon2params: p=%d is too large", n)
			}
			p.Threads = uint8(n)
		default:
			return p, fmt.Errorf("argon2params: unknown parameter %q (want m, t, p)", k)
		}
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("argon2params: %w", err)
	}
	return p, nil
}

// validatorAdapter gives the api the validator with the server's policy.
type validatorAdapter struct {
	v      *validate.Validator
	policy validate.Policy
}

func (a validatorAdapter) Email(e string) bool                          { return a.v.Email(e) }
func (a validatorAdapter) FullName(ctx context.Context, n string) error { return a.v.FullName(ctx, n) }
func (a validatorAdapter) NormalizeEmail(e string) string               { return validate.NormalizeEmail(e) }
func (a validatorAdapter) NormalizeFullName(n string) string            { return validate.NormalizeFullName(n) }
func (a validatorAdapter) Password(ctx context.Context, pw, email, name string) (bool, []string) {
	return a.v.Password(ctx, pw, email, name, a.policy)
}

// services are the long-lived parts of a running server.
type services struct {
	cfg   *config.Config
	log   *slog.Logger
	store *identity.Store
	// listen receives other instances' cache invalidations until its
	// context ends.
	listen func(ctx context.Context)
	engine *engine.Engine
	hasher *password.Hasher
	api    *api.Server
	// social are the social login providers (nil: none configured).
	social *social.Registry
	close  func()
}

// build builds the server from a configuration in two phases. First it
// checks everything it can without writing: the settings, the listen
// address and port, the base directory, the policies and permissions model,
// the mail templates, Redis, the database (reachable, and holding nothing,
// authnzrv's schema or the reference authnzerver's, which --adopt 0
// refuses). Only then does it write: it adopts a reference database in place
// or migrates, then sets up the roles and system users, with the superuser's
// credentials file reserved first so that an unwritable file stops the start
// before a superuser exists. Each write is one transaction (adoption,
// bootstrap) or leaves a state the next start completes (migrations).
func build(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *services, err error) {
	st := &startup{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			st.closeAll()
		}
	}()
	for _, phase := range []func(context.Context) error{st.settings, st.policies, st.database, st.apiServer, st.write} {
		if err := phase(ctx); err != nil {
			return nil, err
		}
	}
	return &services{cfg: cfg, log: log, store: st.store, listen: st.listen, engine: st.eng, hasher: st.hasher, api: st.srv,
		social: st.providers, close: st.closeAll}, nil
}

// checkWritableDir checks that files can be made in dir, which is created
// (0700) when missing.
func checkWritableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".authnzrv-write-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// admissible says whether the start may go on with the database it found,
// in one line when it may not.
func admissible(s identity.Survey, cfg *config.Config, dbu config.DBURL) error {
	switch {
	case s.State == identity.DBForeign:
		return fmt.Errorf("authdb: the database holds %s; refusing to start on it (give authnzrv an empty database, its own, or the reference authnzerver's)", s.Describe())
	case s.State != identity.DBReference:
		return nil
	case dbu.Driver == identity.DriverMySQL:
		return fmt.Errorf("authdb: the database holds %s, and adoption in place works on SQLite and PostgreSQL only: copy it into a new database with `authnzrv import --from URL`", s.Describe())
	case !cfg.Adopt:
		return fmt.Errorf("authdb: the database holds %s and --adopt is 0, so it is not taken over in place: start with --adopt 1, or copy it into another database with `authnzrv import --from URL`", s.Describe())
	}
	return nil
}

// envAdoptPause names the test-only variable that makes an adoption wait,
// inside its transaction and after copying the users, until the process
// ends: the crash test kills the process there. Never set it in production.
const envAdoptPause = "AUTHNZRV_TEST_ADOPT_PAUSE"

// adopt takes over the reference authnzerver's database in place and logs
// what it did and how to undo it.
func adopt(ctx context.Context, db *bun.DB, cfg *config.Config, dbu config.DBURL, log *slog.Logger) error {
	stamp := time.Now().UTC().Format("20060102T150405Z")
	o := identity.AdoptOptions{DSN: dbu.DSN, SQLitePath: dbu.Path}
	if dbu.Driver == identity.DriverPostgres {
		o.RollbackFile = filepath.Join(cfg.BaseDir, "authnzrv-adoption-rollback-"+stamp+".sql")
	}
	if os.Getenv(envAdoptPause) == "1" {
		o.AfterUsers = func(ctx context.Context) error {
			log.Warn("adoption paused inside its transaction (" + envAdoptPause + "=1, for tests only)")
			<-ctx.Done()
			return ctx.Err()
		}
	}
	a, err := identity.Adopt(ctx, db, o)
	if err != nil || a == nil {
		return err // nil: another instance adopted it meanwhile
	}
	undo := "stop authnzrv, then copy " + a.Backup + " over " + dbu.Path + " and delete " + dbu.Path + "-wal and " + dbu.Path + "-shm"
	if a.RollbackFile != "" {
		undo = "stop authnzrv, then run: psql -v ON_ERROR_STOP=1 -f " + a.RollbackFile + " <the authdb URL>"
	}
	r := a.Report
	log.Info("adopted the reference authnzerver's database in place; its tables are kept as "+identity.AdoptedPrefix+"*",
		"roles", r.Roles.Imported, "users", r.Users.Imported, "sessions", r.Sessions.Imported,
		"expired_sessions_left", r.Sessions.Skipped, "apikeys", r.APIKeys.Imported, "apikeys_nosession", r.NoSessionKeys.Imported,
		"backup", a.Backup, "rollback", undo)
	for _, n := range r.Notes {
		log.Warn("adoption: " + n)
	}
	return nil
}

// bootstrap sets up the roles and system users of a new database. The
// credentials file is reserved first (a new file in the base directory), so
// that a base directory that cannot take it stops the start before a
// superuser exists; it gets its name once the superuser is there.
func bootstrap(ctx context.Context, store *identity.Store, hasher *password.Hasher, roles []string, cfg *config.Config, log *slog.Logger) error {
	pending, err := os.CreateTemp(cfg.BaseDir, ".authnzerver-admin-credentials.new-*")
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	defer os.Remove(pending.Name()) // the named link stays
	defer pending.Close()
	res, err := store.Bootstrap(ctx, hasher, roles, cfg.AdminEmail, cfg.AdminPassword)
	if err != nil {
		return err
	}
	if !res.Created {
		log.Info("database already set up")
		added, err := store.EnsureRoles(ctx, roles)
		if len(added) > 0 {
			log.Info("roles of the permissions model added to the database", "roles", strings.Join(added, ","))
		}
		return err
	}
	path, err := writeCredentials(pending, cfg.BaseDir, res)
	if err != nil {
		return err
	}
	log.Info("database initialised; superuser credentials written", "file", path)
	return nil
}

// writeCredentials writes "<email> <password>" to the reserved file f (mode
// 0600) and names it the admin credentials file (a new timestamped one when
// that exists).
func writeCredentials(f *os.File, basedir string, res identity.BootstrapResult) (string, error) {
	pass := res.AdminPassword
	if pass == "" {
		pass = "password-was-user-generated"
	}
	if _, err := f.WriteString(res.AdminEmail + " " + pass + "\n"); err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	// A link, not a rename: an existing file is never replaced.
	path := filepath.Join(basedir, ".authnzerver-admin-credentials")
	err := os.Link(f.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		path = fmt.Sprintf("%s-%d", path, time.Now().Unix())
		err = os.Link(f.Name(), path)
	}
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	return path, nil
}

// unlockLoop ends lock-outs whose time has come, every few seconds (logins
// also check before they run).
func unlockLoop(ctx context.Context, s *services) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.api.UnlockExpired(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("automatic unlock", "error", err)
			}
		}
	}
}

// purgeLoop deletes sessions that expired more than sessionexpiry days ago,
// expired API keys and expired second-factor challenges, now and then every
// 24 h with ±10 % jitter.
func purgeLoop(ctx context.Context, s *services) {
	for {
		cutoff := time.Now().UTC().AddDate(0, 0, -s.cfg.SessionExpiry)
		n, err := s.store.PurgeSessions(ctx, cutoff, 1000)
		if err != nil && ctx.Err() == nil {
			s.log.Error("session purge", "error", err)
		} else if n > 0 {
			s.log.Info("expired sessions purged", "count", n)
		}
		if n, err := s.store.PurgeAPIKeys(ctx, time.Now().UTC(), 1000); err != nil && ctx.Err() == nil {
			s.log.Error("API key purge", "error", err)
		} else if n > 0 {
			s.log.Info("expired API keys purged", "count", n)
		}
		if n, err := s.store.PurgeTOTPChallenges(ctx, time.Now().UTC(), 1000); err != nil && ctx.Err() == nil {
			s.log.Error("second-factor challenge purge", "error", err)
		} else if n > 0 {
			s.log.Info("expired second-factor challenges purged", "count", n)
		}
		wait := time.Duration(float64(24*time.Hour) * (0.9 + 0.2*rand.Float64()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func runServe(cmd *cobra.Command, _ []string) error {
	ctx := cmd.Context()
	var setup *setupResult
	if auto, _ := cmd.Flags().GetBool("autosetup"); auto {
		var err error
		if setup, err = autosetup(cmd); err != nil {
			return err
		}
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	if setup != nil && setup.adminEmail != "" {
		cfg.AdminEmail, cfg.AdminPassword = setup.adminEmail, setup.adminPassword
	}
	log := newLogger(ctx, cmd.ErrOrStderr(), cfg)
	routeLibraryLogs(ctx, log)
	s, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.close()
	return serve(ctx, s)
}

// serve listens until ctx ends (SIGINT/SIGTERM), then drains in-flight
// requests. SIGHUP reloads the policies.
func serve(ctx context.Context, s *services) error {
	cfg, log := s.cfg, s.log
	go purgeLoop(ctx, s)
	go unlockLoop(ctx, s)
	if s.social != nil {
		go socialPurgeLoop(ctx, s)
	}
	go s.listen(ctx)
	go func() {
		if err := s.engine.Watch(ctx); err != nil && ctx.Err() == nil {
			log.Warn("policy file watcher stopped", "error", err)
		}
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := s.engine.Reload(ctx); err != nil {
					log.Error("policy reload refused; the previous policies keep serving", "error", err)
				} else {
					log.Info("policies reloaded", "revision", s.engine.Revision())
				}
			}
		}
	}()
	addr := net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	// At most --maxconns connections, idle ones closed first to make room
	// (connlimit.go); keep-alive connections close after --idletimeout.
	warnDescriptors(log, cfg.MaxConns)
	hs, limited := newHTTPServer(ln, s.api, limitsOf(cfg.MaxConns, cfg.IdleTimeout))
	ln = limited
	// net/http's own lines (TLS handshake errors, panics, bad responses)
	// in the server's format.
	hs.ErrorLog = slog.NewLogLogger(log.With("source", "net/http").Handler(), slog.LevelWarn)
	tlsOn := cfg.TLSCertFile != "" && cfg.TLSCertKey != ""
	if tlsOn {
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	errc := make(chan error, 1)
	go func() {
		if tlsOn {
			errc <- hs.ServeTLS(ln, cfg.TLSCertFile, cfg.TLSCertKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	// Start-up (policy compilation and tests, a first password hash) leaves
	// garbage the runtime would return to the system only slowly: return
	// it now, so an idle server holds what it uses.
	runtime.GC()
	debug.FreeOSMemory()
	log.Info("authnzrv listening", "addr", ln.Addr().String(), "tls", tlsOn, "policy_revision", s.engine.Revision())
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// useIdentityCache gives the store its read cache (--cachettl; 0: none) and
// the transports of invalidations: PostgreSQL's NOTIFY on PostgreSQL, and
// Redis with --redis. It returns the listener of the other instances'
// invalidations.
func useIdentityCache(cfg *config.Config, dbu config.DBURL, store *identity.Store, shared *sharedState, log *slog.Logger) func(context.Context) {
	if shared.redis != nil {
		store.PublishInvalidations(identity.RedisPublisher(shared.redis))
	}
	cache := identity.NewCache(identity.CacheOptions{TTL: time.Duration(cfg.CacheTTL) * time.Second})
	store.UseCache(cache)
	return func(ctx context.Context) {
		if cache == nil {
			return
		}
		if dbu.Driver == identity.DriverPostgres {
			go identity.ListenPostgres(ctx, dbu.DSN, cache, log)
		}
		if shared.redis != nil {
			go identity.ListenRedis(ctx, shared.redis, cache)
		}
	}
}

// notBefore is when the server started when its replay guard is in process
// (no --redis): tokens minted before it are refused, since the guard has
// forgotten them (README: request freshness).
func notBefore(cfg *config.Config) time.Time {
	if cfg.Redis != "" || cfg.RequestTTL <= 0 {
		return time.Time{}
	}
	return time.Now()
}
