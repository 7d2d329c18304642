package main

import (
	"context"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/sqlc"
)

// benchStack is the e2e tests' stack (newStackAt in e2e_test.go) for a *testing.B with one
// salon activated, whose entity webhook URL is webhookURL.
type benchStack struct {
	*stack
	b          *testing.B
	salon      int64
	webhookURL string // the activation callback's webhook URL (carries the salon's secret)
}

// newBenchStack builds the stack and activates one salon. hooks, when not nil, is the HTTP
// client the fake sends its entity webhooks with.
//
// One deliberate difference from production: the product's YClients client gets an unlimited
// rate limiter instead of the process-wide 5 requests/s one (YClients' per-IP limit). The fake
// allows 1000/s; with the real limiter every booking message, which re-reads its record from
// YClients just before sending, would queue behind a 5/s bucket, and the benchmarks would
// measure that bucket, not the pipeline (like message pacing, it is disabled for the
// measurement).
func newBenchStack(b *testing.B, hooks *http.Client) *benchStack {
	b.Helper()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		b.Skip("TEMPORAL_ADDRESS is not set: run through `make bench`, which starts a Temporal dev server")
	}
	st := newStackAt(b, addr, func(s *stackSetup) { s.fakeHooks = hooks; s.unlimitedYClients = true })
	s := &benchStack{stack: st, b: b, salon: st.moscow}
	s.activate(s.salon)
	s.webhookURL = s.stack.webhookURL(s.salon)
	return s
}

// noPacingNoCap turns message pacing and the daily cap off for the salon: the benchmarks
// measure the pipeline, not the anti-ban policy (which has tests of its own). The e2e tests'
// noPacing keeps the default cap of 300 a day, which a 500-booking run would hit.
func (s *benchStack) noPacingNoCap() {
	s.b.Helper()
	require.NoError(s.b, s.app.Store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{
		SalonID: s.salon, ReminderDayHour: 18, QuietFromMinute: 21 * 60, QuietToMinute: 9 * 60,
		PerMinute: 0, DailyCap: 0, Templates: []byte("{}")}))
}

// inboxPending is how many webhooks the dispatcher has not handed on yet.
func (s *benchStack) inboxPending() int64 {
	n, err := s.app.Store.CountInboxByState(context.Background(), sqlc.CountInboxByStateParams{SalonID: s.salon, State: "pending"})
	require.NoError(s.b, err)
	return n
}

// benchLatencies summarises one closed-loop run.
type benchLatencies struct {
	n        int
	wall     time.Duration
	p50, p99 time.Duration
	max      time.Duration
}

func (l benchLatencies) rps() float64 { return float64(l.n) / l.wall.Seconds() }

func benchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchSummarise(lat []time.Duration, wall time.Duration) benchLatencies {
	s := slices.Clone(lat)
	slices.Sort(s)
	return benchLatencies{n: len(s), wall: wall, p50: benchRank(s, 0.50), p99: benchRank(s, 0.99), max: s[len(s)-1]}
}

// benchRank is the p-quantile of sorted, by nearest rank.
func benchRank[T any](sorted []T, p float64) T {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
