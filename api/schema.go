package api

import (
	"encoding/json"
	"strings"
)

// param is one argument of a request type: its name and the type names it
// accepts (protocol.md §7.1).
type param struct {
	name  string
	types []string
}

// spec is the argument schema of one request type: required args and
// optional kwargs, in schema order.
type spec struct {
	args   []param
	kwargs []param
}

func p(name string, types ...string) param { return param{name: name, types: types} }

// problem is one entry of a validation failure reply.
type problem struct {
	Param         string `json:"param"`
	Problem       string `json:"problem"`
	RequiredType  any    `json:"required_type"`
	RequiredParam bool   `json:"required_param"`
}

func (q param) requiredType() any {
	if len(q.types) == 1 {
		return q.types[0]
	}
	return q.types
}

// validate applies the reference's presence and type rules to a body.
func (s spec) validate(body map[string]any) []problem {
	var out []problem
	for _, a := range s.args {
		v, ok := body[a.name]
		switch {
		case !ok:
			out = append(out, problem{a.name, "missing", a.requiredType(), true})
		case !typeMatches(v, a.types):
			out = append(out, problem{a.name, "incorrect type", a.requiredType(), true})
		}
	}
	for _, k := range s.kwargs {
		v, ok := body[k.name]
		if ok && truthy(v) && !typeMatches(v, k.types) {
			out = append(out, problem{k.name, "incorrect type", k.requiredType(), false})
		}
	}
	return out
}

// typeMatches reports whether a JSON value satisfies any of the type names:
// bools are ints, JSON integers are not floats, "None" accepts anything and
// "Any" anything but null.
func typeMatches(v any, types []string) bool {
	for _, t := range types {
		switch t {
		case "None":
			return true
		case "Any":
			if v != nil {
				return true
			}
		case "str":
			if _, ok := v.(string); ok {
				return true
			}
		case "int":
			switch x := v.(type) {
			case bool:
				return true
			case json.Number:
				if !isFloatLiteral(x) {
					return true
				}
			}
		case "float":
			if x, ok := v.(json.Number); ok && isFloatLiteral(x) {
				return true
			}
		case "dict":
			if _, ok := v.(map[string]any); ok {
				return true
			}
		case "list":
			if _, ok := v.([]any); ok {
				return true
			}
		case "bool":
			if _, ok := v.(bool); ok {
				return true
			}
		}
	}
	return false
}

func isFloatLiteral(n json.Number) bool {
	return strings.ContainsAny(string(n), ".eE")
}

var smtpKwargs = []param{
	p("emailuser", "str", "None"), p("emailpass", "str", "None"), p("emailserver", "str"),
	p("emailport", "int"), p("emailsender", "str"),
}

