package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/mail"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/identity/pii"
	"github.com/authnzrv/authnzrv/identity/social"
	"github.com/authnzrv/authnzrv/identity/validate"
	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/trace"
)

// startup is a start in progress (build): its phases fill it in order,
// each checking before anything is written, the last one writing.
type startup struct {
	cfg     *config.Config
	log     *slog.Logger
	closers []func()

	// settings
	pii       *pii.Hasher
	policy    validate.Policy
	metrics   *api.Metrics
	hasher    *password.Hasher
	validator *validate.Validator
	rates     map[string]int
	// policies
	tracer    trace.Tracer
	gate      *modelGate
	bergson   *bergsonSetup
	providers *social.Registry
	eng       *engine.Engine
	templates *mail.Templates
	// database
	shared *sharedState
	dbu    config.DBURL
	db     *bun.DB
	survey identity.Survey
	store  *identity.Store
	listen func(ctx context.Context)
	// API
	srv *api.Server
}

// closeAll closes what the phases opened, last first.
func (st *startup) closeAll() {
	for i := len(st.closers) - 1; i >= 0; i-- {
		st.closers[i]()
	}
}

// settings checks the settings that need no service: the PII salt, the
// password policy and hasher, the rate limits, the listen address and port
// (bound and released), the base directory.
func (st *startup) settings(context.Context) error {
	cfg := st.cfg
	if err := cfg.Validate(); err != nil {
		return err
	}
	var err error
	if st.pii, err = pii.New(cfg.PIISalt); err != nil {
		return fmt.Errorf("piisalt: %w", err)
	}
	if st.policy, err = validate.ParsePolicy(cfg.PassPolicy); err != nil {
		return fmt.Errorf("passpolicy: %w", err)
	}
	params, err := parseArgon2Params(cfg.Argon2Params)
	if err != nil {
		return err
	}
	if cfg.Metrics {
		st.metrics = api.NewMetrics()
	}
	st.hasher, err = password.NewHasher(password.Options{Params: params, MemoryBudget: uint64(cfg.HashBudget) * 1024,
		Observe: st.metrics.ObserveHash})
	if err != nil {
		return fmt.Errorf("password hasher: %w", err)
	}
	if st.validator, err = validate.New(validate.Options{PwnedCheck: cfg.PwnedCheck}); err != nil {
		return fmt.Errorf("validator: %w", err)
	}
	if st.rates, err = config.ParseRateLimits(cfg.RateLimits); err != nil {
		return err
	}
	addr := net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	ln.Close()
	if err := checkWritableDir(cfg.BaseDir); err != nil {
		return fmt.Errorf("basedir: %w", err)
	}
	return nil
}

// policies loads the policies and the permissions model (admitted by the
// model gate), the Hawk senders, the social login providers, the decision
// log and the mail templates.
func (st *startup) policies(ctx context.Context) error {
	cfg, log := st.cfg, st.log
	tracer, stopTracing, err := newTracer(ctx, cfg.OTLPEndpoint)
	if err != nil {
		return err
	}
	st.tracer = tracer
	st.closers = append(st.closers, stopTracing)
	st.gate = &modelGate{}
	if st.bergson, err = newBergsonSetup(cfg, log); err != nil {
		return err
	}
	if st.providers, err = loadSocialProviders(cfg, log); err != nil {
		return err
	}
	eo := engine.Options{PolicyDir: cfg.Policies, ModelFile: cfg.Permissions, RateLimits: st.rates, Logger: log,
		Tracer: tracer, PII: st.pii.Hash, Admit: st.gate.admit, HawkSenders: st.bergson.engineSenders()}
	switch cfg.DecisionLog {
	case "":
	case "stderr":
		eo.DecisionLog = os.Stderr
	default:
		f, err := os.OpenFile(cfg.DecisionLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("decisionlog: %w", err)
		}
		eo.DecisionLog = f
		st.closers = append(st.closers, func() { f.Close() })
	}
	if st.metrics != nil {
		eo.Observer = st.metrics
	}
	if st.eng, err = engine.New(ctx, eo); err != nil {
		return fmt.Errorf("policies: %w", err)
	}
	if st.templates, err = mail.LoadTemplates(cfg.EmailTemplates); err != nil {
		return fmt.Errorf("emailtemplates: %w", err)
	}
	return nil
}

