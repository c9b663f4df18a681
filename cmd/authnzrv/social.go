package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/identity/social"
)

// loadSocialProviders reads the providers file of --oauthproviders (nil
// when none is configured). An error stops the start; it is one line and
// quotes no secret.
func loadSocialProviders(cfg *config.Config, log *slog.Logger) (*social.Registry, error) {
	if cfg.OAuthProviders == "" {
		return nil, nil
	}
	reg, err := social.LoadFile(cfg.OAuthProviders)
	if err != nil {
		return nil, fmt.Errorf("oauthproviders: %s", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	log.Info("social login providers loaded", "file", cfg.OAuthProviders, "providers", strings.Join(reg.Names(), ","))
	return reg, nil
}

// socialPurgeLoop deletes the social login states that expired (logins
// started and never finished), every state lifetime.
func socialPurgeLoop(ctx context.Context, s *services) {
	t := time.NewTicker(api.DefaultSocialStateTTL)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.store.PurgeSocialStates(ctx, time.Now(), 1000)
			if err != nil && ctx.Err() == nil {
				s.log.Error("social login state purge", "error", err)
			} else if n > 0 {
				s.log.Info("expired social login states purged", "count", n)
			}
		}
	}
}
