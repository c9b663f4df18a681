package api

import (
	"bytes"
	"fmt"
	"go/format"
	"maps"
	"slices"
	"strconv"
	"strings"
)

//go:generate go run ./internal/gen

// Documentation of the request table. Each request type's entry in
// requestDocs (table.go) says what a success returns, every refusal with its
// failure_reason and messages, and the side effects a frontend must know.
// docs/requests.md and the Go client's typed calls (client/requests_gen.go)
// are generated from the table with `go generate ./api`; tests keep both
// current and check the documented failure reasons against the handlers.

// docs documents one request type beyond its arguments.
type docs struct {
	// returns are the keys of a successful response besides success and
	// messages.
	returns []docKey
	// ok are the messages of a successful response.
	ok []string
	// failures are the answers with success false the handler gives. A
	// failure with an empty reason has no failure_reason key.
	failures []docFailure
	// effects are the side effects a frontend must know.
	effects []string
}

// docKey is a response key and what it holds.
type docKey struct{ name, desc string }

// docFailure is one refusal. In reason and messages, %s stands for a part
// filled in at run time; a message in angle brackets describes messages
// that vary (e.g. the password policy's).
type docFailure struct {
	reason   string
	messages []string
	// keys names response keys this failure sets beyond the request type's
	// failure keys.
	keys string
	// when says when it happens.
	when string
}

// RequestInfo describes one request type of the table: its arguments,
// rate-limit group, lock-out and session use, and its documentation. It is
// a copy; changing it changes no server.
type RequestInfo struct {
	// Name is the request type, e.g. "user-login".
	Name string
	// Summary says in one line what the type does.
	Summary string
	// Group is the rate-limit group (ipaddr, user, session, apikey, internal).
	Group string
	// EmailKey is the argument whose e-mail gets a per-address rate-limit
	// bucket ("" for none).
	EmailKey string
	// Lockout is true when failed password checks count towards the
	// back-off and temporary lock-out.
	Lockout bool
	// NeedsSession is true when the type acts on behalf of a live session.
	NeedsSession bool
	// Extension is true for a type of authnzrv's own, which the reference
	// authnzerver does not know.
	Extension bool
	// Args are the arguments, required ones and kwargs, in schema order.
	Args []ArgInfo
	// FailureKeys are response keys every failure carries, with their
	// values.
	FailureKeys map[string]any
	// Fault is the answer when the server itself fails (database or mail
	// outage).
	Fault FailureInfo
	// Returns are the keys of a successful response besides success and
	// messages.
	Returns []KeyInfo
	// Success are the messages of a successful response.
	Success []string
	// Failures are the refusals; an empty Reason means no failure_reason.
	Failures []FailureInfo
	// Effects are the side effects a frontend must know.
	Effects []string
}

// ArgInfo is one argument of a request type.
type ArgInfo struct {
	// Name is the body key.
	Name string
	// Types is the reference's type spec, e.g. ["int", "None"].
	Types []string
	// Kwarg is true for an optional argument.
	Kwarg bool
	// MaxLength is the most characters a string value may have (0: no
	// limit of its own).
	MaxLength int
	// Min and Max bound a number; nil when the value is not range-checked.
	Min, Max *float64
	// Stored is true for objects stored as JSON (at most MaxStoredJSON
	// bytes once encoded).
	Stored bool
}

// KeyInfo is a response key and what it holds.
type KeyInfo struct {
	// Name is the key of the action response.
	Name string
	// Description says what it holds.
	Description string
}

// FailureInfo is a refusal: its failure_reason, messages, the keys it sets
// beyond the type's failure keys, and when it happens. %s in Reason and
// Messages stands for a part filled in at run time.
type FailureInfo struct {
	// Reason is the failure_reason ("" when the reply has none).
	Reason string
	// Messages are the end-user messages; one in angle brackets describes
	// messages that vary.
	Messages []string
	// Keys names the response keys the failure sets beyond the request
	// type's failure keys.
	Keys string
	// When says when it happens.
	When string
}

// Limits on arguments that apply to every request type.
const (
	// MaxJSONDepth is the deepest nesting accepted in an object argument.
	MaxJSONDepth = maxJSONDepth
	// MaxStoredJSON is the largest JSON document stored per row, in bytes.
	MaxStoredJSON = maxStoredJSON
)

// info is the exported view of an argument.
func (f *argField) info() ArgInfo {
	a := ArgInfo{Name: f.name, Types: slices.Clone(f.types), Kwarg: f.kwarg, MaxLength: f.maxLen, Stored: f.stored}
	if f.kind == kindInt || f.kind == kindFloat {
		lo, hi := f.min, f.max
		a.Min, a.Max = &lo, &hi
	}
	return a
}

