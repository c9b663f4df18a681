// Package policies holds authnzrv's built-in Rego: the generic access and
// limit policies that read the JSON permissions model as data (the oracle of
// the compiled policies), and the server's rate-limit policy. Each file has a
// _test.rego beside it; `opa test policies/` runs them.
package policies

import "embed"

// FS holds the policy files and their tests.
//
//go:embed authnzrv
var FS embed.FS
