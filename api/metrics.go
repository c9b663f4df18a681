package api

import (
	"database/sql"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are a server's Prometheus metrics, in their own registry. All
// methods are safe on a nil *Metrics (no metrics).
type Metrics struct {
	registry        *prometheus.Registry
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	decisions       *prometheus.CounterVec
	decisionLatency *prometheus.HistogramVec
	hashWait        *prometheus.HistogramVec
	hashRun         *prometheus.HistogramVec
	hashBusy        *prometheus.CounterVec
	limiter         *prometheus.CounterVec
}

// NewMetrics makes the metrics and a registry holding them plus the Go
// runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authnzrv_requests_total", Help: "Requests by request type and outcome (success, failure, or http_<code>).",
		}, []string{"request", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authnzrv_request_duration_seconds", Help: "Time from receiving a request to sending its reply.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"request"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authnzrv_policy_decisions_total", Help: "Policy decisions by kind (access, limit, ratelimit) and result (allowed, denied, error).",
		}, []string{"kind", "result"}),
		decisionLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authnzrv_policy_decision_seconds", Help: "Policy evaluation time by kind.",
			Buckets: []float64{.000005, .00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .01},
		}, []string{"kind"}),
		hashWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authnzrv_password_hash_queue_seconds", Help: "Time an argon2 hash waited for memory budget.",
			Buckets: []float64{.0001, .001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"op"}),
		hashRun: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "authnzrv_password_hash_seconds", Help: "Time argon2 took (op: hash or verify).",
			Buckets: []float64{.005, .01, .025, .05, .1, .15, .2, .3, .5, 1, 2},
		}, []string{"op"}),
		hashBusy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authnzrv_password_hash_busy_total", Help: "Hashes refused because the memory budget stayed taken.",
		}, []string{"op"}),
		limiter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authnzrv_ratelimit_total", Help: "Rate-limit outcomes: admitted, limited, refused (by the policy), error (store unreachable).",
		}, []string{"result"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.decisions, m.decisionLatency, m.hashWait, m.hashRun, m.hashBusy, m.limiter,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the metrics live.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// RegisterDB adds the database pool's statistics.
func (m *Metrics) RegisterDB(db *sql.DB) {
	if m != nil {
		m.registry.MustRegister(collectors.NewDBStatsCollector(db, "authnzrv"))
	}
}

// RegisterRevision adds authnzrv_policy_revision_info{revision} = 1, read at
// each scrape.
func (m *Metrics) RegisterRevision(revision func() string) {
	if m != nil {
		m.registry.MustRegister(revisionCollector{revision})
	}
}

type revisionCollector struct{ revision func() string }

var revisionDesc = prometheus.NewDesc("authnzrv_policy_revision_info", "The active policy revision.", []string{"revision"}, nil)

func (c revisionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- revisionDesc }

func (c revisionCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(revisionDesc, prometheus.GaugeValue, 1, c.revision())
}

// ObserveHash records one argon2 hash (password.Options.Observe).
func (m *Metrics) ObserveHash(op string, wait, run time.Duration, err error) {
	if m == nil {
		return
	}
	m.hashWait.WithLabelValues(op).Observe(wait.Seconds())
	if err != nil {
		m.hashBusy.WithLabelValues(op).Inc()
		return
	}
	m.hashRun.WithLabelValues(op).Observe(run.Seconds())
}

func (m *Metrics) request(request, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(request, outcome).Inc()
	m.latency.WithLabelValues(request).Observe(d.Seconds())
}

// ObserveDecision records a policy decision (engine.Observer).
func (m *Metrics) ObserveDecision(kind string, allowed bool, err error, d time.Duration) {
	if m == nil {
		return
	}
	result := "denied"
	switch {
	case err != nil:
		result = "error"
	case allowed:
		result = "allowed"
	}
	m.decisions.WithLabelValues(kind, result).Inc()
	m.decisionLatency.WithLabelValues(kind).Observe(d.Seconds())
}

func (m *Metrics) limit(result string) {
	if m != nil {
		m.limiter.WithLabelValues(result).Inc()
	}
}

// requestLabel bounds the request label to the known request types.
func (s *Server) requestLabel(request string) string {
	if _, ok := s.requests[request]; ok || request == "health" {
		return request
	}
	if strings.TrimSpace(request) == "" {
		return "none"
	}
	return "unknown"
}
