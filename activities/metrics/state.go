package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	shardOwnedDesc = prometheus.NewDesc(ns+"_whatsapp_shard_owned",
		"1 for each WhatsApp shard this process owns now, 0 for the others.", []string{"shard"}, nil)
	shardsDesc = prometheus.NewDesc(ns+"_whatsapp_shards",
		"WHATSAPP_SHARDS: the number of WhatsApp shards every worker shares.", nil, nil)
	dispatcherActiveDesc = prometheus.NewDesc(ns+"_dispatcher_active",
		"1 while this process holds the dispatcher lock and works the webhook inbox.", nil, nil)
)

// WorkerState reports a worker process's live state: the WhatsApp shards it owns (of n) and
// whether its dispatcher is the working one. Register it in the worker's registry.
func WorkerState(n int, owned func() []int, dispatcherActive func() bool) prometheus.Collector {
	return workerState{n: n, owned: owned, active: dispatcherActive}
}

type workerState struct {
	n      int
	owned  func() []int
	active func() bool
}

func (w workerState) Describe(ch chan<- *prometheus.Desc) {
	ch <- shardOwnedDesc
	ch <- shardsDesc
	ch <- dispatcherActiveDesc
}

func (w workerState) Collect(ch chan<- prometheus.Metric) {
	owned := make([]float64, w.n)
	for _, k := range w.owned() {
		if k >= 0 && k < w.n {
			owned[k] = 1
		}
	}
	for k, v := range owned {
		ch <- prometheus.MustNewConstMetric(shardOwnedDesc, prometheus.GaugeValue, v, strconv.Itoa(k))
	}
	ch <- prometheus.MustNewConstMetric(shardsDesc, prometheus.GaugeValue, float64(w.n))
	ch <- prometheus.MustNewConstMetric(dispatcherActiveDesc, prometheus.GaugeValue, boolValue(w.active()))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Stats are the product's numbers read from the database and Temporal's visibility: they
// are the same whichever process reads them, so they are cached (StatsCollector).
type Stats struct {
	// Installations counts installations by install status (companies.install_status).
	Installations map[string]int64
	// InboxPending and InboxDead count the webhook inbox's waiting and dead rows;
	// OldestPending is when the oldest waiting one arrived (zero when none waits).
	InboxPending, InboxDead int64
	OldestPending           time.Time
	// Links counts running installations by the WhatsApp link state they last reported
	// (logged_out, temp_banned, ...); nil when visibility could not be asked.
	Links map[string]int64
}

var (
	installationsDesc = prometheus.NewDesc(ns+"_installations",
		"Installations by install status (from the database).", []string{"status"}, nil)
	inboxPendingDesc = prometheus.NewDesc(ns+"_inbox_pending",
		"Webhook inbox rows waiting to be handed on to Temporal.", nil, nil)
	inboxDeadDesc = prometheus.NewDesc(ns+"_inbox_dead",
		"Webhook inbox rows refused too often (dead letters): an operator looks at them.", nil, nil)
	inboxAgeDesc = prometheus.NewDesc(ns+"_inbox_oldest_pending_age_seconds",
		"Age of the oldest webhook inbox row still waiting (0 when none waits).", nil, nil)
	linksDesc = prometheus.NewDesc(ns+"_whatsapp_links",
		"Running installations by the WhatsApp link state they last reported (from Temporal visibility).",
		[]string{"state"}, nil)
	statsAgeDesc = prometheus.NewDesc(ns+"_stats_age_seconds",
		"Age of the cached database and visibility numbers above.", nil, nil)
)

// StatsCollector serves Stats read by load at most once per ttl, on scrape: a scrape never
// waits more than timeout for them, and when they cannot be read the last ones are served
// (with their age).
func StatsCollector(load func(context.Context) (Stats, error), ttl, timeout time.Duration, log *slog.Logger) prometheus.Collector {
	return &statsCollector{load: load, ttl: ttl, timeout: timeout, log: log, now: time.Now}
}

type statsCollector struct {
	load    func(context.Context) (Stats, error)
	ttl     time.Duration
	timeout time.Duration
	log     *slog.Logger
	now     func() time.Time

	mu     sync.Mutex
	stats  Stats
	at     time.Time // when stats were read; zero: never
	tried  time.Time // the last attempt
	failed bool
}

func (s *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{installationsDesc, inboxPendingDesc, inboxDeadDesc, inboxAgeDesc, linksDesc, statsAgeDesc} {
		ch <- d
	}
}

func (s *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st, at := s.current()
	if at.IsZero() {
		return
	}
	now := s.now()
	for status, n := range byWord(st.Installations) {
		ch <- prometheus.MustNewConstMetric(installationsDesc, prometheus.GaugeValue, float64(n), status)
	}
	ch <- prometheus.MustNewConstMetric(inboxPendingDesc, prometheus.GaugeValue, float64(st.InboxPending))
	ch <- prometheus.MustNewConstMetric(inboxDeadDesc, prometheus.GaugeValue, float64(st.InboxDead))
	age := 0.0
	if !st.OldestPending.IsZero() {
		age = max(now.Sub(st.OldestPending).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(inboxAgeDesc, prometheus.GaugeValue, age)
	for state, n := range byWord(st.Links) {
		ch <- prometheus.MustNewConstMetric(linksDesc, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(statsAgeDesc, prometheus.GaugeValue, now.Sub(at).Seconds())
}

// byWord sums counts whose keys become the same label word.
func byWord(counts map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(counts))
	for k, n := range counts {
		out[word(k)] += n
	}
	return out
}

// current returns the cached stats, reading them first when they are older than ttl (and
// the last attempt too: a failing source is asked once per ttl, not on every scrape).
func (s *statsCollector) current() (Stats, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.tried) < s.ttl {
		return s.stats, s.at
	}
	s.tried = now
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	st, err := s.load(ctx)
	if err != nil {
		if !s.failed && s.log != nil {
			s.log.Warn("metrics: cannot read the product's numbers; serving the last ones", "err", err)
		}
		s.failed = true
		return s.stats, s.at
	}
	if s.failed && s.log != nil {
		s.log.Info("metrics: the product's numbers can be read again")
	}
	s.failed = false
	s.stats, s.at = st, now
	return st, now
}
