package server

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"acceso/answer"
	"acceso/rules"
	"acceso/store"
)

// metrics are the server's Prometheus metrics, on a registry the server
// owns: nothing is registered globally, so two servers in one process (as
// in tests) count separately.
type metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	evaluations *prometheus.CounterVec
	evalLatency prometheus.Histogram
	findings    *prometheus.CounterVec
	shed        prometheus.Counter
	// outcomes and causes remember the counters of evaluations and
	// findings by their label value (counterOf).
	outcomes, causes sync.Map
}

// Label values of acceso_evaluations_total beyond the decision outcomes.
const outcomeEvaluationFailed = "evaluation_failed"

// newMetrics registers the server's metrics, the Go runtime's and the
// process's, and the revision the engine is serving, read at each scrape
// so that a publish needs no bookkeeping.
func newMetrics(engine *rules.Engine) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acceso_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "acceso_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acceso_evaluations_total",
			Help: "Rule evaluations, by outcome (causes_found, needs_answers, no_known_cause or evaluation_failed).",
		}, []string{"outcome"}),
		evalLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "acceso_evaluation_duration_seconds",
			Help:    "Time to decide one request: validation, rule evaluation and localization.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "acceso_findings_total",
			Help: "Likely causes found, by cause id.",
		}, []string{"cause"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "acceso_evaluations_shed_total",
			Help: "Requests answered 503 overloaded because every evaluation slot was taken.",
		}),
	}
	m.registry.MustRegister(
		m.requests, m.latency, m.evaluations, m.evalLatency, m.findings, m.shed,
		newRevisionCollector(engine),
		cacheCounter(engine, "acceso_decision_cache_hits_total",
			"Requests answered with a decision the rules being served had made before, since they were published.",
			func(hits, _ uint64) uint64 { return hits }),
		cacheCounter(engine, "acceso_decision_cache_misses_total",
			"Requests the rules being served evaluated and kept for reuse, since they were published.",
			func(_, misses uint64) uint64 { return misses }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// cacheCounter reports one of the decision cache's counts of the rules
// being served (rules.Policy.CacheStats). A publish starts them again from
// zero, which Prometheus reads as a counter reset.
func cacheCounter(engine *rules.Engine, name, help string, pick func(hits, misses uint64) uint64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
		p := engine.Current()
		if p == nil {
			return 0
		}
		return float64(pick(p.CacheStats()))
	})
}

// watchEvaluations reports how many evaluation slots are taken, and how
// many there are, at each scrape.
func (m *metrics) watchEvaluations(e *evaluations) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "acceso_evaluations_in_flight",
			Help: "Evaluations running now.",
		}, func() float64 { return float64(e.inUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "acceso_evaluations_max",
			Help: "Evaluations allowed at once; requests beyond are answered 503 overloaded.",
		}, func() float64 { return float64(cap(e.slots)) }),
	)
}

// watchDecisions reports the decisions kept for look-up: stored, dropped
// (answered with a reference yet not stored) and waiting.
func (m *metrics) watchDecisions(w *store.DecisionWriter) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "acceso_decisions_dropped_total",
			Help: "Decisions answered with a reference but not kept for look-up: the queue waiting for the database was full, or the database refused them.",
		}, func() float64 { return float64(w.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "acceso_decisions_stored_total",
			Help: "Decisions written to the database for look-up by their reference.",
		}, func() float64 { return float64(w.Stored()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "acceso_decisions_waiting",
			Help: "Decisions waiting in memory to be written to the database.",
		}, func() float64 { return float64(w.Waiting()) }),
	)
}

// request counts one answered HTTP request. route is the route pattern,
// never the raw path, so the number of series stays bounded.
func (m *metrics) request(route, method string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(took.Seconds())
}

// evaluation counts one decision: its outcome and each likely cause. The
// API and the help site both count their decisions here, so that every
// surface asking the engine for contacts is counted the same way.
func (m *metrics) evaluation(outcome string, findings []answer.Finding, took time.Duration) {
	counterOf(m.evaluations, &m.outcomes, outcome).Inc()
	m.evalLatency.Observe(took.Seconds())
	for _, f := range findings {
		counterOf(m.findings, &m.causes, f.ID).Inc()
	}
}

// counterOf is vec's counter for the label value, remembered in seen:
// WithLabelValues hashes the value and looks it up under a lock on every
// call, which was most of counting a decision. The values are outcomes
// and cause ids, as many as vec holds anyway.
func counterOf(vec *prometheus.CounterVec, seen *sync.Map, value string) prometheus.Counter {
	if c, ok := seen.Load(value); ok {
		return c.(prometheus.Counter)
	}
	c := vec.WithLabelValues(value)
	seen.Store(value, c)
	return c
}

// evaluationFailed counts an evaluation that failed or ran past its deadline.
func (m *metrics) evaluationFailed(took time.Duration) {
	m.evaluations.WithLabelValues(outcomeEvaluationFailed).Inc()
	m.evalLatency.Observe(took.Seconds())
}

// handler serves the registry in the Prometheus exposition format at
// GET /metrics, and nothing else.
func (m *metrics) handler() http.Handler {
	h := promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.registry, // counts its own scrapes and errors
		EnableOpenMetrics: false,
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	return mux
}

// revisionCollector reports acceso_policy_revision{revision="…"} 1 for the
// revision the engine serves at scrape time.
type revisionCollector struct {
	engine *rules.Engine
	desc   *prometheus.Desc
}

func newRevisionCollector(engine *rules.Engine) revisionCollector {
	return revisionCollector{engine: engine, desc: prometheus.NewDesc("acceso_policy_revision",
		"The revision of the rules being served (always 1, with the revision as a label).",
		[]string{"revision"}, nil)}
}

// Describe implements prometheus.Collector.
func (r revisionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- r.desc }

// Collect implements prometheus.Collector.
func (r revisionCollector) Collect(ch chan<- prometheus.Metric) {
	if p := r.engine.Current(); p != nil {
		ch <- prometheus.MustNewConstMetric(r.desc, prometheus.GaugeValue, 1, p.Revision)
	}
}

// reloadMetrics tell an operator whether the rules folder's last change
// was served.
type reloadMetrics struct {
	failures prometheus.Counter
	ok       prometheus.Gauge
}

// newReloadMetrics registers the reload metrics on reg. A registry takes
// them once: New calls it, not each Run.
func newReloadMetrics(reg prometheus.Registerer) *reloadMetrics {
	m := &reloadMetrics{
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "acceso_rules_reload_failures_total",
			Help: "Changes to the --rules folder that were refused; the last good rules kept serving.",
		}),
		ok: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "acceso_rules_reload_ok",
			Help: "1 when the --rules folder's current files are being served, 0 when its last change was refused.",
		}),
	}
	reg.MustRegister(m.failures, m.ok)
	m.ok.Set(1) // the server started on this folder's rules
	return m
}

// record counts one reload of the rules folder.
func (m *reloadMetrics) record(ok bool) {
	if ok {
		m.ok.Set(1)
		return
	}
	m.failures.Inc()
	m.ok.Set(0)
}
