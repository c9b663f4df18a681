package api

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The failure reasons a handler can answer, read from the source: the first
// argument of every fail(...) call in the handler and in the functions and
// methods of *Server it calls, transitively. A reason is a string literal,
// a fmt.Sprintf format or a concatenation (run-time parts become %s), or a
// parameter of the enclosing function or closure, resolved at its call
// sites in the same handler's code. Anything else is reported, so that a
// new way of building a reason cannot slip past the check.

// apiSource is a parsed package.
type apiSource struct {
	// funcs are the package's functions by name and the methods of Server
	// as "Server.name".
	funcs map[string]*ast.FuncDecl
	// consts are the package-level string constants.
	consts map[string]string
	// handlers maps request types to their handler methods (from the
	// entry(...) calls of the request table).
	handlers map[string]string
	// literals are the string literals outside the documentation files
	// (table.go, docgen*.go), for the message check.
	literals []string
}

// parseSource parses the non-test Go files matched by pattern.
func parseSource(pattern string) (*apiSource, error) {
	paths, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	src := &apiSource{funcs: map[string]*ast.FuncDecl{}, consts: map[string]string{}, handlers: map[string]string{}}
	fset := token.NewFileSet()
	for _, p := range paths {
		base := filepath.Base(p)
		if strings.HasSuffix(base, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return nil, err
		}
		docFile := base == "table.go" || strings.HasPrefix(base, "docgen")
		src.read(f, docFile)
	}
	if len(src.handlers) == 0 {
		return nil, errors.New("no entry(...) calls found: the request table's form changed")
	}
	return src, nil
}

func (src *apiSource) read(f *ast.File, docFile bool) {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			src.funcs[funcKey(d)] = d
		case *ast.GenDecl:
			if d.Tok != token.CONST {
				continue
			}
			for _, spec := range d.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							src.consts[n.Name] = s
						}
					}
				}
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			if s, ok := stringLit(n); ok && !docFile {
				src.literals = append(src.literals, s)
			}
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "entry" && len(n.Args) >= 3 {
				name, ok := stringLit(n.Args[0])
				if m := methodExpr(n.Args[2]); ok && m != "" {
					src.handlers[name] = m
				}
			}
		}
		return true
	})
}

// funcKey names a function declaration: "name", or "Server.name" for a
// method of Server.
func funcKey(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	if st, ok := t.(*ast.StarExpr); ok {
		t = st.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + d.Name.Name
	}
	return "?." + d.Name.Name
}

// methodExpr reads (*Server).name.
func methodExpr(e ast.Expr) string {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	p, ok := sel.X.(*ast.ParenExpr)
	if !ok {
		return ""
	}
	st, ok := p.X.(*ast.StarExpr)
	if !ok {
		return ""
	}
	if id, ok := st.X.(*ast.Ident); !ok || id.Name != "Server" {
		return ""
	}
	return "Server." + sel.Sel.Name
}

func stringLit(e ast.Expr) (string, bool) {
	bl, ok := e.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

// callSite is a call found in a handler's code, with the nodes enclosing
// it (for closure parameters).
type callSite struct {
	call  *ast.CallExpr
	decl  *ast.FuncDecl
	stack []ast.Node
}

// handlerCode is the code a handler can run.
type handlerCode struct {
	src   *apiSource
	decls []*ast.FuncDecl
	// calls are the call sites by callee: a function key, or
	// "closure:<decl>.<name>" for a closure variable.
	calls map[string][]callSite
	fails []callSite
}

// reasons returns the failure reasons the handler of a request type can
// answer.
func (src *apiSource) reasons(request string) (map[string]bool, error) {
	h, ok := src.handlers[request]
	if !ok {
		return nil, fmt.Errorf("%s has no entry(...) in the request table", request)
	}
	code, err := src.code(h)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, site := range code.fails {
		rs, err := code.resolve(site.call.Args[0], site, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: in %s: %w", request, funcKey(site.decl), err)
		}
		for _, r := range rs {
			out[r] = true
		}
	}
	return out, nil
}

// code collects the functions reachable from a handler and their calls.
func (src *apiSource) code(handler string) (*handlerCode, error) {
	if src.funcs[handler] == nil {
		return nil, fmt.Errorf("handler %s not found", handler)
	}
	hc := &handlerCode{src: src, calls: map[string][]callSite{}}
	seen := map[string]bool{handler: true}
	queue := []string{handler}
	for len(queue) > 0 {
		d := src.funcs[queue[0]]
		queue = queue[1:]
		hc.decls = append(hc.decls, d)
		var stack []ast.Node
		ast.Inspect(d.Body, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			if call, ok := n.(*ast.CallExpr); ok {
				site := callSite{call: call, decl: d, stack: slices.Clone(stack)}
				if callee := src.callee(call, d, stack); callee != "" {
					hc.calls[callee] = append(hc.calls[callee], site)
					if src.funcs[callee] != nil && !seen[callee] {
						seen[callee] = true
						queue = append(queue, callee)
					}
				}
				if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "fail" && len(call.Args) > 0 {
					hc.fails = append(hc.fails, site)
				}
			}
			stack = append(stack, n)
			return true
		})
	}
	return hc, nil
}

