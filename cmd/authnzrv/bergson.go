package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/engine/limiter"
)

// bergsonSetup is the Bergson Authenticator REST API's part of a server:
// its options.
type bergsonSetup struct {
	opts api.BergsonOptions
}

// newBergsonSetup reads --bergson, --hawksenders and --hawknonceexpiry:
// the senders file is loaded; its endpoint lists become the Hawk policy's
// data (engineSenders). Nonces are kept in the database unless openNonces
// moves them to Redis.
func newBergsonSetup(cfg *config.Config, log *slog.Logger) (*bergsonSetup, error) {
	b := &bergsonSetup{}
	if !cfg.Bergson {
		if cfg.HawkSenders != "" {
			log.Warn("hawksenders is set but the Bergson API is off (--bergson 0): the senders file is not read")
		}
		return b, nil
	}
	b.opts = api.BergsonOptions{Enabled: true, Skew: time.Duration(cfg.HawkNonceExpiry) * time.Second}
	if cfg.HawkSenders == "" {
		log.Warn("Bergson API without Hawk (no --hawksenders): any client can call it; requests with an Authorization header are refused")
		return b, nil
	}
	senders, err := api.LoadHawkSenders(cfg.HawkSenders)
	if err != nil {
		return nil, err
	}
	b.opts.Senders = senders
	log.Info("Bergson API on, with Hawk", "senders", len(senders))
	return b, nil
}

// useRedis keeps the Hawk nonces in Redis when --redis is set (SET NX
// with an expiry of twice the skew, shared by every instance; the failure
// policy of --redisfailure), on the client the server's other shared state
// uses.
func (b *bergsonSetup) useRedis(cfg *config.Config, shared *sharedState) {
	if len(b.opts.Senders) == 0 || shared.redis == nil {
		return
	}
	guard := limiter.NewRedisReplay(shared.redis, "authnzrv:hawk-nonce:", 2*b.opts.Skew, cfg.RedisFailure == "open")
	b.opts.Nonces = api.ReplayNonces{Guard: guard}
}

// engineSenders are the senders' endpoint lists for engine.Options.
func (b *bergsonSetup) engineSenders() map[string][]string {
	if len(b.opts.Senders) == 0 {
		return nil
	}
	return b.opts.Senders.Endpoints()
}

// hawkEval answers `policy eval --hawk-sender NAME --path PATH`: the Hawk
// policy's decision with the senders of the given file.
func hawkEval(ctx context.Context, w io.Writer, pols, perms, sendersFile, sender, path string) error {
	eo := engine.Options{PolicyDir: pols, ModelFile: perms}
	if sendersFile != "" {
		senders, err := api.LoadHawkSenders(sendersFile)
		if err != nil {
			return err
		}
		eo.HawkSenders = senders.Endpoints()
	}
	e, err := engine.New(ctx, eo)
	if err != nil {
		return err
	}
	d, err := e.Hawk(ctx, engine.HawkInput{Sender: sender, Path: path})
	res := evalResult{Allowed: d.Allowed, Rule: d.Rule, Reason: d.Reason}
	if err != nil {
		res.Error = oneLine(err)
	}
	if err := json.NewEncoder(w).Encode(res); err != nil {
		return err
	}
	if res.Error != "" {
		return fmt.Errorf("%s", res.Error)
	}
	return nil
}
