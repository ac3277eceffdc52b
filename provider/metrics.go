package provider

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idp/idp/storage"
)

// Metrics are the Prometheus metrics of one idp process. A nil
// *Metrics records nothing.
type Metrics struct {
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	tokensIssued    *prometheus.CounterVec
	securityEvents  *prometheus.CounterVec
	signInFailures  prometheus.Counter
	tripwireCatches prometheus.Counter
	dbDuration      *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idp_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"endpoint", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "idp_http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"endpoint"}),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idp_tokens_issued_total",
			Help: "Token responses by grant type.",
		}, []string{"grant_type"}),
		securityEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idp_security_events_total",
			Help: "Security events recorded, by kind.",
		}, []string{"kind"}),
		signInFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "idp_sign_in_failures_total",
			Help: "Failed sign-ins, throttled ones included.",
		}),
		tripwireCatches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "idp_tripwire_catches_total",
			Help: "Credentials caught on the plain-HTTP tripwire.",
		}),
		dbDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "idp_db_query_duration_seconds",
			Help:    "Database statement duration by kind of statement.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}, []string{"operation"}),
	}
	reg.MustRegister(m.requests, m.requestDuration, m.tokensIssued, m.securityEvents,
		m.signInFailures, m.tripwireCatches, m.dbDuration)
	return m
}

// observeRequest records one HTTP request.
func (m *Metrics) observeRequest(endpoint string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(endpoint).Observe(d.Seconds())
}

// tokenIssued counts a token response.
func (m *Metrics) tokenIssued(grantType string) {
	if m == nil {
		return
	}
	m.tokensIssued.WithLabelValues(grantType).Inc()
}

// ObserveQuery records one database statement; storage.Options calls it.
func (m *Metrics) ObserveQuery(operation string, d time.Duration) {
	if m == nil {
		return
	}
	m.dbDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// EventRecorder stores security events.
type EventRecorder interface {
	RecordEvent(ctx context.Context, e *storage.SecurityEvent) error
}

// CountingRecorder wraps an EventRecorder and counts each event it
// stores, so the metrics and the stored events never disagree.
type CountingRecorder struct {
	Next    EventRecorder
	Metrics *Metrics
}

// RecordEvent stores e and counts it.
func (c *CountingRecorder) RecordEvent(ctx context.Context, e *storage.SecurityEvent) error {
	if m := c.Metrics; m != nil {
		m.securityEvents.WithLabelValues(string(e.Kind)).Inc()
		switch e.Kind {
		case storage.EventSignInFailed:
			m.signInFailures.Inc()
		case storage.EventTripwireCaught:
			m.tripwireCatches.Inc()
		}
	}
	return c.Next.RecordEvent(ctx, e)
}

// routeLabel returns the route pattern a request matched, a bounded
// label set, or "unmatched".
func routeLabel(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return "unmatched"
}
