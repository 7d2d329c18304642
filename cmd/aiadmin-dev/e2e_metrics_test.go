package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/metrics/metricstest"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// getJSON GETs url and decodes its JSON answer.
func getJSON(t testing.TB, url string) (int, map[string]any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(raw, &body), "GET %s: %s", url, raw)
	return resp.StatusCode, body
}

// TestMetricsMoveWithInstallationAndBooking: one installation and one booking through the
// whole stack move the product's metrics on the api's /metrics and the worker's ops
// listener, the Temporal SDK's metrics are there, and the worker's health names its shards
// and its dispatcher.
func TestMetricsMoveWithInstallationAndBooking(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	ops := "http://" + s.cfg.OpsAddr
	// The product's counters are the process's (other stacks of this test binary add to
	// them): compare with their values now.
	type series struct {
		name   string
		labels map[string]string
		min    float64 // at least this much more afterwards
	}
	moved := []series{
		{"aiadmin_pairing_attempts_total", map[string]string{"method": "qr", "outcome": "success"}, 1},
		{"aiadmin_messages_total", map[string]string{"kind": "welcome", "outcome": "sent"}, 1},
		{"aiadmin_messages_total", map[string]string{"kind": "confirmation", "outcome": "sent"}, 1},
		{"aiadmin_inbox_rows_total", map[string]string{"state": "processed"}, 1},
		{"aiadmin_dispatcher_lag_seconds", nil, 1},
		{"aiadmin_send_pacing_delay_seconds", nil, 1},
		{"aiadmin_yclients_requests_total", map[string]string{"endpoint": "/marketplace/partner/callback/redirect", "method": "POST"}, 1},
		{"aiadmin_yclients_requests_total", map[string]string{"endpoint": "/api/v1/records/{id}", "method": "GET", "status": "200"}, 1},
		{"aiadmin_http_requests_total", map[string]string{"method": "POST", "route": "/webhook/yclients/:salon_id/:secret", "status": "200"}, 1},
		{"aiadmin_http_requests_total", map[string]string{"method": "GET", "route": "/marketplace/register", "status": "200"}, 1},
	}
	before := make([]float64, len(moved))
	for i, m := range moved {
		before[i] = metricstest.Value(t, m.name, m.labels)
	}

	s.activate(salon)
	_, local := localIn(t, "Europe/Moscow", 3, "14:30")
	_, err := s.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: staffOf(t, s.fake, salon), ServiceIDs: []int64{serviceOf(t, s.fake, salon)},
		Client: &yclientsfake.ClientInput{Name: "Анна", Phone: "+" + clientPhone}, Datetime: local})
	require.NoError(t, err)
	s.waitClientTexts(salon, 1)
	require.Eventually(t, func() bool { return s.inboxDone(salon) }, 10*time.Second, 20*time.Millisecond)

	// A message is counted just after the phone has it: scrape until everything has moved.
	var apiFams, opsFams metricstest.Families
	var apiPage string
	notMoved := func() []string {
		var out []string
		for i, m := range moved {
			for where, fams := range map[string]metricstest.Families{"api": apiFams, "ops": opsFams} {
				if v, _ := fams.Value(m.name, m.labels); v-before[i] < m.min {
					out = append(out, fmt.Sprintf("%s: %s %v: %v → %v", where, m.name, m.labels, before[i], v))
				}
			}
		}
		return out
	}
	retryFor(10*time.Second, func() bool {
		apiFams, apiPage = metricstest.Scrape(t, s.cfg.PublicURL+"/metrics")
		opsFams, _ = metricstest.Scrape(t, ops+"/metrics")
		return len(notMoved()) == 0
	})
	require.Empty(t, notMoved(), "metrics that did not move")
	// Read from the database (cached): this stack's own database.
	for name, labels := range map[string]map[string]string{
		"aiadmin_installations": {"status": "active"}, "aiadmin_inbox_pending": nil, "aiadmin_inbox_dead": nil,
		"aiadmin_inbox_oldest_pending_age_seconds": nil, "aiadmin_whatsapp_links": {"state": "logged_out"},
	} {
		v, ok := opsFams.Value(name, labels)
		require.True(t, ok, "%s %v reported", name, labels)
		if name == "aiadmin_installations" {
			require.Equal(t, 1.0, v, "one active installation in this stack's database")
		}
	}
	// The worker's own state.
	for shard := range 4 {
		v, _ := opsFams.Value("aiadmin_whatsapp_shard_owned", map[string]string{"shard": strconv.Itoa(shard)})
		require.Equal(t, 1.0, v, "shard %d owned by the only worker", shard)
	}
	v, _ := opsFams.Value("aiadmin_dispatcher_active", nil)
	require.Equal(t, 1.0, v)
	// The Temporal SDK's metrics, through its tally handler (reported every second).
	sdk := map[string]map[string]string{
		"temporal_workflow_task_execution_latency_seconds":         {"workflow_type": "booking"},
		"temporal_workflow_task_schedule_to_start_latency_seconds": {"workflow_type": "installation"},
		"temporal_activity_execution_latency_seconds":              {"activity_type": "send_message"},
		"temporal_activity_schedule_to_start_latency_seconds":      {"activity_type": "pair_whatsapp"},
		"temporal_sticky_cache_size":                               nil,
		"temporal_request_total":                                   {"operation": "SignalWithStartWorkflowExecution"},
	}
	missing := func(fams metricstest.Families) []string {
		var out []string
		for name, labels := range sdk {
			if v, _ := fams.Value(name, labels); v <= 0 {
				out = append(out, fmt.Sprint(name, labels))
			}
		}
		return out
	}
	retryFor(5*time.Second, func() bool {
		opsFams, _ = metricstest.Scrape(t, ops+"/metrics")
		return len(missing(opsFams)) == 0
	})
	require.Empty(t, missing(opsFams), "SDK metrics missing on the worker's /metrics")
	// The webhook URL's secret never reaches a label.
	u, err := url.Parse(s.webhookURL(salon))
	require.NoError(t, err)
	secret := u.Path[strings.LastIndex(u.Path, "/")+1:]
	require.NotEmpty(t, secret)
	require.NotContains(t, apiPage, secret)

	requireDashboardMetrics(t, opsFams)

	for _, path := range []string{"/healthz", "/readyz"} {
		status, body := getJSON(t, ops+path)
		require.Equal(t, http.StatusOK, status, "worker %s: %v", path, body)
		require.Equal(t, []any{0.0, 1.0, 2.0, 3.0}, body["shards_owned"], "worker %s: %v", path, body)
		require.Equal(t, true, body["dispatcher_active"], "worker %s: %v", path, body)
	}
	status, body := getJSON(t, ops+"/readyz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"postgresql": "ok", "polling": "ok"}, body["checks"])
}

