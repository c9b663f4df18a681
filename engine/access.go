package engine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// AccessInput is a user-check-access question.
type AccessInput struct {
	UserID           int64
	Role             string
	Action           string
	TargetName       string
	TargetOwner      int64
	TargetVisibility string
	// TargetSharedWith is the raw comma-separated list ("", "none", "2,5").
	TargetSharedWith string
}

// accessKey is a digest of a revision and an access input.
type accessKey [sha256.Size]byte

func keyOf(rev string, in AccessInput) accessKey {
	h := sha256.New()
	var n [8]byte
	for _, f := range [...]string{rev, in.Role, in.Action, in.TargetName, in.TargetVisibility, in.TargetSharedWith} {
		binary.LittleEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	binary.LittleEndian.PutUint64(n[:], uint64(in.UserID))
	h.Write(n[:])
	binary.LittleEndian.PutUint64(n[:], uint64(in.TargetOwner))
	h.Write(n[:])
	var k accessKey
	h.Sum(k[:0])
	return k
}

// Access decides a user-check-access question. An unknown role is
// ErrUnknownRole (with the deny decision).
func (e *Engine) Access(ctx context.Context, in AccessInput) (d Decision, err error) {
	start := time.Now()
	r := e.cur.Load()
	cached := false
	defer func() {
		e.observe(ctx, observation{kind: "access", start: start, allowed: d.Allowed, rule: d.Rule, reason: d.Reason,
			cached: cached, err: err, subject: in.UserID, input: func() string { return fmt.Sprint(in) }})
	}()
	if e.o.NoDecisionCache {
		return e.access(ctx, r, in)
	}
	key := keyOf(r.id, in)
	if verdict, ok := e.cache.Get(key); ok {
		cached = true
		d = accessDecision(verdict, in)
		if verdict == VerdictUnknownRole {
			return d, fmt.Errorf("%w %q", ErrUnknownRole, in.Role)
		}
		return d, nil
	}
	d, err = e.access(ctx, r, in)
	if err == nil || errors.Is(err, ErrUnknownRole) {
		e.cache.Add(key, d.Rule)
	}
	return d, err
}

// access evaluates an access decision.
func (e *Engine) access(ctx context.Context, r *revision, in AccessInput) (Decision, error) {
	v, err := evalValue(ctx, r.access, r.accessObject(in), withoutMemo)
	if err != nil {
		return Decision{}, err
	}
	verdict, ok := v.(string)
	if !ok {
		return Decision{}, errors.New("engine: the access verdict is not a string")
	}
	d := accessDecision(verdict, in)
	if verdict == VerdictUnknownRole {
		return d, fmt.Errorf("%w %q", ErrUnknownRole, in.Role)
	}
	return d, nil
}

// Access verdicts of the compiled policy (package authnzrv.access, rule
// verdict); a replacement package may name other deny reasons.
const (
	VerdictGranted     = "granted"
	VerdictUnknownRole = "unknown role"
	VerdictGateClosed  = "visibility gate closed"
	VerdictNotGranted  = "not granted"
)

// accessDecision is the decision of a verdict, worded with the request's
// details (by concatenation: this runs on every uncached decision).
func accessDecision(verdict string, in AccessInput) Decision {
	q := func(s string) string { return "'" + s + "'" }
	whose := "owned by another user"
	if in.UserID == in.TargetOwner {
		whose = "it owns"
	}
	d := Decision{Allowed: verdict == VerdictGranted, Rule: verdict}
	switch verdict {
	case VerdictGranted:
		d.Reason = "allow: role " + q(in.Role) + " may " + q(in.Action) + " a " + q(in.TargetVisibility) + " " + q(in.TargetName) + " " + whose
	case VerdictUnknownRole:
		d.Reason = "deny: unknown role " + q(in.Role)
	case VerdictGateClosed:
		d.Reason = "deny: visibility gate closed: user " + strconv.FormatInt(in.UserID, 10) + " may not see a " + q(in.TargetVisibility) + " " + q(in.TargetName) +
			" of user " + strconv.FormatInt(in.TargetOwner, 10) + " (shared with " + q(in.TargetSharedWith) + ")"
	case VerdictNotGranted:
		d.Reason = "deny: not granted: role " + q(in.Role) + " may not " + q(in.Action) + " a " + q(in.TargetVisibility) + " " + q(in.TargetName) + " " + whose
	default:
		d.Reason = "deny: " + verdict
	}
	return d
}

// limitObject is the input of a limit decision: role, limit_name, the
