package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/mail"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/identity/pii"
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
	cfg    *config.Config
	log    *slog.Logger
	store  *identity.Store
	engine *engine.Engine
	hasher *password.Hasher
	api    *api.Server
	close  func()
}

// build opens the database, migrates it, loads the policies and builds the
// API server from a validated configuration.
func build(ctx context.Context, cfg *config.Config, log *slog.Logger) (*services, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	piiHasher, err := pii.New(cfg.PIISalt)
	if err != nil {
		return nil, fmt.Errorf("piisalt: %w", err)
	}
	policy, err := validate.ParsePolicy(cfg.PassPolicy)
	if err != nil {
		return nil, fmt.Errorf("passpolicy: %w", err)
	}
	params, err := parseArgon2Params(cfg.Argon2Params)
	if err != nil {
		return nil, err
	}
	var metrics *api.Metrics
	if cfg.Metrics {
		metrics = api.NewMetrics()
	}
	hasher, err := password.NewHasher(password.Options{Params: params, MemoryBudget: uint64(cfg.HashBudget) * 1024, Observe: metrics.ObserveHash})
	if err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	validator, err := validate.New(validate.Options{PwnedCheck: cfg.PwnedCheck})
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	rates, err := config.ParseRateLimits(cfg.RateLimits)
	if err != nil {
		return nil, err
	}
	tracer, stopTracing, err := newTracer(ctx, cfg.OTLPEndpoint)
	if err != nil {
		return nil, err
	}
	eo := engine.Options{PolicyDir: cfg.Policies, ModelFile: cfg.Permissions, RateLimits: rates, Logger: log,
		Tracer: tracer, PII: piiHasher.Hash}
	bergson, err := newBergsonSetup(cfg, log)
	if err != nil {
		stopTracing()
		return nil, err
	}
	eo.HawkSenders = bergson.engineSenders()
	closeDecisionLog := func() {}
	switch cfg.DecisionLog {
	case "":
	case "stderr":
		eo.DecisionLog = os.Stderr
	default:
		f, err := os.OpenFile(cfg.DecisionLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			stopTracing()
			return nil, fmt.Errorf("decisionlog: %w", err)
		}
		eo.DecisionLog, closeDecisionLog = f, func() { f.Close() }
	}
	if metrics != nil {
		eo.Observer = metrics
	}
	eng, err := engine.New(ctx, eo)
	if err != nil {
		stopTracing()
		closeDecisionLog()
		return nil, fmt.Errorf("policies: %w", err)
	}
	dbu, err := config.ParseDBURL(cfg.AuthDB)
	if err != nil {
		return nil, err
	}
	db, err := identity.Open(ctx, dbu.Driver, dbu.DSN)
	if err != nil {
		return nil, err
	}
	if err := identity.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	store := identity.NewStore(db)
	metrics.RegisterDB(db.DB)
	metrics.RegisterRevision(eng.Revision)
	res, err := store.Bootstrap(ctx, hasher, eng.Roles(), cfg.AdminEmail, cfg.AdminPassword)
	if err != nil {
		db.Close()
		return nil, err
	}
	if res.Created {
		path, err := writeCredentials(cfg.BaseDir, res)
		if err != nil {
			db.Close()
			return nil, err
		}
		log.Info("database initialised; superuser credentials written", "file", path)
	} else {
		log.Info("database already set up")
	}
	templates, err := mail.LoadTemplates(cfg.EmailTemplates)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("emailtemplates: %w", err)
	}
	emailUser, emailPass := cfg.EmailUser, cfg.EmailPass
	shared, err := newSharedState(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := bergson.openNonces(ctx, cfg); err != nil {
		shared.close()
		db.Close()
		return nil, err
	}
	srv, err := api.New(api.Options{
		Limiter: shared.limiter,
		Metrics: metrics,
		Tracer:  tracer,
		Replay:  shared.replay,
		Lockout: api.Lockout{
			Enabled: true, Tries: cfg.UserLockTries, Duration: time.Duration(cfg.UserLockTime) * time.Second,
		},
		Secret:       cfg.Secret,
		RequestTTL:   time.Duration(cfg.RequestTTL) * time.Second,
		MaxBodySize:  int64(cfg.MaxBodySize),
		AllowedHosts: cfg.AllowedHosts,
		DebugMode:    cfg.DebugMode,
		Workers:      cfg.Workers,
		RateLimited:  !strings.EqualFold(strings.TrimSpace(cfg.RateLimits), "none"),
		Mail: mail.Settings{
			Server: cfg.EmailServer, Port: cfg.EmailPort, User: &emailUser, Pass: &emailPass, Sender: cfg.EmailSender,
			Security: mail.Security(cfg.EmailSecurity), SkipVerify: !cfg.EmailTLSVerify,
		},
		MailTemplates: templates,
		Bergson:       bergson.opts,
	}, api.Deps{
		Store:     store,
		Hasher:    hasher,
		Validator: validatorAdapter{v: validator, policy: policy},
		Engine:    eng,
		Rates:     eng,
		Logger:    log,
		PII:       piiHasher,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &services{cfg: cfg, log: log, store: store, engine: eng, hasher: hasher, api: srv, close: func() { stopTracing(); closeDecisionLog(); shared.close(); bergson.close(); db.Close() }}, nil
}

// writeCredentials writes "<email> <password>" to the admin credentials
// file (a new timestamped one when it exists), mode 0600.
func writeCredentials(basedir string, res identity.BootstrapResult) (string, error) {
	pass := res.AdminPassword
	if pass == "" {
		pass = "password-was-user-generated"
	}
	if err := os.MkdirAll(basedir, 0o700); err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	path := filepath.Join(basedir, ".authnzerver-admin-credentials")
	if _, err := os.Stat(path); err == nil {
		path = fmt.Sprintf("%s-%d", path, time.Now().Unix())
	}
	if err := os.WriteFile(path, []byte(res.AdminEmail+" "+pass+"\n"), 0o600); err != nil {
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
// now and then every 24 h with ±10 % jitter.
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
	hs := &http.Server{
		Handler:           s.api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
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