func failureInfo(f docFailure) FailureInfo {
	return FailureInfo{Reason: f.reason, Messages: slices.Clone(f.messages), Keys: f.keys, When: f.when}
}

// generatedBy names the command in the generated files' headers.
const generatedBy = "go generate ./api"

// ----- Go client -----

// goWords spells the parts of request and argument names that are not
// simply capitalised.
var goWords = map[string]string{
	"id": "ID", "ip": "IP", "url": "URL", "json": "JSON", "nbf": "NBF",
	"apikey": "APIKey", "apiversion": "APIVersion", "userid": "UserID", "baseurl": "BaseURL",
	"nosession": "NoSession", "passcheck": "PassCheck", "changepass": "ChangePass",
	"resetpass": "ResetPass", "validatepass": "ValidatePass", "sendemail": "SendEmail",
	"forgotpass": "ForgotPass", "emailverified": "EmailVerified", "emailsent": "EmailSent",
	"revokeall": "RevokeAll", "sharedwith": "SharedWith", "emailuser": "EmailUser",
	"emailpass": "EmailPass", "emailserver": "EmailServer", "emailport": "EmailPort",
	"emailsender": "EmailSender", "totp": "TOTP",
}

// goName turns a request or argument name into a Go identifier.
func goName(name string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		if g, ok := goWords[w]; ok {
			b.WriteString(g)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// goType is the Go type of an argument in the client: one JSON type maps
// to its Go type, "float,int" to float64, anything else (None, Any, several
// types) to any.
func goType(types []string) string {
	if len(types) == 1 {
		switch types[0] {
		case "str":
			return "string"
		case "int":
			return "int64"
		case "float":
			return "Float"
		case "bool":
			return "bool"
		case "dict":
			return "map[string]any"
		case "list":
			return "[]any"
		}
		return "any"
	}
	if len(types) == 2 && slices.Contains(types, "float") && slices.Contains(types, "int") {
		return "float64"
	}
	return "any"
}

// GenerateClient returns client/requests_gen.go: for every request type a
// struct of its arguments and a method on *client.Client.
func GenerateClient() ([]byte, error) {
	reqs, err := Requests()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %q from the request table (api/table.go). DO NOT EDIT.\n\n", generatedBy)
	b.WriteString(clientPrelude)
	methods := map[string]string{}
	for _, r := range reqs {
		name := goName(r.Name)
		if prev, dup := methods[name]; dup {
			return nil, fmt.Errorf("api: %s and %s both make the Go name %s", prev, r.Name, name)
		}
		methods[name] = r.Name
		fmt.Fprintf(&b, "\n// %sArgs are the arguments of %s: %s.\ntype %sArgs struct {\n", name, r.Name, r.Summary, name)
		fields := map[string]bool{}
		for _, a := range r.Args {
			fn := goName(a.Name)
			if fields[fn] {
				return nil, fmt.Errorf("api: %s: two arguments make the Go name %s", r.Name, fn)
			}
			fields[fn] = true
			tag := a.Name
			if a.Kwarg {
				tag += ",omitempty"
			}
			fmt.Fprintf(&b, "\t// %s is %q: %s.\n\t%s %s `json:%q`\n", fn, a.Name, argSummary(a), fn, goType(a.Types), tag)
		}
		b.WriteString("}\n")
		fmt.Fprintf(&b, "\n// %s sends %s: %s.\nfunc (c *Client) %s(ctx context.Context, a %sArgs) (*Reply, error) {\n\treturn c.doTyped(ctx, %q, a)\n}\n",
			name, r.Name, r.Summary, name, name, r.Name)
	}
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("api: generated client does not parse: %w", err)
	}
	return out, nil
}

const clientPrelude = `package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Float is a number sent with a fraction, for arguments whose type spec is
// "float" alone: a whole float64 would be encoded as a JSON integer, which
// that spec refuses.
type Float float64

// MarshalJSON encodes f with a fraction or an exponent.
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return nil, errors.New("client: a Float argument must be finite")
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return []byte(s), nil
}

// doTyped sends a request whose arguments are a struct: encoded as JSON and
// decoded into the body with numbers kept exact.
func (c *Client) doTyped(ctx context.Context, request string, args any) (*Reply, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("client: encode the arguments of %s: %w", request, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("client: encode the arguments of %s: %w", request, err)
	}
	return c.Do(ctx, request, body)
}
`

// ----- docs/requests.md -----

// number formats a bound.
func number(x float64) string {
	switch x {
	case maxSafeInt:
		return "2^53"
	case -maxSafeInt:
		return "−2^53"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// argSummary says, in one line, what an argument accepts.
func argSummary(a ArgInfo) string {
	spec := strings.Join(a.Types, ",")
	req := "required"
	if a.Kwarg {
		req = "kwarg"
	}
	return fmt.Sprintf("%s, %s; %s", spec, req, argBounds(a))
}

// argBounds describes the values an argument accepts beyond its type spec.
func argBounds(a ArgInfo) string {
	var parts []string
	anything := slices.Contains(a.Types, "None")
	switch {
	case anything && a.Kwarg:
		parts = append(parts, "any value, null included")
	case anything:
		parts = append(parts, "any value, null included (only the key's presence is required)")
	case slices.Contains(a.Types, "Any"):
		parts = append(parts, "any value but null")
	}
	if a.MaxLength > 0 {
		if len(a.Types) == 1 && a.Types[0] == "str" {
			parts = append(parts, fmt.Sprintf("at most %d characters", a.MaxLength))
		} else {
			parts = append(parts, fmt.Sprintf("a string at most %d characters", a.MaxLength))
		}
	}
	if a.Min != nil && a.Max != nil {
		if *a.Min == -maxSafeInt && *a.Max == maxSafeInt {
			parts = append(parts, "within ±2^53")
		} else {
			parts = append(parts, fmt.Sprintf("from %s to %s", number(*a.Min), number(*a.Max)))
		}
	}
	if slices.Contains(a.Types, "dict") || anything || slices.Contains(a.Types, "Any") {
		obj := fmt.Sprintf("objects nested at most %d deep", MaxJSONDepth)
		if a.Stored {
			obj += fmt.Sprintf(", stored as JSON of at most %d bytes", MaxStoredJSON)
		}
		parts = append(parts, obj)
	}
	if len(a.Types) == 1 && a.Types[0] == "bool" {
		parts = append(parts, "true or false")
	}
	if len(parts) == 0 {
		return "no further bound"
	}
	return strings.Join(parts, "; ")
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// code renders s as inline code, or "(none)" when empty.
func code(s string) string {
	if s == "" {
		return "(none)"
	}
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// messages renders a list of messages.
func messages(ms []string) string {
	if len(ms) == 0 {
		return "(none)"
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		if strings.HasPrefix(m, "<") && strings.HasSuffix(m, ">") {
			out[i] = "_" + strings.Trim(m, "<>") + "_"
		} else {
			out[i] = code(m)
		}
	}
	return strings.Join(out, ", ")
}

// jsonLiteral renders a failure key's value as JSON.
func jsonLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

// GenerateReference returns docs/requests.md: every request type with its
// summary, arguments, success keys, failures and side effects.
func GenerateReference() ([]byte, error) {
	reqs, err := Requests()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- Code generated by %q from the request table (api/table.go). DO NOT EDIT. -->\n\n", generatedBy)
	b.WriteString(referenceIntro)
	b.WriteString("\n| request type | what it does | Go client |\n|---|---|---|\n")
	for _, r := range reqs {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | `%s` |\n", r.Name, r.Name, cell(r.Summary), goName(r.Name))
	}
	for _, r := range reqs {
		writeRequest(&b, r)
	}
	return []byte(b.String()), nil
}

func writeRequest(b *strings.Builder, r RequestInfo) {
	fmt.Fprintf(b, "\n## %s\n\n%s.\n\n", r.Name, strings.ToUpper(r.Summary[:1])+r.Summary[1:])
	fmt.Fprintf(b, "- Rate-limit group: `%s`", r.Group)
	if r.EmailKey != "" {
		fmt.Fprintf(b, "; also limited per e-mail address (`%s`); a request without it is answered HTTP 429", r.EmailKey)
	}
	b.WriteString(".\n")
	if r.Extension {
		b.WriteString("- authnzrv only: the reference authnzerver does not know this type.\n")
	}
	if r.NeedsSession {
		b.WriteString("- Acts on behalf of the live session in `session_token`.\n")
	}
	if r.Lockout {
		b.WriteString("- Failed password checks count towards the back-off and temporary lock-out (see side effects).\n")
	}
	fmt.Fprintf(b, "- Go: `c.%s(ctx, client.%sArgs{…})`.\n", goName(r.Name), goName(r.Name))

	b.WriteString("\n### Arguments\n\n")
	if len(r.Args) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| name | type spec | required | accepts |\n|---|---|---|---|\n")
		for _, a := range r.Args {
			req := "yes"
			if a.Kwarg {
				req = "no (kwarg)"
			}
			fmt.Fprintf(b, "| `%s` | `%s` | %s | %s |\n", a.Name, strings.Join(a.Types, ","), req, cell(argBounds(a)))
		}
	}

	b.WriteString("\n### Success\n\n`success: true`")
	if len(r.Returns) == 0 {
		b.WriteString(", no other keys.\n")
	} else {
		b.WriteString(" and:\n\n| key | value |\n|---|---|\n")
		for _, k := range r.Returns {
			fmt.Fprintf(b, "| `%s` | %s |\n", k.Name, cell(k.Description))
		}
	}
	fmt.Fprintf(b, "\nMessages: %s\n", messages(r.Success))

	b.WriteString("\n### Failures\n\n")
	if len(r.Failures) > 0 {
		b.WriteString("| failure_reason | messages | when | other keys |\n|---|---|---|---|\n")
		for _, f := range r.Failures {
			keys := f.Keys
			if keys == "" {
				keys = "—"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", cell(code(f.Reason)), cell(messages(f.Messages)), cell(f.When), cell(keys))
		}
		b.WriteString("\n")
	}
	if len(r.FailureKeys) > 0 {
		var ks []string
		for _, k := range slices.Sorted(maps.Keys(r.FailureKeys)) {
			ks = append(ks, fmt.Sprintf("`%s: %s`", k, jsonLiteral(r.FailureKeys[k])))
		}
		fmt.Fprintf(b, "Every failure carries %s unless the row says otherwise.\n", strings.Join(ks, ", "))
	}
	fmt.Fprintf(b, "A server fault (database or mail outage, an error the handler does not expect) answers with failure_reason %s and messages %s\n",
		code(r.Fault.Reason), messages(r.Fault.Messages))

	b.WriteString("\n### Side effects\n\n")
	effects := r.Effects
	if r.Lockout {
		effects = append(slices.Clone(effects), lockoutEffect)
	}
	if len(effects) == 0 {
		b.WriteString("None.\n")
	}
	for _, e := range effects {
		fmt.Fprintf(b, "- %s\n", e)
	}
}

// lockoutEffect is the side effect of the types with lockout set
// (guard.go: afterLogin).
const lockoutEffect = "Every failure of this type, a validation failure included, is counted for the body's `email` " +
	"and answered after a growing delay (1 s, then ×1.5 per failure, at most 40 s); past `--userlocktries` failures " +
	"(default 10) the user is locked for `--userlocktime` seconds (default 3600) unless the admin policy exempts them, " +
	"and the reply becomes `{success: false, user_id: null, messages: [\"" + msgLockedOut + "\"]}`, without " +
	"`failure_reason`. A success resets the count. A body without `email` is answered HTTP 400."

const referenceIntro = `# Request reference

Every request type of the protocol, generated from the server's request
table. How a request is encrypted and sent, the status codes, validation
replies, rate limits and request freshness are in [protocol.md](protocol.md).

Reading the tables:

- **Type spec** is the reference's: ` + "`str`, `int`, `float`, `bool`, `dict`, `list`; `Any`" + ` accepts
  anything but null and ` + "`None`" + ` accepts anything (a spec such as ` + "`int,None`" + ` only
  requires the key to be present). A JSON integer is not a ` + "`float`" + `; unlike the
  reference, a boolean is not an ` + "`int`" + `.
- **Required** arguments must be present. A **kwarg** may be left out; a falsy
  kwarg (` + "`0`, `\"\"`, `false`, `null`, `[]`, `{}`" + `) is passed unchecked.
- **Accepts** lists the bounds authnzrv enforces beyond the type: string
  lengths in characters, number ranges, object nesting and stored size.
  A value outside them is a validation failure (protocol.md), like a wrong type.
- In failure reasons and messages, ` + "`%s`" + ` stands for a part filled in at run
  time; messages in _italics_ describe messages that vary.
- Every response has ` + "`success`" + ` and ` + "`messages`" + `; a failure has ` + "`failure_reason`" + `
  unless its row says (none). Frontends branch on ` + "`failure_reason`" + ` and show
  ` + "`messages`" + ` to the user.
- A **user_info** object has the 16 keys ` + "`user_id`, `system_id`, `full_name`, `email`, `email_verified`, `is_active`, " +
	"`last_login_try`, `last_login_success`, `failed_login_tries`, `created_on`, `last_updated`, `user_role`, `extra_info`, " +
	"`emailverify_sent_datetime`, `emailforgotpass_sent_datetime`, `emailchangepass_sent_datetime`" + ` (never the
  password). Times are naive-UTC isoformat strings (` + "`2030-01-01T10:00:00.250000`" + `, the fraction left out
  when zero) or null.
`
