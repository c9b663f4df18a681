package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/spf13/cobra"

	"github.com/authnzrv/authnzrv/api"
	"github.com/authnzrv/authnzrv/engine"
)

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "import permission models, test policies and evaluate decisions",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPolicyImportCmd(), newPolicyTestCmd(), newPolicyEvalCmd())
	return cmd
}

func newPolicyImportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "import MODEL.json",
		Short: "validate a JSON permissions model and compile it into Rego with tests",
		Long: `import validates a JSON permissions model (every problem is reported with its
JSON path) and writes specialised Rego to the output directory: access.rego and
limits.rego (packages authnzrv.access and authnzrv.limits), and access_test.rego
and limits_test.rego, which pin the model's full decision table so that
'opa test DIR' passes. Serve it with --policies DIR.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			m, err := engine.ParseModel(b)
			if err != nil {
				var me engine.ModelErrors
				if errors.As(err, &me) {
					for _, e := range me {
						fmt.Fprintln(cmd.ErrOrStderr(), e.Error())
					}
					return fmt.Errorf("%s: %d problems in the model", args[0], len(me))
				}
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			files := engine.Compile(m, filepath.Base(args[0])).Files()
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				p := filepath.Join(out, n)
				if err := os.WriteFile(p, []byte(files[n]), 0o644); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "wrote", p)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "policies-compiled", "directory to write the Rego into")
	return cmd
}

func newPolicyTestCmd() *cobra.Command {
	var (
		threshold float64
		coverage  bool
		cases     []string
	)
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "run the Rego tests of a policy directory (with coverage on request), and decision case files",
		Long: `test runs every *_test.rego of DIR (default: the current directory) with
OPA's test runner, prints failures, and fails when a test fails. With
--coverage or --threshold PERCENT it also measures coverage (several times
slower on large generated tests), prints uncovered lines, and fails when
coverage is below the threshold.

