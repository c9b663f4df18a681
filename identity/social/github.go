package social

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/oauth2"
)

// GitHub's public endpoints; GitHub Enterprise Server uses
// https://HOST/login/oauth/... and https://HOST/api/v3.
const (
	githubAuthURL  = "https://github.com/login/oauth/authorize"
	githubTokenURL = "https://github.com/login/oauth/access_token"
	githubAPIURL   = "https://api.github.com"
)

// githubAPIHeaders returns the headers sent with every REST API request.
func githubAPIHeaders() http.Header {
	return http.Header{
		"Accept":               {"application/vnd.github+json"},
		"X-Github-Api-Version": {"2022-11-28"},
	}
}

// githubProvider logs users in with a GitHub OAuth app.
type githubProvider struct {
	cfg         providerConfig
	oauth       oauth2.Config
	client      *http.Client
	tokenClient *http.Client // client plus Accept: application/json
	apiURL      string
}

func newGitHub(cfg providerConfig, o options) *githubProvider {
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"read:user", "user:email"}
	}
	return &githubProvider{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:   orDefault(cfg.AuthURL, githubAuthURL),
				TokenURL:  orDefault(cfg.TokenURL, githubTokenURL),
				AuthStyle: oauth2.AuthStyleInParams,
			},
			RedirectURL: cfg.RedirectURL,
			Scopes:      cfg.Scopes,
		},
		client: o.client,
		// Without it GitHub answers the token request form-encoded.
		tokenClient: withHeaders(o.client, http.Header{"Accept": {"application/json"}}),
		apiURL:      orDefault(cfg.APIURL, githubAPIURL),
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Name implements Provider.
func (p *githubProvider) Name() string { return p.cfg.Name }

// DisplayName implements Provider.
func (p *githubProvider) DisplayName() string { return p.cfg.DisplayName }

// Ready implements Provider; GitHub needs no discovery.
func (p *githubProvider) Ready(context.Context) error { return nil }

// AuthCodeURL implements Provider (nonce is not used by GitHub).
func (p *githubProvider) AuthCodeURL(state, _, codeVerifier string) string {
	return p.oauth.AuthCodeURL(state, authCodeOptions("", codeVerifier)...)
}

// Exchange implements Provider: code exchange, then GET {api}/user (id as
// subject, login, name) and GET {api}/user/emails (the primary address,
// verified only when GitHub says so). nonce is not used by GitHub.
func (p *githubProvider) Exchange(ctx context.Context, code, codeVerifier, _ string) (*Identity, error) {
	tok, err := p.oauth.Exchange(withClient(ctx, p.tokenClient), code, exchangeOptions(codeVerifier)...)
	if err != nil {
		return nil, exchangeError(p.cfg.Name, err)
	}
	body, err := getProfile(ctx, p.client, tok, p.cfg.Name, "GET /user", p.apiURL+"/user", githubAPIHeaders())
	if err != nil {
		return nil, err
	}
	user, err := parseGitHubUser(body)
	if err != nil {
		return nil, fmt.Errorf("social: %s: GET /user: %w: %w", p.cfg.Name, ErrProfile, err)
	}
	body, err = getProfile(ctx, p.client, tok, p.cfg.Name, "GET /user/emails", p.apiURL+"/user/emails", githubAPIHeaders())
	if err != nil {
		return nil, err
	}
	email, verified, err := parseGitHubEmails(body)
	if err != nil {
		return nil, fmt.Errorf("social: %s: GET /user/emails: %w: %w", p.cfg.Name, ErrProfile, err)
	}
	return &Identity{
		Provider:      p.cfg.Name,
		Subject:       user.Subject,
		Email:         email,
		EmailVerified: verified,
		Name:          user.Name,
		Username:      user.Login,
	}, nil
}

// githubUser is what Identity takes from GET /user.
type githubUser struct {
	Subject string
	Login   string
	Name    string
}

// parseGitHubUser reads GET /user: a positive integer id, a login, an
// optional (possibly null) name.
func parseGitHubUser(body []byte) (githubUser, error) {
	var raw struct {
		ID    json.RawMessage `json:"id"`
		Login string          `json:"login"`
		Name  *string         `json:"name"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return githubUser{}, errors.New("not a user object")
	}
	// The id must be a JSON integer: not a string, not a fraction.
	id, err := strconv.ParseInt(string(bytes.TrimSpace(raw.ID)), 10, 64)
	if err != nil || id <= 0 {
		return githubUser{}, errors.New("no valid user id")
	}
	if raw.Login == "" {
		return githubUser{}, errors.New("no login")
	}
	u := githubUser{Subject: strconv.FormatInt(id, 10), Login: raw.Login}
	if raw.Name != nil {
		u.Name = *raw.Name
	}
	return u, nil
}

// parseGitHubEmails picks from GET /user/emails the primary address that
// is verified; failing that, the primary address, unverified. No primary
// address gives "".
func parseGitHubEmails(body []byte) (email string, verified bool, err error) {
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := json.Unmarshal(body, &emails); err != nil {
		return "", false, errors.New("not a list of e-mail addresses")
	}
	for _, e := range emails {
		if e.Primary && e.Verified && e.Email != "" {
			return e.Email, true, nil
		}
	}
	for _, e := range emails {
		if e.Primary && e.Email != "" {
			return e.Email, false, nil
		}
	}
	return "", false, nil
}
