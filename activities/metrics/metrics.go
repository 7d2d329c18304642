// Package metrics holds AI Admin's own Prometheus metrics (names aiadmin_…) and the small
// functions that record them. It is a leaf: the HTTP layer, the activities, the ledger, the
// YClients client and the dispatcher record through it, and each process registers its
// collectors once into its own registry (NewRegistry). Workflow code never records here:
// it must stay deterministic.
//
// Labels take bounded values only: route templates (never a raw path, a query or a secret),
// status codes, message kinds, outcomes and reasons from closed sets (free-text reasons are
// mapped to a few words, see SkipReason). A value that does not look like a label word is
// recorded as "other".
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const ns = "aiadmin"

// Histogram buckets, in seconds.
var (
	requestBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	lagBuckets     = []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800}
	pacingBuckets  = []float64{0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
)

var (
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "http_requests_total",
		Help: "HTTP requests answered, by method, route template and status code."}, []string{"method", "route", "status"})
	httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by method and route template (websocket upgrades left out).", Buckets: requestBuckets},
		[]string{"method", "route"})
	websocketsOpen = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "websockets_open",
		Help: "Connect pages' websockets open in this process."})

	inboxRows = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "inbox_rows_total",
		Help: "Webhook inbox rows the dispatcher finished or had refused, by state (processed, ignored, failed, duplicate, dead, refused)."},
		[]string{"state"})
	dispatcherLag = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "dispatcher_lag_seconds",
		Help: "Time from a webhook's arrival in the inbox to its hand-on to Temporal.", Buckets: lagBuckets})

	messages = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "messages_total",
		Help: "Messages to clients and owners by kind and outcome (sent, skipped, failed, paused) with a reason from a closed set."},
		[]string{"kind", "outcome", "reason"})
	pacingDelay = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "send_pacing_delay_seconds",
		Help:    "How much later than asked a message's send slot is, because of the salon's messages-per-minute pacing.",
		Buckets: pacingBuckets})

	pairingAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "pairing_attempts_total",
		Help: "WhatsApp pairing attempts by method (qr, phone) and outcome (success, timeout, error, interrupted, cancelled)."},
		[]string{"method", "outcome"})
	linkEvents = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "whatsapp_link_events_total",
		Help: "WhatsApp link changes reported by the connections this process owns, by state."}, []string{"state"})

	yclientsRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "yclients_requests_total",
		Help: `YClients API calls by method, endpoint template and status code ("error": no answer).`},
		[]string{"method", "endpoint", "status"})
	yclientsDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "yclients_request_duration_seconds",
		Help: "Time of one YClients API call (one attempt), by method and endpoint template.", Buckets: requestBuckets},
		[]string{"method", "endpoint"})
)

// collectorsOf lists the package's collectors, registered by Register.
func collectorsOf() []prometheus.Collector {
	return []prometheus.Collector{httpRequests, httpDuration, websocketsOpen, inboxRows, dispatcherLag, messages,
		pacingDelay, pairingAttempts, linkEvents, yclientsRequests, yclientsDuration}
}

// NewRegistry is a process's registry: the Go runtime's and the process's own metrics and
// this package's.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(collectorsOf()...)
	return reg
}

// HTTPRequest records one answered request. route is the matched route template ("" for
// none); an upgraded request (websocket) is counted but its duration, the connection's life,
// is left out.
func HTTPRequest(method, route string, status int, took time.Duration, upgraded bool) {
	if route == "" {
		route = "unmatched"
	}
	method = httpMethod(method)
	httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	if !upgraded {
		httpDuration.WithLabelValues(method, route).Observe(took.Seconds())
	}
}

// WebsocketOpened and WebsocketClosed count the connect pages' open websockets.
func WebsocketOpened() { websocketsOpen.Inc() }

// WebsocketClosed: see WebsocketOpened.
func WebsocketClosed() { websocketsOpen.Dec() }

// InboxRow records how the dispatcher finished an inbox row (or that Temporal refused it:
// "refused"); lag, for a row handed on, is the time since it arrived.
func InboxRow(state string, handedOn bool, lag time.Duration) {
	inboxRows.WithLabelValues(word(state)).Inc()
	if handedOn {
		dispatcherLag.Observe(lag.Seconds())
	}
}

// Message records what became of a message: outcome sent, skipped, failed or paused, with a
// reason word ("" for sent).
func Message(kind, outcome, reason string) {
	if reason == "" {
		reason = "none"
	}
	messages.WithLabelValues(word(kind), word(outcome), word(reason)).Inc()
}

// PacingDelay records how much later than asked a send slot was reserved.
func PacingDelay(d time.Duration) { pacingDelay.Observe(max(d, 0).Seconds()) }

// PairingAttempt records a finished pairing attempt.
func PairingAttempt(method, outcome string) {
	pairingAttempts.WithLabelValues(word(method), word(outcome)).Inc()
}

// LinkEvent records a WhatsApp link change reported by a connection.
func LinkEvent(state string) { linkEvents.WithLabelValues(word(state)).Inc() }

// YClientsCall records one YClients attempt: status is the HTTP status, 0 when no answer came.
func YClientsCall(method, endpoint string, status int, took time.Duration) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	method = httpMethod(method)
	yclientsRequests.WithLabelValues(method, endpoint, code).Inc()
	yclientsDuration.WithLabelValues(method, endpoint).Observe(took.Seconds())
}

func httpMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "OTHER"
}

// word keeps label values that are short lower-case words (letters, digits, '_'), and
// turns anything else into "other".
func word(s string) string {
	if s == "" || len(s) > 40 {
		return "other"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return "other"
		}
	}
	return s
}