// onFailureOnly are the dashboard's metrics that appear only once something fails.
var onFailureOnly = map[string]bool{
	"temporal_activity_execution_failed_total": true, "temporal_sticky_cache_miss_total": true,
	"temporal_request_failure_total": true,
}

var metricNameRE = regexp.MustCompile(`\b(aiadmin|temporal)_[a-z0-9_]+`)

// requireDashboardMetrics checks that every metric the Grafana dashboard queries is one the
// processes expose (fams: a worker's page after an installation and a booking).
func requireDashboardMetrics(t *testing.T, fams metricstest.Families) {
	t.Helper()
	raw, err := os.ReadFile("../aiadmin/grafana-dashboard.json")
	require.NoError(t, err)
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(raw, &dash), "the dashboard is JSON")
	queries := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			queries++
			for _, name := range metricNameRE.FindAllString(target.Expr, -1) {
				family := name
				for _, sfx := range []string{"_bucket", "_count", "_sum"} {
					family = strings.TrimSuffix(family, sfx)
				}
				_, exposed := fams[family]
				require.True(t, exposed || onFailureOnly[family], "panel %q queries %s, which no process exposes", p.Title, name)
			}
		}
	}
	require.Greater(t, queries, 20, "the dashboard's queries")
}

// retryFor calls done every 100 ms until it returns true or d has passed.
func retryFor(d time.Duration, done func() bool) {
	deadline := time.Now().Add(d)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
}