With --cases FILE|DIR (repeatable), it also decides every case of those
decision case files (testdata/decisions/*.json: kind access, limit, admin or
ratelimit) with the server's engine loaded with DIR's policies, and fails
when a decision differs from the pinned one.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := policyTest(cmd.Context(), cmd.OutOrStdout(), dir, coverage || threshold > 0, threshold); err != nil {
				return err
			}
			return policyCases(cmd.Context(), cmd.OutOrStdout(), dir, cases)
		},
	}
	cmd.Flags().Float64Var(&threshold, "threshold", 0, "minimum coverage in percent (measures coverage)")
	cmd.Flags().BoolVar(&coverage, "coverage", false, "measure coverage and print uncovered lines")
	cmd.Flags().StringArrayVar(&cases, "cases", nil, "decision case file or directory of them (repeatable)")
	return cmd
}

// policyCases runs decision case files against the engine with dir's
// policies (none when dir holds the built-in set itself).
func policyCases(ctx context.Context, w io.Writer, dir string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("cases: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return fmt.Errorf("cases: %w", err)
		}
		files = append(files, found...)
	}
	base := engine.Options{}
	if !isBuiltinSet(dir) {
		base.PolicyDir = dir
	}
	failed := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("cases: %w", err)
		}
		cf, err := engine.ParseCaseFile(b)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		rep, err := engine.RunCases(ctx, base, cf)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, fl := range rep.Failures {
			fmt.Fprintf(w, "%s: %s\n", f, fl)
		}
		fmt.Fprintf(w, "%s: %d %s cases, %d failed\n", f, rep.Cases, rep.Kind, len(rep.Failures))
		failed += len(rep.Failures)
	}
	if failed > 0 {
		return fmt.Errorf("%d decision cases failed", failed)
	}
	return nil
}

// isBuiltinSet reports whether dir holds the built-in policies themselves
// (policies/ of this repository), which the engine always loads.
func isBuiltinSet(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "authnzrv", "admin", "admin.rego"))
	return err == nil
}

// policyTest runs the tests of dir, with coverage when asked, and reports.
func policyTest(ctx context.Context, w io.Writer, dir string, coverage bool, threshold float64) error {
	modules, store, err := tester.Load([]string{dir}, nil)
	if err != nil {
		return fmt.Errorf("load %s: %w", dir, err)
	}
	runner := tester.NewRunner().SetStore(store).SetModules(modules).SetTimeout(time.Minute)
	var cov *cover.Cover
	if coverage {
		cov = cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
	}
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return fmt.Errorf("run tests: %w", err)
	}
	pass, fail := 0, 0
	for r := range ch {
		if r.Pass() || r.Skip {
			pass++
			continue
		}
		fail++
		msg := "FAIL"
		if r.Error != nil {
			msg = "ERROR: " + oneLine(r.Error)
		}
		fmt.Fprintf(w, "%s %s.%s: %s\n", r.Location, r.Package, r.Name, msg)
	}
	if cov == nil {
		fmt.Fprintf(w, "%d passed, %d failed\n", pass, fail)
	} else {
		report := cov.Report(modules)
		writeNotCovered(w, report)
		fmt.Fprintf(w, "%d passed, %d failed, coverage %.2f%%\n", pass, fail, report.Coverage)
		if fail == 0 && pass > 0 && report.Coverage < threshold {
			return fmt.Errorf("coverage %.2f%% is below the threshold %.2f%%", report.Coverage, threshold)
		}
	}
	switch {
	case fail > 0:
		return fmt.Errorf("%d policy tests failed", fail)
	case pass == 0:
		return fmt.Errorf("no policy tests in %s", dir)
	}
	return nil
}

// writeNotCovered lists the uncovered lines of a coverage report, by file.
func writeNotCovered(w io.Writer, report cover.Report) {
	files := make([]string, 0, len(report.Files))
	for f := range report.Files {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		for _, r := range report.Files[f].NotCovered {
			fmt.Fprintf(w, "not covered: %s:%d-%d\n", f, r.Start.Row, r.End.Row)
		}
	}
}

func newPolicyEvalCmd() *cobra.Command {
	var (
		perms, pols, input, role, action, item, vis, shared, limitName, value string
		uid, owner                                                            int64
		batch                                                                 bool
		hawkSender, hawkPath, hawkSenders                                     string
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "evaluate access or limit decisions exactly as the server does (no database)",
		Long: `eval answers user-check-access and user-check-limit questions with the same
policies the server uses. Give one question with flags, or a JSON body with
--input, or JSON Lines on stdin with --batch: each line a user-check-access
body (user_id, user_role, action, target_name, target_owner, target_visibility,
target_sharedwith) or a user-check-limit body (user_role, limit_name,
value_to_check). One JSON line {"allowed": ..., "reason": ...} per question.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if hawkSender != "" {
				return hawkEval(ctx, cmd.OutOrStdout(), pols, perms, hawkSenders, hawkSender, hawkPath)
			}
			e, err := engine.New(ctx, engine.Options{PolicyDir: pols, ModelFile: perms})
			if err != nil {
				return err
			}
			out := json.NewEncoder(cmd.OutOrStdout())
			if batch {
				sc := bufio.NewScanner(cmd.InOrStdin())
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				var failed []string
				questions := 0
				for line := 1; sc.Scan(); line++ {
					if strings.TrimSpace(sc.Text()) == "" {
						continue
					}
					questions++
					res := evalBody(ctx, e, []byte(sc.Text()))
					if err := out.Encode(res); err != nil {
						return err
					}
					if res.Error != "" {
						failed = append(failed, strconv.Itoa(line))
					}
				}
				if err := sc.Err(); err != nil {
					return fmt.Errorf("eval --batch: read stdin: %w", err)
				}
				if n := len(failed); n > 0 {
					if n > 10 {
						failed = append(failed[:10], "…")
					}
					return fmt.Errorf("eval --batch: %d of %d questions could not be decided (lines %s)", n, questions, strings.Join(failed, ", "))
				}
				return nil
			}
			body := []byte(input)
			if input == "" {
				q := map[string]any{"user_id": uid, "user_role": role}
				if limitName != "" {
					q["limit_name"] = limitName
					q["value_to_check"] = json.RawMessage(value)
					if !json.Valid([]byte(value)) {
						q["value_to_check"] = value
					}
				} else {
					q["action"], q["target_name"], q["target_owner"] = action, item, owner
					q["target_visibility"], q["target_sharedwith"] = vis, shared
				}
				body, _ = json.Marshal(q)
			}
			res := evalBody(ctx, e, body)
			if err := out.Encode(res); err != nil {
				return err
			}
			if res.Error != "" {
				return errors.New(res.Error)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&perms, "permissions", "", "JSON permissions model (default: the built-in default model)")
	f.StringVar(&pols, "policies", "", "directory of extra Rego policies")
	f.StringVar(&input, "input", "", "one user-check-access or user-check-limit body as JSON")
	f.BoolVar(&batch, "batch", false, "read JSON Lines bodies from stdin")
	f.Int64Var(&uid, "user-id", 0, "requesting user id")
	f.StringVar(&role, "role", "", "requesting user's role")
	f.StringVar(&action, "action", "", "action")
	f.StringVar(&item, "target-name", "", "item type")
	f.Int64Var(&owner, "target-owner", 0, "item owner's user id")
	f.StringVar(&vis, "visibility", "", "item visibility")
	f.StringVar(&shared, "shared-with", "", "comma-separated user ids the item is shared with")
	f.StringVar(&limitName, "limit-name", "", "limit to check (a limit question instead of an access one)")
	f.StringVar(&value, "value", "0", "value to check against the limit (JSON)")
	f.StringVar(&hawkSender, "hawk-sender", "", "Hawk sender: may it call --path of the Bergson API? (a Hawk question instead)")
	f.StringVar(&hawkPath, "path", "", "request path of the Hawk question, e.g. /v1/account/authenticate")
	f.StringVar(&hawkSenders, "hawksenders", "", "the Hawk senders file whose endpoint lists the Hawk question uses")
	return cmd
}

// evalResult is one line of eval's output.
type evalResult struct {
	Allowed bool   `json:"allowed"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason"`
	Error   string `json:"error,omitempty"`
}

// evalBody decides one request body, decoded with the server's own
// argument rules (api.AccessInput, api.LimitInput).
func evalBody(ctx context.Context, e *engine.Engine, body []byte) evalResult {
	var q map[string]json.RawMessage
	if err := json.Unmarshal(body, &q); err != nil {
		return evalResult{Error: "input is not a JSON object: " + oneLine(err)}
	}
	var (
		d   engine.Decision
		err error
	)
	if _, isLimit := q["limit_name"]; isLimit {
		var in engine.LimitInput
		if in, err = api.LimitInput(body); err == nil {
			d, err = e.Limit(ctx, in)
		}
	} else {
		var in engine.AccessInput
		if in, err = api.AccessInput(body); err == nil {
			d, err = e.Access(ctx, in)
		}
	}
	res := evalResult{Allowed: d.Allowed, Rule: d.Rule, Reason: d.Reason}
	if err != nil {
		res.Error = oneLine(err)
	}
	return res
}
