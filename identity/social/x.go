package social

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
)

// X's OAuth 2.0 endpoints (authorization code with PKCE, confidential
// client).
const (
	xAuthURL  = "https://x.com/i/oauth2/authorize"
	xTokenURL = "https://api.x.com/2/oauth2/token"
	xAPIURL   = "https://api.x.com"
)

// xProvider logs users in with X (formerly Twitter) OAuth 2.0.
type xProvider struct {
	cfg    providerConfig
	oauth  oauth2.Config
	client *http.Client
	apiURL string
}

func newX(cfg providerConfig, o options) *xProvider {
	if cfg.Scopes == nil {
		// users.read alone is not enough for GET /2/users/me.
		cfg.Scopes = []string{"users.read", "tweet.read"}
	}
	return &xProvider{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:  orDefault(cfg.AuthURL, xAuthURL),
				TokenURL: orDefault(cfg.TokenURL, xTokenURL),
				// Confidential clients authenticate with HTTP Basic.
				AuthStyle: oauth2.AuthStyleInHeader,
			},
			RedirectURL: cfg.RedirectURL,
			Scopes:      cfg.Scopes,
		},
		client: o.client,
		apiURL: orDefault(cfg.APIURL, xAPIURL),
	}
}

// Name implements Provider.
func (p *xProvider) Name() string { return p.cfg.Name }

// DisplayName implements Provider.
func (p *xProvider) DisplayName() string { return p.cfg.DisplayName }

// Ready implements Provider; X needs no discovery.
func (p *xProvider) Ready(context.Context) error { return nil }

// AuthCodeURL implements Provider. X requires PKCE: without a verifier it
// returns "".
func (p *xProvider) AuthCodeURL(state, _, codeVerifier string) string {
	if codeVerifier == "" {
		return ""
	}
	return p.oauth.AuthCodeURL(state, authCodeOptions("", codeVerifier)...)
}

// Exchange implements Provider: code exchange with the PKCE verifier, then
// GET {api}/2/users/me (id, username, name). X gives no e-mail address.
func (p *xProvider) Exchange(ctx context.Context, code, codeVerifier, _ string) (*Identity, error) {
	if codeVerifier == "" {
		return nil, fmt.Errorf("social: %s: %w", p.cfg.Name, ErrVerifierRequired)
	}
	tok, err := p.oauth.Exchange(withClient(ctx, p.client), code, exchangeOptions(codeVerifier)...)
	if err != nil {
		return nil, exchangeError(p.cfg.Name, err)
	}
	body, err := getProfile(ctx, p.client, tok, p.cfg.Name, "GET /2/users/me", p.apiURL+"/2/users/me", nil)
	if err != nil {
		return nil, err
	}
	user, err := parseXUser(body)
	if err != nil {
		return nil, fmt.Errorf("social: %s: GET /2/users/me: %w: %w", p.cfg.Name, ErrProfile, err)
	}
	user.Provider = p.cfg.Name
	return user, nil
}

// parseXUser reads GET /2/users/me: {"data": {"id", "username", "name"}}.
func parseXUser(body []byte) (*Identity, error) {
	var raw struct {
		Data *struct {
			ID       string `json:"id"`
			Username string `json:"username"`
			Name     string `json:"name"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errors.New("not a user object")
	}
	if raw.Data == nil || raw.Data.ID == "" {
		return nil, errors.New("no user id")
	}
	return &Identity{Subject: raw.Data.ID, Username: raw.Data.Username, Name: raw.Data.Name}, nil
}
