package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/config"
	"github.com/authnzrv/authnzrv/engine"
	"github.com/authnzrv/authnzrv/identity"
	"github.com/authnzrv/authnzrv/identity/password"
	"github.com/authnzrv/authnzrv/identity/validate"
)

// adminStore opens the configured database for a CLI command that may
// create it and migrates it (import); the user commands use cliStore, which
// creates and changes nothing.
func adminStore(cmd *cobra.Command) (*identity.Store, *config.Config, func(), error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, nil, nil, err
	}
	dbu, err := config.ParseDBURL(cfg.AuthDB)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := identity.Open(cmd.Context(), dbu.Driver, dbu.DSN)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := identity.Migrate(cmd.Context(), db); err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return identity.NewStore(db), cfg, func() { db.Close() }, nil
}

// adminEngine loads the configured policies, for the administrative
// decisions of the user commands (policies/authnzrv/admin) and the roles of
// the permissions model.
func adminEngine(ctx context.Context, cfg *config.Config) (*engine.Engine, error) {
	e, err := engine.New(ctx, engine.Options{PolicyDir: cfg.Policies, ModelFile: cfg.Permissions})
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	return e, nil
}

// admitted asks the admin policy about a user command; a refusal is an
// error naming the policy's reason.
func admitted(ctx context.Context, e *engine.Engine, in engine.AdminInput) error {
	d, err := e.Admin(ctx, in)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return fmt.Errorf("refused by the admin policy: %s (%s)", d.Reason, d.Rule)
	}
	return nil
}

// checkRole makes sure role is a role of the permissions model (else one
// line listing them) and is in the database's roles table.
func checkRole(ctx context.Context, e *engine.Engine, st *identity.Store, role string) error {
	roles := e.Roles()
	if !slices.Contains(roles, role) {
		return fmt.Errorf("unknown role %q: the roles of the permissions model are %s", role, strings.Join(roles, ", "))
	}
	stored, err := st.Roles(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(stored, func(r identity.Role) bool { return r.Name == role }) {
		return fmt.Errorf("role %q is in the permissions model but not in the database yet (the server adds the model's roles when it starts or reloads the policies)", role)
	}
	return nil
}

// passwordRules are the API's password checks with the configured policy.
type passwordRules struct {
	check  *validate.Validator // as the API: with the Pwned Passwords check when configured
	local  *validate.Validator // the same without it, for generated passwords
	policy validate.Policy
}

func newPasswordRules(cfg *config.Config) (*passwordRules, error) {
	policy, err := validate.ParsePolicy(cfg.PassPolicy)
	if err != nil {
		return nil, fmt.Errorf("passpolicy: %w", err)
	}
	check, err := validate.New(validate.Options{PwnedCheck: cfg.PwnedCheck})
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	local, err := validate.New(validate.Options{})
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	return &passwordRules{check: check, local: local, policy: policy}, nil
}

// choose returns the password to set for a user with this (normalised)
// e-mail and full name: given, truncated as the API truncates it, once it
// passes the policy; or, when given is "", a generated one that passes.
func (r *passwordRules) choose(ctx context.Context, given, email, name string) (pw string, generated bool, err error) {
	if given != "" {
		pw = password.Truncate(given)
		if ok, msgs := r.check.Password(ctx, pw, email, name, r.policy); !ok {
			return "", false, fmt.Errorf("password refused: %s", strings.Join(msgs, " "))
		}
		return pw, false, nil
	}
	for range 20 {
		if pw, err = randomPassword(r.policy.MinLength); err != nil {
			return "", false, err
		}
		if ok, _ := r.local.Password(ctx, pw, email, name, r.policy); ok {
			return pw, true, nil
		}
	}
	return "", false, errors.New("cannot generate a password that passes the password policy: give --password")
}

// findUser resolves a user given by id or e-mail.
func findUser(ctx context.Context, st *identity.Store, who string) (*identity.User, error) {
	var u *identity.User
	var err error
	if id, perr := strconv.ParseInt(who, 10, 64); perr == nil {
		u, err = st.UserByID(ctx, id)
	} else {
		u, err = st.UserByEmail(ctx, validate.NormalizeEmail(who))
	}
	if errors.Is(err, identity.ErrNotFound) {
		return nil, fmt.Errorf("no user %q", who)
	}
	return u, err
}

// withUser wraps a command whose first argument names a user: it opens the
// database and finds the user first.
func withUser(fn func(cmd *cobra.Command, args []string, st *identity.Store, cfg *config.Config, u *identity.User) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		st, cfg, closeDB, err := cliStore(cmd)
		if err != nil {
			return err
		}
		defer closeDB()
		u, err := findUser(cmd.Context(), st, args[0])
		if err != nil {
			return err
		}
		return fn(cmd, args, st, cfg, u)
	}
}