// callee names what a call calls: a package function, a method of Server
// (called on any identifier), or a closure variable of the enclosing
// function; "" for anything else.
func (src *apiSource) callee(call *ast.CallExpr, d *ast.FuncDecl, stack []ast.Node) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		if closureOf(d, fn.Name) != nil {
			return "closure:" + funcKey(d) + "." + fn.Name
		}
		if src.funcs[fn.Name] != nil {
			return fn.Name
		}
	case *ast.SelectorExpr:
		if _, ok := fn.X.(*ast.Ident); ok && src.funcs["Server."+fn.Sel.Name] != nil {
			return "Server." + fn.Sel.Name
		}
	}
	return ""
}

// closureOf finds `name := func(...) {...}` in a function.
func closureOf(d *ast.FuncDecl, name string) *ast.FuncLit {
	var found *ast.FuncLit
	ast.Inspect(d.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || found != nil {
			return found == nil
		}
		for i, l := range as.Lhs {
			if id, ok := l.(*ast.Ident); ok && id.Name == name && i < len(as.Rhs) {
				if fl, ok := as.Rhs[i].(*ast.FuncLit); ok {
					found = fl
				}
			}
		}
		return true
	})
	return found
}

// paramIndex is the position of a named parameter, or -1.
func paramIndex(ft *ast.FuncType, name string) int {
	i := 0
	for _, f := range ft.Params.List {
		if len(f.Names) == 0 {
			i++
			continue
		}
		for _, n := range f.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

// resolve returns the reasons an expression can be at a call site.
func (hc *handlerCode) resolve(e ast.Expr, at callSite, depth int) ([]string, error) {
	if depth > 8 {
		return nil, errors.New("parameters passed on too deep to resolve")
	}
	switch x := e.(type) {
	case *ast.BasicLit:
		if s, ok := stringLit(x); ok {
			return []string{s}, nil
		}
	case *ast.BinaryExpr:
		if x.Op == token.ADD {
			return []string{hc.concat(x)}, nil
		}
	case *ast.CallExpr:
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sprintf" && len(x.Args) > 0 {
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "fmt" {
				return hc.resolve(x.Args[0], at, depth+1)
			}
		}
	case *ast.Ident:
		return hc.resolveIdent(x, at, depth)
	}
	return nil, fmt.Errorf("cannot resolve the failure reason %s", types.ExprString(e))
}

// resolveIdent resolves a name: a parameter of the innermost closure or of
// the function that declares it (at their call sites), or a constant.
func (hc *handlerCode) resolveIdent(id *ast.Ident, at callSite, depth int) ([]string, error) {
	for i := len(at.stack) - 1; i >= 0; i-- {
		fl, ok := at.stack[i].(*ast.FuncLit)
		if !ok {
			continue
		}
		idx := paramIndex(fl.Type, id.Name)
		if idx < 0 {
			continue
		}
		name := closureName(at.stack[:i], fl)
		if name == "" {
			return nil, fmt.Errorf("%s is a parameter of an unnamed closure", id.Name)
		}
		return hc.resolveParam("closure:"+funcKey(at.decl)+"."+name, idx, id.Name, depth)
	}
	if idx := paramIndex(at.decl.Type, id.Name); idx >= 0 {
		return hc.resolveParam(funcKey(at.decl), idx, id.Name, depth)
	}
	if s, ok := hc.src.consts[id.Name]; ok {
		return []string{s}, nil
	}
	return nil, fmt.Errorf("cannot resolve the failure reason %s", id.Name)
}

// resolveParam resolves parameter idx of a callee at its call sites.
func (hc *handlerCode) resolveParam(callee string, idx int, name string, depth int) ([]string, error) {
	sites := hc.calls[callee]
	if len(sites) == 0 {
		return nil, fmt.Errorf("parameter %s of %s: no call site in this handler's code", name, callee)
	}
	var out []string
	for _, s := range sites {
		if idx >= len(s.call.Args) {
			return nil, fmt.Errorf("parameter %s of %s: a call passes too few arguments", name, callee)
		}
		rs, err := hc.resolve(s.call.Args[idx], s, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// closureName is the variable a closure is assigned to, from the nodes
// enclosing it.
func closureName(stack []ast.Node, fl *ast.FuncLit) string {
	if len(stack) == 0 {
		return ""
	}
	as, ok := stack[len(stack)-1].(*ast.AssignStmt)
	if !ok {
		return ""
	}
	for i, r := range as.Rhs {
		if r == fl && i < len(as.Lhs) {
			if id, ok := as.Lhs[i].(*ast.Ident); ok {
				return id.Name
			}
		}
	}
	return ""
}

// concat renders a string concatenation with its run-time parts as %s.
func (hc *handlerCode) concat(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.BinaryExpr:
		if x.Op == token.ADD {
			return hc.concat(x.X) + hc.concat(x.Y)
		}
	case *ast.BasicLit:
		if s, ok := stringLit(x); ok {
			return s
		}
	case *ast.Ident:
		if s, ok := hc.src.consts[x.Name]; ok {
			return s
		}
	}
	return "%s"
}

// verbRe matches the fmt verbs of a format string.
var verbRe = regexp.MustCompile(`%[-+# 0-9.]*[sdvqx]`)

// inSource reports whether a documented message is one the code can send:
// part of a string literal, or matched by a literal used as a format (its
// verbs standing for anything).
func (src *apiSource) inSource(msg string) bool {
	for _, lit := range src.literals {
		if strings.Contains(lit, msg) {
			return true
		}
		if !verbRe.MatchString(lit) {
			continue
		}
		parts := verbRe.Split(lit, -1)
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		if regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(msg) {
			return true
		}
	}
	return false
}
