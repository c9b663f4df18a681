package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/authnzrv/authnzrv/engine/limiter"
)

// The rate-limit policy decides from the request type, its group and which
// identifiers are present; the values of the identifiers only name the
// buckets. So a decision is made once per (revision, type, group,
// identifiers present) and kept as a plan, and each request's bucket keys
// are built from the plan in Go: a new client address costs no policy
// evaluation.

// ratePlanKey identifies a plan.
type ratePlanKey struct {
	rev, typ, group string
	email           bool
	has             uint8
}

const (
	hasEmail uint8 = 1 << iota
	hasUser
	hasSession
	hasAPIKey
)

// ratePlan is the policy's answer for a ratePlanKey.
type ratePlan struct {
	refuse  string
	buckets []planBucket
}

type planBucket struct {
	kind             string
	perMinute, burst int
}

// maxRateType bounds the request type and group in a plan key and in
// bucket keys.
const maxRateType = 64

func presence(req limiter.Request) uint8 {
	var h uint8
	if req.Email != "" {
		h |= hasEmail
	}
	if req.UserID > 0 {
		h |= hasUser
	}
	if req.Session != "" {
		h |= hasSession
	}
	if req.APIKey != "" {
		h |= hasAPIKey
	}
	return h
}

// RateLimits asks the rate-limit policy which buckets a request draws from
// and names them: "ip:<type>:<client digest>", "email:<type>:<e-mail
// digest>", "user:<id>", "session:<digest>", "apikey:<digest>".
func (e *Engine) RateLimits(ctx context.Context, req limiter.Request) (limiter.Decision, error) {
	start := time.Now()
	r := e.cur.Load()
	if len(req.Type) > maxRateType {
		req.Type = req.Type[:maxRateType]
	}
	if len(req.Group) > maxRateType {
		req.Group = req.Group[:maxRateType]
	}
	k := ratePlanKey{rev: r.id, typ: req.Type, group: req.Group, email: req.EmailRequest, has: presence(req)}
	plan, cached := e.plans.Get(k)
	var err error
	if !cached || e.o.NoDecisionCache {
		if plan, err = e.ratePlan(ctx, r, k); err == nil && !e.o.NoDecisionCache {
			e.plans.Add(k, plan)
		}
	}
	var d limiter.Decision
	if err == nil {
		d = plan.decision(req)
	}
	e.observe(ctx, observation{kind: "ratelimit", start: start, cached: cached, err: err,
		allowed: d.Refuse == "", rule: rateRule(d), reason: rateRule(d),
		input: func() string { return fmt.Sprintf("%s\x00%s\x00%t\x00%d", k.typ, k.group, k.email, k.has) }})
	return d, err
}

func rateRule(d limiter.Decision) string {
	if d.Refuse != "" {
		return d.Refuse
	}
	return strconv.Itoa(len(d.Buckets)) + " buckets"
}

// maxIdentifier bounds an identifier in a bucket key. Callers pass keyed
// digests (32 hex characters); a longer value (a caller that passed the raw
// one) is replaced by its SHA-256, so that a key never grows with the input
// (issue 13, finding 4).
const maxIdentifier = 64

func bounded(id string) string {
	if len(id) <= maxIdentifier {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256-" + hex.EncodeToString(sum[:])
}

// decision names a plan's buckets for one request.
func (p *ratePlan) decision(req limiter.Request) limiter.Decision {
	d := limiter.Decision{Refuse: p.refuse}
	if len(p.buckets) > 0 {
		d.Buckets = make([]limiter.Bucket, len(p.buckets))
	}
	for i, b := range p.buckets {
		var key string
		switch b.kind {
		case "ip":
			key = "ip:" + req.Type + ":" + bounded(req.ClientIP)
		case "email":
			key = "email:" + req.Type + ":" + bounded(req.Email)
		case "user":
			key = "user:" + strconv.FormatInt(req.UserID, 10)
		case "session":
			key = "session:" + bounded(req.Session)
		case "apikey":
			key = "apikey:" + bounded(req.APIKey)
		default:
			key = b.kind + ":" + req.Type
		}
		d.Buckets[i] = limiter.Bucket{Key: key, PerMinute: b.perMinute, Burst: b.burst}
	}
	return d
}

// ratePlan evaluates the policy for a plan key.
func (e *Engine) ratePlan(ctx context.Context, r *revision, k ratePlanKey) (*ratePlan, error) {
	has := ast.NewObject(
		[2]*ast.Term{ast.InternedTerm("email"), ast.InternedTerm(k.has&hasEmail != 0)},
		[2]*ast.Term{ast.InternedTerm("user"), ast.InternedTerm(k.has&hasUser != 0)},
		[2]*ast.Term{ast.InternedTerm("session"), ast.InternedTerm(k.has&hasSession != 0)},
		[2]*ast.Term{ast.InternedTerm("apikey"), ast.InternedTerm(k.has&hasAPIKey != 0)},
	)
	obj := ast.NewObject(
		[2]*ast.Term{ast.InternedTerm("request"), ast.StringTerm(k.typ)},
		[2]*ast.Term{ast.InternedTerm("group"), ast.StringTerm(k.group)},
		[2]*ast.Term{ast.InternedTerm("email_request"), ast.InternedTerm(k.email)},
		[2]*ast.Term{ast.InternedTerm("has"), ast.NewTerm(has)},
	)
	v, err := eval(ctx, r.rate, obj)
	if err != nil {
		return nil, err
	}
	p := &ratePlan{}
	p.refuse, _ = v["refuse"].(string)
	list, _ := v["buckets"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		kind, _ := m["kind"].(string)
		per, burst := toInt(m["per_minute"]), toInt(m["burst"])
		if kind == "" {
			return nil, errors.New("engine: the rate-limit policy named a bucket without a kind")
		}
		p.buckets = append(p.buckets, planBucket{kind: kind, perMinute: per, burst: burst})
	}
	return p, nil
}

func toInt(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, _ := n.Float64()
			return int(f)
		}
		return int(i)
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}
