package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/authnzrv/authnzrv/policies"
	"github.com/open-policy-agent/opa/ast"
	"github.com/open-policy-agent/opa/rego"
	"github.com/open-policy-agent/opa/storage"
	"github.com/open-policy-agent/opa/storage/inmem"
	"github.com/open-policy-agent/opa/tester"
)

// source is one Rego file.
type source struct {
	name, text string
	test       bool
}

// readDir lists the .rego files of a file system.
func readDir(fsys fs.FS, prefix string) ([]source, error) {
	var out []source
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out = append(out, source{name: prefix + p, text: string(b), test: strings.HasSuffix(p, "_test.rego")})
		return nil
	})
	return out, err
}

// build makes a revision from the current files.
func (e *Engine) build(ctx context.Context) (*revision, error) {
	srcs, err := readDir(policies.FS, "builtin/")
	if err != nil {
		return nil, fmt.Errorf("built-in policies: %w", err)
	}
	if e.o.PolicyDir != "" {
		user, err := readDir(os.DirFS(e.o.PolicyDir), e.o.PolicyDir+"/")
		if err != nil {
			return nil, fmt.Errorf("policy directory: %w", err)
		}
		srcs = append(srcs, user...)
	}
	modelJSON, modelName := defaultModel, "the default permissions model"
	if e.o.ModelFile != "" {
		if modelJSON, err = os.ReadFile(e.o.ModelFile); err != nil {
			return nil, fmt.Errorf("permissions model: %w", err)
		}
		modelName = filepath.Base(e.o.ModelFile)
	}
	model, err := ParseModel(modelJSON)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", modelName, err)
	}
	modules := map[string]*ast.Module{}
	tests := map[string]*ast.Module{}
	provided := map[string]bool{}
	for _, s := range srcs {
		m, err := ast.ParseModuleWithOpts(s.name, s.text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", s.name, err)
		}
		if s.test {
			tests[s.name] = m
			continue
		}
		modules[s.name] = m
		if !strings.HasPrefix(s.name, "builtin/") {
			provided[m.Package.Path.String()] = true
		}
	}
	assigned := assignableRoles(modules)
	compiled := Compile(model, modelName)
	for pkg, text := range map[string]string{"data.authnzrv.access": compiled.Access, "data.authnzrv.limits": compiled.Limits} {
		if provided[pkg] {
			continue
		}
		name := "compiled/" + strings.TrimPrefix(pkg, "data.authnzrv.") + ".rego"
		m, err := ast.ParseModuleWithOpts(name, text, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("compiled model: %w", err)
		}
		srcs = append(srcs, source{name: name, text: text})
		modules[name] = m
	}
	data, err := storeData(model, e.o.RateLimits)
	if err != nil {
		return nil, err
	}
	data["authnzrv"].(map[string]any)["hawk"] = hawkData(e.o.HawkSenders)
	newStore := func() storage.Store {
		return inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false), inmem.OptReturnASTValuesOnRead(true))
	}
	compiler := ast.NewCompiler()
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", compiler.Errors)
	}
	if e.o.Admit != nil {
		if err := e.o.Admit(ctx, Admission{Model: model, ModelName: modelName, Assigned: assigned}); err != nil {
			return nil, err
		}
	}
	if err := runTests(ctx, modules, tests, newStore()); err != nil {
		return nil, err
	}
	// A replacement access or limits package must define what the engine
	// asks for (the output of `authnzrv policy import` does).
	for _, q := range []string{accessQuery, limitsQuery, rateQuery, adminQuery, rolesQuery, hawkQuery} {
		if len(compiler.GetRules(ast.MustParseRef(q))) == 0 {
			return nil, fmt.Errorf("policies: no rule defines %s", strings.TrimPrefix(q, "data."))
		}
	}
	store := newStore()
	prepare := func(q string) (rego.PreparedEvalQuery, error) {
		pq, err := rego.New(rego.ParsedQuery(ast.MustParseBody(q)), rego.Compiler(compiler), rego.Store(store)).PrepareForEval(ctx)
		if err != nil {
			return pq, fmt.Errorf("prepare %s: %w", q, err)
		}
		return pq, nil
	}
	r := &revision{model: model, modelName: modelName, assigned: assigned, id: digest(srcs, modelJSON, e.o.RateLimits), terms: modelTerms(model)}
	if r.access, err = prepare(accessQuery); err != nil {
		return nil, err
	}
	if r.limits, err = prepare(limitsQuery); err != nil {
		return nil, err
	}
	if r.rate, err = prepare(rateQuery); err != nil {
		return nil, err
	}
	if r.admin, err = prepare(adminQuery); err != nil {
		return nil, err
	}
	if r.roles, err = prepare(rolesQuery); err != nil {
		return nil, err
	}
	if r.hawk, err = prepare(hawkQuery); err != nil {
		return nil, err
	}
	return r, nil
}

// storeData is the policies' data: the model and the rate-limit settings.
func storeData(m *Model, rates map[string]int) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	var model any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&model); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	rl := map[string]any{}
	for k, v := range rates {
		rl[k] = json.Number(fmt.Sprint(v))
	}
	return map[string]any{"authnzrv": map[string]any{"model": model, "ratelimits": rl}}, nil
}

// runTests runs the set's Rego tests; any failure refuses the set.
func runTests(ctx context.Context, modules, tests map[string]*ast.Module, store storage.Store) error {
	if len(tests) == 0 {
		return nil
	}
	all := make(map[string]*ast.Module, len(modules)+len(tests))
	for k, v := range modules {
		all[k] = v
	}
	for k, v := range tests {
		all[k] = v
	}
	ch, err := tester.NewRunner().SetStore(store).SetTimeout(time.Minute).Run(ctx, all)
	if err != nil {
		return fmt.Errorf("policy tests: %w", err)
	}
	var failed []string
	for r := range ch {
		if !r.Pass() && !r.Skip {
			failed = append(failed, fmt.Sprintf("%s.%s", r.Package, r.Name))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("policy tests failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// digest names a revision.
func digest(srcs []source, model []byte, rates map[string]int) string {
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].name < srcs[j].name })
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "%s\x00%s\x00", s.name, s.text)
	}
	h.Write(model)
	rb, _ := json.Marshal(rates)
	h.Write(rb)
	return hex.EncodeToString(h.Sum(nil))[:12]
}