// hasherFor builds the configured password hasher.
func hasherFor(cfg *config.Config) (*password.Hasher, error) {
	params, err := parseArgon2Params(cfg.Argon2Params)
	if err != nil {
		return nil, err
	}
	return password.NewHasher(password.Options{Params: params, MemoryBudget: uint64(cfg.HashBudget) * 1024})
}

// randomPassword returns URL-safe base64 of random bytes: at least 22
// characters (128 bits), and at least minLength.
func randomPassword(minLength int) (string, error) {
	n := max(16, (minLength*3+3)/4)
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "manage users directly in the database (add, show, list, lock, unlock, set-role, passwd, delete)",
		Long: `The user commands work on the configured database (--authdb), which must
exist and hold the current schema: they never create or migrate it.`,
	}
	cmd.AddCommand(newUserAddCmd(), newUserShowCmd(), newUserListCmd(), newUserLockCmd(true), newUserLockCmd(false),
		newUserSetRoleCmd(), newUserPasswdCmd(), newUserDeleteCmd())
	for _, c := range cmd.Commands() {
		config.RegisterFlags(c.Flags())
	}
	return cmd
}

func newUserAddCmd() *cobra.Command {
	var name, role, pw string
	add := &cobra.Command{
		Use:   "add EMAIL",
		Short: "add an active, verified user (the password is generated and printed unless --password is given)",
		Long: `add checks the e-mail address as sign-up does (and stores it normalised), the
full name as sign-up does, the password with the configured password policy
(passpolicy, pwnedcheck) and the role against the permissions model. A
generated password always passes the policy.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, cfg, closeDB, err := cliStore(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			rules, err := newPasswordRules(cfg)
			if err != nil {
				return err
			}
			if !rules.check.Email(args[0]) {
				return fmt.Errorf("%q is not an acceptable e-mail address (the sign-up rules: one @, no reserved or disposable names)", args[0])
			}
			email := validate.NormalizeEmail(args[0])
			full := validate.NormalizeFullName(name)
			if full != "" {
				if err := rules.check.FullName(ctx, full); errors.Is(err, validate.ErrNoSuffixList) {
					return fmt.Errorf("--name cannot be checked: %w", err)
				} else if err != nil {
					return errors.New("--name: the full name appears to hold a link")
				}
			}
			p, generated, err := rules.choose(ctx, pw, email, full)
			if err != nil {
				return err
			}
			e, err := adminEngine(ctx, cfg)
			if err != nil {
				return err
			}
			if err := checkRole(ctx, e, st, role); err != nil {
				return err
			}
			if _, err := st.UserByEmail(ctx, email); err == nil {
				return fmt.Errorf("a user with e-mail %s exists", email)
			} else if !errors.Is(err, identity.ErrNotFound) {
				return err
			}
			h, err := hasherFor(cfg)
			if err != nil {
				return err
			}
			hash, err := h.Hash(ctx, p)
			if err != nil {
				return err
			}
			u := &identity.User{
				SystemID: uuid.NewString(), Password: hash, Email: email,
				EmailVerified: true, IsActive: true, UserRole: role, FailedLoginTries: new(int64),
				ExtraInfo: identity.JSON(`{"provenance": "cli-created", "type": "normal-user"}`),
			}
			if full != "" {
				u.FullName = &full
			}
			if err := st.InsertUser(ctx, u); err != nil {
				if errors.Is(err, identity.ErrDuplicate) {
					return fmt.Errorf("a user with e-mail %s exists", u.Email)
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %d %s (%s) added\n", u.UserID, u.Email, u.UserRole)
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n", p)
			}
			return nil
		},
	}
	add.Flags().StringVar(&name, "name", "", "full name")
	add.Flags().StringVar(&role, "role", "authenticated", "role (one of the permissions model's)")
	add.Flags().StringVar(&pw, "password", "", "password (default: generate one)")
	return add
}

func newUserListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "list users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, closeDB, err := cliStore(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			users, err := st.ListUsers(cmd.Context(), nil)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEMAIL\tROLE\tACTIVE\tVERIFIED")
			for _, u := range users {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%t\n", u.UserID, u.Email, u.UserRole, u.IsActive, u.EmailVerified)
			}
			return tw.Flush()
		},
	}
}

// userView is what `user show` prints: every user_info column (never the
// password hash) and how many sessions and API keys the user has.
type userView struct {
	UserID              int64           `json:"user_id"`
	SystemID            string          `json:"system_id"`
	Email               string          `json:"email"`
	FullName            *string         `json:"full_name"`
	UserRole            string          `json:"user_role"`
	IsActive            bool            `json:"is_active"`
	EmailVerified       bool            `json:"email_verified"`
	CreatedOn           time.Time       `json:"created_on"`
	LastUpdated         time.Time       `json:"last_updated"`
	LastLoginTry        *time.Time      `json:"last_login_try"`
	LastLoginSuccess    *time.Time      `json:"last_login_success"`
	FailedLoginTries    *int64          `json:"failed_login_tries"`
	EmailVerifySent     *time.Time      `json:"emailverify_sent_datetime"`
	EmailForgotPassSent *time.Time      `json:"emailforgotpass_sent_datetime"`
	EmailChangePassSent *time.Time      `json:"emailchangepass_sent_datetime"`
	ExtraInfo           json.RawMessage `json:"extra_info"`
	Sessions            int             `json:"sessions"`
	APIKeys             int             `json:"apikeys"`
	NoSessionAPIKeys    int             `json:"apikeys_nosession"`
}

// viewUser gathers what `user show` prints about u.
func viewUser(ctx context.Context, st *identity.Store, u *identity.User) (*userView, error) {
	v := &userView{
		UserID: u.UserID, SystemID: u.SystemID, Email: u.Email, FullName: u.FullName, UserRole: u.UserRole,
		IsActive: u.IsActive, EmailVerified: u.EmailVerified, CreatedOn: u.CreatedOn, LastUpdated: u.LastUpdated,
		LastLoginTry: u.LastLoginTry, LastLoginSuccess: u.LastLoginSuccess, FailedLoginTries: u.FailedLoginTries,
		EmailVerifySent: u.EmailVerifySentDatetime, EmailForgotPassSent: u.EmailForgotPassSentDatetime,
		EmailChangePassSent: u.EmailChangePassSentDatetime, ExtraInfo: json.RawMessage("null"),
	}
	if len(u.ExtraInfo) > 0 {
		if json.Valid(u.ExtraInfo) {
			v.ExtraInfo = json.RawMessage(u.ExtraInfo)
		} else {
			b, _ := json.Marshal(string(u.ExtraInfo))
			v.ExtraInfo = b
		}
	}
	var err error
	if v.Sessions, err = st.CountSessions(ctx, u.UserID); err != nil {
		return nil, err
	}
	if v.APIKeys, v.NoSessionAPIKeys, err = st.CountAPIKeys(ctx, u.UserID); err != nil {
		return nil, err
	}
	return v, nil
}

// writeText prints the view as "column  value" lines, in the JSON's order.
func (v *userView) writeText(w io.Writer) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if _, err := dec.Token(); err != nil { // {
		return err
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		val := string(raw)
		var s string
		if json.Unmarshal(raw, &s) == nil {
			val = s
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, val)
	}
	return tw.Flush()
}

func newUserShowCmd() *cobra.Command {
	var asJSON bool
	show := &cobra.Command{
		Use:   "show ID|EMAIL",
		Short: "print a user's every column (never the password hash) and how many sessions and API keys they have",
		Args:  cobra.ExactArgs(1),
		RunE: withUser(func(cmd *cobra.Command, _ []string, st *identity.Store, _ *config.Config, u *identity.User) error {
			v, err := viewUser(cmd.Context(), st, u)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return v.writeText(cmd.OutOrStdout())
		}),
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return show
}

func newUserLockCmd(lock bool) *cobra.Command {
	use, short, action := "unlock ID|EMAIL", "unlock a user (the role before the lock comes back)", "unlock"
	if lock {
		use, short, action = "lock ID|EMAIL", "lock a user (role locked, inactive, sessions ended)", "lock"
	}
	return &cobra.Command{
		Use: use, Short: short, Args: cobra.ExactArgs(1),
		RunE: withUser(func(cmd *cobra.Command, _ []string, st *identity.Store, cfg *config.Config, u *identity.User) error {
			e, err := adminEngine(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			in := engine.AdminInput{Op: "cli-lock", Target: engine.AdminUser{UserID: u.UserID, Role: u.UserRole}, Action: action}
			if err := admitted(cmd.Context(), e, in); err != nil {
				return err
			}
			if u, err = st.SetLocked(cmd.Context(), u.UserID, lock); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %d %s: role %s, active %t\n", u.UserID, u.Email, u.UserRole, u.IsActive)
			return nil
		}),
	}
}

func newUserSetRoleCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set-role ID|EMAIL ROLE",
		Short: "change a user's role (one of the permissions model's)",
		Args:  cobra.ExactArgs(2),
		RunE: withUser(func(cmd *cobra.Command, args []string, st *identity.Store, cfg *config.Config, u *identity.User) error {
			ctx := cmd.Context()
			e, err := adminEngine(ctx, cfg)
			if err != nil {
				return err
			}
			if err := checkRole(ctx, e, st, args[1]); err != nil {
				return err
			}
			in := engine.AdminInput{Op: "cli-set-role", Target: engine.AdminUser{UserID: u.UserID, Role: u.UserRole}, NewRole: args[1]}
			if err := admitted(ctx, e, in); err != nil {
				return err
			}
			if u, err = st.UpdateUser(ctx, u.UserID, map[string]any{"user_role": args[1]}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %d %s: role %s\n", u.UserID, u.Email, u.UserRole)
			return nil
		}),
	}
}

func newUserPasswdCmd() *cobra.Command {
	var newPw string
	passwd := &cobra.Command{
		Use:   "passwd ID|EMAIL",
		Short: "set a user's password (checked with the password policy; generated and printed unless --password is given); ends the user's sessions",
		Args:  cobra.ExactArgs(1),
		RunE: withUser(func(cmd *cobra.Command, _ []string, st *identity.Store, cfg *config.Config, u *identity.User) error {
			ctx := cmd.Context()
			rules, err := newPasswordRules(cfg)
			if err != nil {
				return err
			}
			name := ""
			if u.FullName != nil {
				name = *u.FullName
			}
			p, generated, err := rules.choose(ctx, newPw, u.Email, name)
			if err != nil {
				return err
			}
			h, err := hasherFor(cfg)
			if err != nil {
				return err
			}
			hash, err := h.Hash(ctx, p)
			if err != nil {
				return err
			}
			if err := st.SetPasswordHash(ctx, u.UserID, u.Email, hash); err != nil {
				return err
			}
			if _, err := st.DeleteUserSessions(ctx, u.UserID, ""); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of user %d %s set\n", u.UserID, u.Email)
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n", p)
			}
			return nil
		}),
	}
	passwd.Flags().StringVar(&newPw, "password", "", "new password (default: generate one)")
	return passwd
}

func newUserDeleteCmd() *cobra.Command {
	var yes bool
	del := &cobra.Command{
		Use:   "delete ID|EMAIL",
		Short: "delete a user with their sessions and API keys (asks the admin policy; says what it would delete, and does it with --yes)",
		Args:  cobra.ExactArgs(1),
		RunE: withUser(func(cmd *cobra.Command, _ []string, st *identity.Store, cfg *config.Config, u *identity.User) error {
			ctx := cmd.Context()
			supers, err := st.CountSuperusers(ctx)
			if err != nil {
				return err
			}
			e, err := adminEngine(ctx, cfg)
			if err != nil {
				return err
			}
			in := engine.AdminInput{Op: "cli-delete", Target: engine.AdminUser{UserID: u.UserID, Role: u.UserRole, Active: u.IsActive,
				Verified: u.EmailVerified}, Superusers: supers}
			if err := admitted(ctx, e, in); err != nil {
				return err
			}
			v, err := viewUser(ctx, st, u)
			if err != nil {
				return err
			}
			what := fmt.Sprintf("user %d %s (role %s) with %d sessions and %d API keys", u.UserID, u.Email, u.UserRole,
				v.Sessions, v.APIKeys+v.NoSessionAPIKeys)
			if !yes {
				fmt.Fprintf(cmd.OutOrStdout(), "would delete %s\n", what)
				return errors.New("user delete: refused without --yes; nothing was changed")
			}
			existed, err := st.DeleteUser(ctx, u.UserID)
			if err != nil {
				return err
			}
			if !existed {
				return fmt.Errorf("user %d is gone already", u.UserID)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", what)
			return nil
		}),
	}
	del.Flags().BoolVar(&yes, "yes", false, "really delete (without it, only say what would be deleted)")
	return del
}