// database reaches Redis and the database, surveys what the database holds
// (refusing what the start may not take), and checks the model against the
// roles its users hold.
func (st *startup) database(ctx context.Context) error {
	cfg := st.cfg
	var err error
	if st.shared, err = newSharedState(cfg); err != nil {
		return err
	}
	st.closers = append(st.closers, st.shared.close)
	if st.dbu, err = config.ParseDBURL(cfg.AuthDB); err != nil {
		return err
	}
	if st.db, err = identity.Open(ctx, st.dbu.Driver, st.dbu.DSN); err != nil {
		return err
	}
	st.closers = append(st.closers, func() { st.db.Close() })
	if st.survey, err = identity.Inspect(ctx, st.db); err != nil {
		return err
	}
	if err := admissible(st.survey, cfg, st.dbu); err != nil {
		return err
	}
	st.store = identity.NewStore(st.db)
	// The model must define every role the database's users hold (the
	// reference's users table has the same name and column).
	hasUsers, err := identity.HasTable(ctx, st.db, "users")
	if err != nil {
		return err
	}
	if hasUsers {
		st.gate.store.Store(st.store)
		if err := st.eng.Recheck(ctx); err != nil {
			return fmt.Errorf("policies: %w", err)
		}
	}
	st.listen = useIdentityCache(cfg, st.dbu, st.store, st.shared, st.log)
	st.bergson.useRedis(cfg, st.shared)
	return nil
}

// apiServer builds the API server.
func (st *startup) apiServer(context.Context) error {
	cfg := st.cfg
	emailUser, emailPass := cfg.EmailUser, cfg.EmailPass
	var err error
	st.srv, err = api.New(api.Options{
		Limiter: st.shared.limiter,
		Metrics: st.metrics,
		Tracer:  st.tracer,
		Replay:  st.shared.replay,
		Lockout: api.Lockout{
			Enabled: true, Tries: cfg.UserLockTries, Duration: time.Duration(cfg.UserLockTime) * time.Second,
		},
		Secret:       cfg.Secret,
		RequestTTL:   time.Duration(cfg.RequestTTL) * time.Second,
		NotBefore:    notBefore(cfg),
		MaxBodySize:  int64(cfg.MaxBodySize),
		AllowedHosts: cfg.AllowedHosts,
		DebugMode:    cfg.DebugMode,
		Workers:      cfg.Workers,
		RateLimited:  !strings.EqualFold(strings.TrimSpace(cfg.RateLimits), "none"),
		Mail: mail.Settings{
			Server: cfg.EmailServer, Port: cfg.EmailPort, User: &emailUser, Pass: &emailPass, Sender: cfg.EmailSender,
			Security: mail.Security(cfg.EmailSecurity), SkipVerify: !cfg.EmailTLSVerify,
		},
		MailTemplates: st.templates,
		Bergson:       st.bergson.opts,
		Social:        api.SocialOptions{Providers: st.providers},
		TOTPIssuer:    cfg.TOTPIssuer,
	}, api.Deps{
		Store:     st.store,
		Hasher:    st.hasher,
		Validator: validatorAdapter{v: st.validator, policy: st.policy},
		Engine:    st.eng,
		Rates:     st.eng,
		Logger:    st.log,
		PII:       st.pii,
	})
	return err
}

// write is the phase that writes, everything being checked: it adopts a
// reference database in place or migrates, then sets up the roles and
// system users.
func (st *startup) write(ctx context.Context) error {
	if st.survey.State == identity.DBReference {
		if err := adopt(ctx, st.db, st.cfg, st.dbu, st.log); err != nil {
			return err
		}
	}
	if err := identity.Migrate(ctx, st.db); err != nil {
		return err
	}
	st.gate.store.Store(st.store) // reloads check the users' roles from now on
	st.metrics.RegisterDB(st.db.DB)
	st.metrics.RegisterRevision(st.eng.Revision)
	if err := bootstrap(ctx, st.store, st.hasher, st.eng.Roles(), st.cfg, st.log); err != nil {
		return err
	}
	st.gate.live.Store(true) // reloads add their model's new roles from now on
	return nil
}
