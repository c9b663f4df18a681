package api

import (
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"strings"
)

// Failure is an action that did not succeed, with what the client is told
// kept apart from why it happened (in the spirit of tailscale's
// tsweb.HTTPError): Reason is the response's failure_reason, Messages the
// end-user messages, Fields the request type's own response keys, and Err
// the internal cause, which is logged and never sent.
//
// Handlers return a *Failure as their error. A failure with a cause is a
// server fault: it is logged at Error with the cause. A failure without one
// is an ordinary answer (wrong password, unknown user) and is logged at
// Info. Any other error a handler returns is a server fault answered with
// the request type's documented failure (see request.fault).
type Failure struct {
	// Reason is the failure_reason ("" leaves it out, as the lock-out
	// reply does).
	Reason string
	// Messages are shown to the end user.
	Messages []string
	// Fields are extra response keys (e.g. "user_id": nil).
	Fields Result
	// Err is the internal cause; nil for an ordinary refusal.
	Err error
	// Status, when non-zero, answers with that plain HTTP status instead
	// of an envelope (the reference's HTTP 400 for a malformed
	// apikey_dict).
	Status int
}

// fail is an ordinary refusal.
func fail(reason string, messages ...string) *Failure {
	return &Failure{Reason: reason, Messages: messages}
}

// with adds response keys; pairs are key, value, key, value…
func (f *Failure) with(pairs ...any) *Failure {
	if f.Fields == nil {
		f.Fields = Result{}
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		f.Fields[pairs[i].(string)] = pairs[i+1]
	}
	return f
}

// because records the internal cause, making the failure a server fault.
func (f *Failure) because(err error) *Failure {
	f.Err = err
	return f
}

// Error describes the failure for logs; it includes the cause.
func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString("failure")
	if f.Reason != "" {
		b.WriteString(": ")
		b.WriteString(f.Reason)
	}
	if f.Err != nil {
		b.WriteString(": ")
		b.WriteString(f.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (f *Failure) Unwrap() error { return f.Err }

// result is the action response of a failure: success false, the fields,
// the messages and the reason.
func (f *Failure) result(defaults Result) Result {
	r := make(Result, len(defaults)+len(f.Fields)+3)
	maps.Copy(r, defaults)
	maps.Copy(r, f.Fields)
	r["success"] = false
	msgs := f.Messages
	if msgs == nil {
		msgs = []string{}
	}
	r["messages"] = msgs
	if f.Reason != "" {
		r["failure_reason"] = f.Reason
	}
	return r
}

// level is the log level of a failure: Error for server faults (a cause
// and no client-fault status).
func (f *Failure) level() slog.Level {
	if f.Err != nil && f.Status == 0 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// asFailure turns a handler error into the failure to answer with: the
// error itself when it is a *Failure, else the request type's documented
// failure for server faults with err as its cause.
func asFailure(err error, fault *Failure) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	if fault == nil {
		fault = genericFault
	}
	out := *fault
	out.Err = err
	return &out
}

// genericFault answers a server fault of a request type that documents no
// failure of its own.
var genericFault = &Failure{
	Reason:   "internal server error",
	Messages: []string{"The server could not process this request. Please try again later."},
}

// badRequest is the reference's HTTP 400 for a request it cannot read.
func badRequest(err error) *Failure {
	return &Failure{Status: http.StatusBadRequest, Err: err}
}