// schemas is the argument schema of every request type (actions.md). The
// e-mail-sending types use the fixed types of quirk #25.
var schemas = map[string]spec{
	"session-new": {args: []param{
		p("ip_address", "str"), p("user_agent", "str"), p("user_id", "int", "None"),
		p("expires", "str"), p("extra_info_json", "dict", "None"),
	}},
	"session-exists":           {args: []param{p("session_token", "str")}},
	"session-delete":           {args: []param{p("session_token", "str")}},
	"session-delete-userid":    {args: []param{p("session_token", "str"), p("user_id", "int"), p("keep_current_session", "bool")}},
	"user-login":               {args: []param{p("session_token", "str"), p("email", "str"), p("password", "str")}},
	"user-logout":              {args: []param{p("session_token", "str"), p("user_id", "int")}},
	"user-passcheck":           {args: []param{p("session_token", "str"), p("password", "str")}},
	"user-passcheck-nosession": {args: []param{p("email", "str"), p("password", "str")}},
	"user-new": {
		args:   []param{p("full_name", "str"), p("email", "str"), p("password", "str")},
		kwargs: []param{p("extra_info", "dict", "None"), p("verify_retry_wait", "int", "None"), p("system_id", "str", "None")},
	},
	"user-delete": {args: []param{p("email", "str"), p("user_id", "int"), p("password", "str")}},
	"user-changepass": {args: []param{
		p("user_id", "int"), p("session_token", "str"), p("full_name", "str"), p("email", "str"),
		p("current_password", "str"), p("new_password", "str"),
	}},
	"user-changepass-nosession": {args: []param{
		p("user_id", "int"), p("full_name", "str"), p("email", "str"),
		p("current_password", "str"), p("new_password", "str"),
	}},
	"user-list":         {args: []param{p("user_id", "int", "None")}},
	"user-lookup-email": {args: []param{p("email", "str")}},
	"user-lookup-match": {args: []param{p("by", "str"), p("match", "Any")}},
	"user-edit": {args: []param{
		p("user_id", "int"), p("user_role", "str"), p("session_token", "str"),
		p("target_userid", "int"), p("update_dict", "dict"),
	}},
	"user-resetpass":           {args: []param{p("email_address", "str"), p("new_password", "str"), p("session_token", "str")}},
	"user-resetpass-nosession": {args: []param{p("email_address", "str"), p("new_password", "str"), p("required_active", "bool")}},
	"user-lock": {args: []param{
		p("user_id", "int"), p("user_role", "str"), p("session_token", "str"),
		p("target_userid", "int"), p("action", "str"),
	}},
	"user-validatepass": {
		args: []param{p("password", "str"), p("email", "str"), p("full_name", "str")},
		kwargs: []param{
			p("min_pass_length", "int"), p("max_unsafe_similarity", "int"),
			p("max_character_frequency", "float"), p("min_pwned_matches", "int"),
		},
	},
	"user-sendemail-signup": {
		args: []param{
			p("email_address", "str"), p("session_token", "str"), p("created_info", "dict"),
			p("server_name", "str"), p("server_baseurl", "str"),
			p("verification_token", "str"), p("verification_expiry", "int"),
		},
		kwargs: append([]param{p("account_verify_url", "str"), p("server_verify_url", "str")}, smtpKwargs...),
	},
	"user-sendemail-forgotpass": {
		args: []param{
			p("email_address", "str"), p("session_token", "str"), p("server_name", "str"),
			p("server_baseurl", "str"), p("password_forgot_url", "str"),
			p("verification_token", "str"), p("verification_expiry", "int"),
		},
		kwargs: smtpKwargs,
	},
	"user-set-emailverified": {args: []param{p("email", "str")}},
	"user-set-emailsent":     {args: []param{p("email", "str"), p("email_type", "str")}},
	"apikey-new": {args: []param{
		p("issuer", "str"), p("audience", "str"), p("subject", "str"), p("apiversion", "str", "int"),
		p("expires_days", "int"), p("not_valid_before", "float", "int"), p("user_id", "int"),
		p("user_role", "str"), p("ip_address", "str"), p("user_agent", "str"), p("session_token", "str"),
	}},
	"apikey-verify":              {args: apikeyOpArgs},
	"apikey-revoke":              {args: apikeyOpArgs},
	"apikey-verify-nosession":    {args: apikeyOpArgs},
	"apikey-revoke-nosession":    {args: apikeyOpArgs},
	"apikey-revokeall-nosession": {args: apikeyOpArgs},
	"apikey-new-nosession": {args: []param{
		p("issuer", "str"), p("audience", "str"), p("subject", "str"), p("apiversion", "str", "int"),
		p("expires_seconds", "int"), p("not_valid_before", "float", "int"), p("user_id", "int"),
		p("user_role", "str"), p("ip_address", "str"), p("refresh_expires", "int"),
		p("refresh_nbf", "float", "int"),
	}},
	"apikey-refresh-nosession": {args: []param{
		p("apikey_dict", "dict"), p("user_id", "int"), p("user_role", "str"), p("refresh_token", "str"),
		p("ip_address", "str"), p("expires_seconds", "int"), p("not_valid_before", "int", "float"),
		p("refresh_expires", "int"), p("refresh_nbf", "int", "float"),
	}},
	"user-check-access": {args: []param{
		p("user_id", "int"), p("user_role", "str"), p("action", "str"), p("target_name", "str"),
		p("target_owner", "int"), p("target_visibility", "str"), p("target_sharedwith", "str"),
	}},
	"user-check-limit": {args: []param{
		p("user_id", "int"), p("user_role", "str"), p("limit_name", "str"), p("value_to_check", "Any"),
	}},
	"internal-user-lock":    {args: []param{p("target_userid", "int"), p("action", "str")}},
	"internal-user-delete":  {args: []param{p("target_userid", "int")}},
	"internal-user-edit":    {args: []param{p("target_userid", "int"), p("update_dict", "dict")}},
	"internal-session-edit": {args: []param{p("target_session_token", "str"), p("update_dict", "dict")}},
}

var apikeyOpArgs = []param{p("apikey_dict", "dict"), p("user_id", "int"), p("user_role", "str")}
