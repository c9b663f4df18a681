package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/identity"
)

// setupResult is what autosetup prepared for the server start that follows.
type setupResult struct {
	envFile       string
	adminEmail    string
	adminPassword string
}

// newFernetKey returns a new Fernet key: URL-safe base64 of 32 random bytes.
func newFernetKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return base64.URLEncoding.EncodeToString(b[:]), nil
}

// writeSecretFile writes a new key to path (mode 0600) unless the file exists.
func writeSecretFile(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("autosetup: %w", err)
	}
	k, err := newFernetKey()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(k), 0o600); err != nil {
		return fmt.Errorf("autosetup: write %s: %w", path, err)
	}
	return nil
}

// autosetup prepares the base directory named by --basedir (or the current
// directory): the Fernet key and the PII salt (files, 0600), an SQLite
// database URL and a .env file; then points the command at that env file.
// The environment is not consulted. When stdin is a terminal it asks for the
// superuser's e-mail and password; otherwise they are generated and the
// password goes to the credentials file.
func autosetup(cmd *cobra.Command) (*setupResult, error) {
	basedir, _ := cmd.Flags().GetString("basedir")
	if basedir == "" {
		basedir = "."
	}
	basedir, err := filepath.Abs(basedir)
	if err != nil {
		return nil, fmt.Errorf("autosetup: %w", err)
	}
	if err := os.MkdirAll(basedir, 0o700); err != nil {
		return nil, fmt.Errorf("autosetup: %w", err)
	}
	secret := filepath.Join(basedir, ".authnzerver-secret-key")
	salt := filepath.Join(basedir, ".authnzerver-salt")
	for _, p := range []string{secret, salt} {
		if err := writeSecretFile(p); err != nil {
			return nil, err
		}
	}
	res := &setupResult{envFile: filepath.Join(basedir, ".env")}
	if _, err := os.Stat(res.envFile); errors.Is(err, fs.ErrNotExist) {
		values := map[string]string{}
		for _, it := range config.Items() {
			values[it.Name] = it.Default
		}
		// Flags given on this command line go into the env file too.
		for _, it := range config.Items() {
			if f := cmd.Flags().Lookup(it.Flag); f != nil && f.Changed {
				values[it.Name] = f.Value.String()
			}
		}
		values["basedir"] = basedir
		values["authdb"] = "sqlite:///" + filepath.Join(basedir, ".authdb.sqlite")
		values["secret"] = secret
		values["piisalt"] = salt
		if err := config.WriteEnvFile(res.envFile, values); err != nil {
			return nil, err
		}
	}
	if err := cmd.Flags().Set("envfile", res.envFile); err != nil {
		return nil, fmt.Errorf("autosetup: %w", err)
	}
	if term.IsTerminal(int(os.Stdin.Fd())) && !fileExists(filepath.Join(basedir, ".authdb.sqlite")) {
		if res.adminEmail, res.adminPassword, err = promptAdmin(); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "authnzrv: base directory %s is set up; start it again with:\n  authnzrv --envfile=%q\n", basedir, res.envFile)
	return res, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// promptAdmin asks for the superuser's e-mail and password on the terminal.
func promptAdmin() (email, password string, err error) {
	def := identity.DefaultAdminEmail()
	fmt.Fprintf(os.Stderr, "Superuser e-mail [%s]: ", def)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		return "", "", fmt.Errorf("autosetup: read e-mail: %w", err)
	}
	if email = strings.TrimSpace(line); email == "" {
		email = def
	}
	fmt.Fprint(os.Stderr, "Superuser password (blank: generate one): ")
	pw, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", "", fmt.Errorf("autosetup: read password: %w", err)
	}
	return email, string(pw), nil
}
