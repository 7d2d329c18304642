package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/metrics/metricstest"
)

func TestLabelsStayBounded(t *testing.T) {
	before := metricstest.Value(t, "aiadmin_messages_total", map[string]string{"kind": "other", "outcome": "sent", "reason": "none"})
	metrics.Message("Confirmation «Анна»", "sent", "")
	metrics.Message("a/b", "sent", "")
	metrics.Message("confirmation_of_a_very_long_kind_name_that_goes_on_and_on", "sent", "")
	after := metricstest.Value(t, "aiadmin_messages_total", map[string]string{"kind": "other", "outcome": "sent", "reason": "none"})
	require.Equal(t, before+3, after, "values that are not label words: got %v more, want 3", after-before)

	route := map[string]string{"method": "OTHER", "route": "unmatched", "status": "404"}
	before = metricstest.Value(t, "aiadmin_http_requests_total", route)
	metrics.HTTPRequest("PROPFIND", "", 404, time.Millisecond, false)
	require.Equal(t, before+1, metricstest.Value(t, "aiadmin_http_requests_total", route))
}

func TestUpgradedRequestsHaveNoDuration(t *testing.T) {
	route := map[string]string{"method": "GET", "route": "/test/upgrade"}
	metrics.HTTPRequest("GET", "/test/upgrade", 101, time.Hour, true)
	require.Equal(t, 1.0, metricstest.Value(t, "aiadmin_http_requests_total", route))
	require.Zero(t, metricstest.Value(t, "aiadmin_http_request_duration_seconds", route),
		"a websocket's life is not a request duration")
	metrics.HTTPRequest("GET", "/test/upgrade", 200, time.Millisecond, false)
	require.Equal(t, 1.0, metricstest.Value(t, "aiadmin_http_request_duration_seconds", route))
}

func TestReasons(t *testing.T) {
	// The reasons activities/messaging.go gives for a skipped message, each its own word.
	for text, want := range map[string]string{
		"expired": "expired", "no valid client phone": "no_phone", "opted_out": "opted_out", "daily_cap": "daily_cap",
		"welcome turned off": "turned_off", "record cancelled": "record_cancelled", "record rescheduled": "record_rescheduled",
		"record changed again": "record_changed", "record is not cancelled": "record_not_cancelled",
		"something new 79161234567": "other",
	} {
		require.Equal(t, want, metrics.SkipReason(text), "SkipReason(%q)", text)
	}
	for text, want := range map[string]string{
		"salon frozen": "salon_inactive", "whatsapp logged_out": "whatsapp_not_linked",
		"send: not connected to +7916…": "not_connected",
	} {
		require.Equal(t, want, metrics.PauseReason(text), "PauseReason(%q)", text)
	}
}

func TestWorkerState(t *testing.T) {
	var active atomic.Bool
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.WorkerState(4, func() []int { return []int{1, 3, 9} }, active.Load))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	fams, _ := metricstest.Scrape(t, srv.URL)
	for shard, want := range map[string]float64{"0": 0, "1": 1, "2": 0, "3": 1} {
		v, ok := fams.Value("aiadmin_whatsapp_shard_owned", map[string]string{"shard": shard})
		require.True(t, ok, "shard %s reported", shard)
		require.Equal(t, want, v, "shard %s: got %v want %v", shard, v, want)
	}
	_, ok := fams.Value("aiadmin_whatsapp_shard_owned", map[string]string{"shard": "9"})
	require.False(t, ok, "a shard beyond WHATSAPP_SHARDS is no label")
	v, _ := fams.Value("aiadmin_whatsapp_shards", nil)
	require.Equal(t, 4.0, v)
	v, _ = fams.Value("aiadmin_dispatcher_active", nil)
	require.Equal(t, 0.0, v)
	active.Store(true)
	fams, _ = metricstest.Scrape(t, srv.URL)
	v, _ = fams.Value("aiadmin_dispatcher_active", nil)
	require.Equal(t, 1.0, v)
}

// TestStatsCollector: the numbers are read at most once per TTL however often Prometheus
// scrapes; a failing source is asked once per TTL too, and the last numbers are served.
func TestStatsCollector(t *testing.T) {
	var loads atomic.Int64
	var fail atomic.Bool
	oldest := time.Now().Add(-90 * time.Second)
	load := func(context.Context) (metrics.Stats, error) {
		n := loads.Add(1)
		if fail.Load() {
			return metrics.Stats{}, errors.New("database down")
		}
		return metrics.Stats{Installations: map[string]int64{"active": n, "frozen": 1}, InboxPending: 3, InboxDead: 2,
			OldestPending: oldest, Links: map[string]int64{"logged_out": 1}}, nil
	}
	const ttl = 300 * time.Millisecond
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.StatsCollector(load, ttl, time.Second, nil))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	value := func(f metricstest.Families, name string, labels map[string]string) float64 {
		v, ok := f.Value(name, labels)
		require.True(t, ok, "%s %v reported", name, labels)
		return v
	}

	f, _ := metricstest.Scrape(t, srv.URL)
	metricstest.Scrape(t, srv.URL)
	require.EqualValues(t, 1, loads.Load(), "two scrapes within the TTL: got %d loads, want 1", loads.Load())
	require.Equal(t, 1.0, value(f, "aiadmin_installations", map[string]string{"status": "active"}))
	require.Equal(t, 1.0, value(f, "aiadmin_installations", map[string]string{"status": "frozen"}))
	require.Equal(t, 3.0, value(f, "aiadmin_inbox_pending", nil))
	require.Equal(t, 2.0, value(f, "aiadmin_inbox_dead", nil))
	require.InDelta(t, 90, value(f, "aiadmin_inbox_oldest_pending_age_seconds", nil), 5)
	require.Equal(t, 1.0, value(f, "aiadmin_whatsapp_links", map[string]string{"state": "logged_out"}))

	time.Sleep(ttl)
	f, _ = metricstest.Scrape(t, srv.URL)
	require.EqualValues(t, 2, loads.Load())
	require.Equal(t, 2.0, value(f, "aiadmin_installations", map[string]string{"status": "active"}), "read again after the TTL")

	fail.Store(true)
	time.Sleep(ttl)
	f, _ = metricstest.Scrape(t, srv.URL)
	metricstest.Scrape(t, srv.URL)
	require.EqualValues(t, 3, loads.Load(), "a failing source is asked once per TTL: got %d loads, want 3", loads.Load())
	require.Equal(t, 2.0, value(f, "aiadmin_installations", map[string]string{"status": "active"}), "the last numbers are served")
	require.GreaterOrEqual(t, value(f, "aiadmin_stats_age_seconds", nil), ttl.Seconds(), "with their age")
}
