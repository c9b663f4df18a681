// Package fixture is read, never compiled, by api's TestDocExtractor: each
// handler builds its failure reasons in one of the ways the extractor must
// follow (want.json lists what it must find).
package fixture

func requestTable() []request {
	return []request{
		entry("literal", "literals and constants", (*Server).literal, groupUser),
		entry("closure", "a closure's parameter", (*Server).closure, groupUser),
		entry("param-a", "a method's parameter, first caller", (*Server).paramA, groupUser),
		entry("param-b", "a method's parameter, second caller", (*Server).paramB, groupUser),
		entry("format", "Sprintf and concatenation", (*Server).format, groupUser),
		entry("helper", "a package function", (*Server).helper, groupUser),
		entry("nested", "a parameter passed on twice", (*Server).nested, groupUser),
		entry("unresolved", "a run-time value", (*Server).unresolved, groupUser),
	}
}

const constReason = "from a constant"

func (s *Server) literal(ctx context.Context, rc *reqCtx, a *args) (Result, error) {
	if a.X {
		return nil, fail("a literal", "message")
	}
	return nil, fail(constReason)
}

func (s *Server) closure(ctx context.Context, rc *reqCtx, a *args) (Result, error) {
	refuse := func(reason string, msgs ...string) *Failure {
		return fail(reason, msgs...).with("user_id", nil)
	}
	if a.X {
		return nil, refuse("first call", "m")
	}
	return nil, refuse("second call")
}

func (s *Server) paramA(ctx context.Context, rc *reqCtx, a *args) (Result, error) {
	return s.shared(ctx, a.X, "for a")
}

func (s *Server) paramB(ctx context.Context, rc *reqCtx, a *args) (Result, error) {
	return s.shared(ctx, a.X, "for b")
}

func (s *Server) shared(ctx context.Context, x bool, why string) (Result, error) {
	return nil, fail(why)
}

func (s *Server) format(ctx context.Context, rc *reqCtx, a *args) (Result, error) {
	if a.X {
		return nil, fail(fmt.Sprintf("role '%s' refused", a.Role))
	}
	return nil, fail("prefix: " + a.Reason + " suffix")
}

func (s *Server) helper(ctx context.Context, rc *reqCtx, a *args) (Result, error) {
	return nil, notFound()
}

func notFound() *Failure { return fail("via a helper") }

func (s *Server) nested(ctx context.Context, rc *reqCtx, a *args) (Result, error) {
	return outer("passed twice")
}

func outer(reason string) (Result, error) { return inner(reason) }

func inner(r string) (Result, error) { return nil, fail(r) }

func (s *Server) unresolved(ctx context.Context, rc *reqCtx, a *args) (Result, error) {
	return nil, fail(a.Reason)
}
