package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/config"
)

func newHealthcheckCmd() *cobra.Command {
	var (
		target  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL]",
		Short: "ask a running server's GET /health; exit 0 when it says Health-Ok, 1 otherwise",
		Long: `healthcheck asks GET /health of the server this configuration describes (its
listen address and port; 0.0.0.0 and :: are asked on the loopback address,
over TLS when the TLS items are set, with the first allowed host as Host), or
of --url. It prints one line and exits 0 when the answer is HTTP 200 with
"Health-Ok": true, 1 otherwise: for a container's HEALTHCHECK in images
without a shell. The configured server's certificate is not verified (the
check asks the server on this machine by address, not by its name); a
--url's is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, client, err := healthRequest(cmd, target, timeout)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := checkHealth(ctx, client, req); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "healthy: %s says Health-Ok\n", req.URL.Redacted())
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "url", "", "health URL to ask, e.g. http://127.0.0.1:13431/health (default: the configured listen address and port)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	config.RegisterFlags(cmd.Flags())
	return cmd
}

// healthRequest builds the GET /health request and the client for it,
// from --url or else from the configuration.
func healthRequest(cmd *cobra.Command, target string, timeout time.Duration) (*http.Request, *http.Client, error) {
	client := &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if target != "" {
		req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, target, nil)
		if err != nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") || req.URL.Host == "" {
			return nil, nil, fmt.Errorf("%w: --url %q is not an http:// or https:// URL", errUsage, target)
		}
		if req.URL.Path == "" {
			req.URL.Path = "/health"
		}
		return req, client, nil
	}
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Port == 0 {
		return nil, nil, errors.New("healthcheck: the configured port is 0 (any free port): give --url")
	}
	host := strings.Trim(cfg.Listen, "[]")
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if cfg.TLSCertFile != "" && cfg.TLSCertKey != "" {
		scheme = "https"
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, //nolint:gosec // this machine's server, asked by address; the answer carries no secret
		}}
	}
	u := scheme + "://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port)) + "/health"
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("healthcheck: %w", err)
	}
	for _, h := range strings.Split(cfg.AllowedHosts, ";") {
		if h = strings.TrimSpace(h); h != "" {
			req.Host = h
			break
		}
	}
	return req, client, nil
}

// checkHealth asks once; nil only for HTTP 200 with "Health-Ok": true.
func checkHealth(ctx context.Context, client *http.Client, req *http.Request) error {
	where := req.URL.Redacted()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("unhealthy: %s did not answer: %w", where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHealthBody))
	if err != nil {
		return fmt.Errorf("unhealthy: %s: read the answer: %w", where, err)
	}
	if err := parseHealth(resp.StatusCode, body); err != nil {
		return fmt.Errorf("unhealthy: %s %w", where, err)
	}
	return nil
}

// maxHealthBody bounds how much of an answer is read.
const maxHealthBody = 64 << 10

// parseHealth judges a GET /health answer: nil only for HTTP 200 with a JSON
// object whose "Health-Ok" is true.
func parseHealth(status int, body []byte) error {
	var h struct {
		OK *bool `json:"Health-Ok"`
	}
	if err := json.Unmarshal(body, &h); err != nil || h.OK == nil {
		return fmt.Errorf("answered HTTP %d without Health-Ok", status)
	}
	if !*h.OK || status != http.StatusOK {
		return fmt.Errorf("answered HTTP %d, Health-Ok %t", status, *h.OK)
	}
	return nil
}
