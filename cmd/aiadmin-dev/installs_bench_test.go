package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/history/v1"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/workflows"
)

// P2's size (AIADMIN_BENCH_OWNERS) and its YClients budget.
const (
	waveOwnersDefault = 500
	waveYClientsRPS   = 5.0
	waveTimeout       = 20 * time.Minute // one owner's patience, at most
)

// BenchmarkInstallWave (P2) has K owners (AIADMIN_BENCH_OWNERS, default 500) click
// «Подключить» at once on the real stack, with the product's own YClients client and its
// limiter (the fake itself allows 1000/s; the line gives the highest rate it saw): each owner
// follows the marketplace redirect to our register page, opens the connect page's websocket,
// asks for a QR code and scans the first one shown on the simulated phone, until the page
// says active; an error page or frame is counted and the owner tries again a second later.
// It prints the P2 line: time to first QR and to active (p50, p99), the errors owners saw,
// callbacks and welcomes, the wave's duration against the YClients calls it made ÷ 5 req/s,
// and against bare workflows with the same number of no-op activities started at once on the
// same server in the same run. It fails only when an activation callback or a welcome is
// missing for an active salon, or doubled. With AIADMIN_BENCH_CLUSTER=1 the owners install
// through the cluster's proxy, its processes sharing the cluster-wide YClients budget, and the
// bare workflows run on the cluster's Temporal server.
func BenchmarkInstallWave(b *testing.B) {
	k := benchEnvInt(b, "AIADMIN_BENCH_OWNERS", waveOwnersDefault)
	s := installStackFor(b)
	skel := startBenchSkeleton(b, s.app.Temporal)
	var w waveResult
	round := 0
	for b.Loop() {
		round++
		w = s.installWave(b, k, round)
		w.bare = skel.runChains(b, round, k, w.activities)
	}
	b.StopTimer()
	w.print(b, k)
}

// waveResult is what one wave showed.
type waveResult struct {
	owners     []*benchOwner
	wall       time.Duration  // from the clicks to the last owner's page saying active
	serverErrs map[string]int // the stack's log records that carry an error, by message (nil: not read)
	calls      int            // YClients API requests made during the wave
	byEndpoint map[string]int // those requests by method and path, ids as {id}
	maxRate    float64        // the highest YClients request rate over 1 s windows
	activities int            // activities one installation ran (its history, the median of a sample)
	notActive  int
	bare       chainRun // the bare workflows
	// turn is, per owner, from the click to the last answered read of the salon's integration
	// status before its connect page (the salon's turn in the budget); back, from that read
	// to the connect page (the queue page's return and the registration).
	turn, back []time.Duration
	ahead      []int         // per owner, the wave's YClients calls made before that read
	firstCall  time.Duration // from the clicks to the wave's first YClients call
}

func (s *stack) installWave(b *testing.B, k, round int) waveResult {
	owners := s.addBenchSalons(k, round*100_000)
	hc := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}, Transport: &http.Transport{MaxIdleConnsPerHost: k, IdleConnTimeout: time.Minute}}
	defer hc.CloseIdleConnections()
	calls := newCallCounter(s.fake)
	s.tally.reset()
	start := time.Now()
	errs := s.installOwners(hc, owners, k, waveTimeout)
	w := waveResult{owners: owners, notActive: len(errs), serverErrs: s.tally.counts()}
	for _, o := range owners {
		if !o.active.IsZero() {
			w.wall = max(w.wall, o.active.Sub(start))
		}
	}
	reqs := calls.stop()
	w.calls, w.maxRate = len(reqs), yclientsfake.MaxRequestRate(reqs, time.Second)
	w.byEndpoint = callsByEndpoint(reqs)
	w.turn, w.back, w.ahead = readToPage(owners, reqs)
	if len(reqs) > 0 {
		w.firstCall = reqs[0].At.Sub(start)
	}
	s.checkCallbacksAndWelcomes(b, owners)
	w.activities = s.installActivities(owners)
	return w
}

// readToPage splits each owner's wait for the connect page at the salon's last answered
// status read before it: the owners whose page needed no such read in the wave are left out.
// ahead is, for those owners, how many of the wave's calls (reqs, oldest first) went before
// that read.
func readToPage(owners []*benchOwner, reqs []yclientsfake.RequestLog) (turn, back []time.Duration, ahead []int) {
	reads := map[int64][]int{} // by salon, indexes into reqs
	for i, r := range reqs {
		var salon, app int64
		if _, err := fmt.Sscanf(r.Path, "/marketplace/salon/%d/application/%d", &salon, &app); err == nil && r.Method == http.MethodGet && r.Status/100 == 2 {
			reads[salon] = append(reads[salon], i)
		}
	}
	for _, o := range owners {
		last := -1
		for _, i := range reads[o.salon] {
			if reqs[i].At.Before(o.connected) {
				last = i
			}
		}
		if last >= 0 {
			at := reqs[last].At
			turn, back, ahead = append(turn, at.Sub(o.clicked)), append(back, o.connected.Sub(at)), append(ahead, last)
		}
	}
	return turn, back, ahead
}

// callCounter collects the fake's request log (which keeps only the last 1000) while a wave
// runs, every 200 ms, deduplicated.
type callCounter struct {
	fake *yclientsfake.Fake
	mu   sync.Mutex
	seen map[yclientsfake.RequestLog]bool
	from time.Time
	done chan struct{}
	wg   sync.WaitGroup
}

func newCallCounter(f *yclientsfake.Fake) *callCounter {
	c := &callCounter{fake: f, seen: map[yclientsfake.RequestLog]bool{}, from: time.Now(), done: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			c.collect()
			select {
			case <-c.done:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return c
}

func (c *callCounter) collect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.fake.Requests() {
		if !r.At.Before(c.from) {
			c.seen[r] = true
		}
	}
}

// stop ends the collection and returns the requests seen, oldest first.
func (c *callCounter) stop() []yclientsfake.RequestLog {
	close(c.done)
	c.wg.Wait()
	c.collect()
	out := make([]yclientsfake.RequestLog, 0, len(c.seen))
	for r := range c.seen {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b yclientsfake.RequestLog) int { return a.At.Compare(b.At) })
	return out
}

// checkCallbacksAndWelcomes fails when a salon whose page said active has no accepted
// activation callback or no welcome on the owner's number (after a minute's wait), or when
// any salon has more than one of either.
func (s *stack) checkCallbacksAndWelcomes(b *testing.B, owners []*benchOwner) {
	b.Helper()
	count := func() (missing, twice []string) {
		callbacks := map[int64]int{}
		for _, cb := range s.fake.Callbacks() {
			if cb.StatusCode == http.StatusCreated || cb.StatusCode == http.StatusMovedPermanently {
				callbacks[cb.SalonID]++
			}
		}
		for _, o := range owners {
			welcomes := 0
			for _, m := range s.phone.Messages(o.salon) {
				if m.Phone == o.phone && strings.Contains(m.Text, "AI Admin подключён") {
					welcomes++
				}
			}
			if callbacks[o.salon] > 1 || welcomes > 1 {
				twice = append(twice, fmt.Sprintf("salon %d: %d callbacks, %d welcomes", o.salon, callbacks[o.salon], welcomes))
			} else if !o.active.IsZero() && (callbacks[o.salon] == 0 || welcomes == 0) {
				missing = append(missing, fmt.Sprintf("salon %d: %d callbacks, %d welcomes", o.salon, callbacks[o.salon], welcomes))
			}
		}
		return missing, twice
	}
	benchWaitFor(time.Minute, func() bool { m, _ := count(); return len(m) == 0 })
	time.Sleep(time.Second)
	missing, twice := count()
	require.Empty(b, twice, "exactly one activation callback and one welcome per salon")
	require.Empty(b, missing, "an active salon without its callback or welcome")
}

// installActivities is the median number of activities an active installation's current run
// scheduled (a sample of up to 9 installations).
func (s *stack) installActivities(owners []*benchOwner) int {
	var counts []int
	for _, o := range owners {
		if len(counts) == 9 {
			break
		}
		if o.active.IsZero() {
			continue
		}
		counts = append(counts, s.countEvents(workflows.InstallationID(o.salon), "", func(ev *history.HistoryEvent) bool {
			return ev.GetEventType() == enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
		}))
	}
	if len(counts) == 0 {
		return 0
	}
	slices.Sort(counts)
	return counts[len(counts)/2]
}

func (w waveResult) print(b *testing.B, k int) {
	var connected, paged, qr, active []time.Duration
	var queued, queuedOwners, mostQueued, registering, askedAgain int
	errs := map[string]int{}
	for _, o := range w.owners {
		if !o.connected.IsZero() {
			connected = append(connected, o.connected.Sub(o.clicked))
		}
		if !o.firstQR.IsZero() {
			qr = append(qr, o.firstQR.Sub(o.clicked))
			if !o.connected.IsZero() {
				paged = append(paged, o.firstQR.Sub(o.connected))
			}
		}
		if !o.active.IsZero() {
			active = append(active, o.active.Sub(o.clicked))
		}
		for _, e := range o.errs {
			errs[e]++
		}
		queued += o.waits.queued
		if o.waits.queued > 0 {
			queuedOwners++
			mostQueued = max(mostQueued, o.waits.queued)
		}
		registering += o.waits.registering
		askedAgain += o.askedAgain
	}
	budget := time.Duration(float64(w.calls) / waveYClientsRPS * float64(time.Second))
	c, p, q, a := benchPercentiles(connected), benchPercentiles(paged), benchPercentiles(qr), benchPercentiles(active)
	turn, back := benchPercentiles(w.turn), benchPercentiles(w.back)
	var ahead [2]int
	if s := slices.Sorted(slices.Values(w.ahead)); len(s) > 0 {
		ahead = [2]int{benchRank(s, 0.50), benchRank(s, 0.99)}
	}
	installRate, bareRate := float64(len(active))/w.wall.Seconds(), w.bare.rate()
	b.ReportMetric(w.wall.Seconds(), "wave_s")
	b.ReportMetric(float64(w.calls)/float64(k), "yclients_calls/install")
	fmt.Printf("P2%s: %d owners at once: %d active (%d not within %s); connect page p50 %.1f s p99 %.1f s (to the salon's last status read before it p50 %.1f s p99 %.1f s, from that read to the page p50 %.1f s p99 %.1f s, %d owners; from the page to the first QR p50 %.1f s p99 %.1f s), first QR p50 %.1f s p99 %.1f s, active p50 %.1f s p99 %.1f s; "+
		"errors seen %d %s; queue pages %d (%d owners, at most %d each); registering pages %d; codes the page asked for again %d; callbacks and welcomes exactly once; wave %.1f s vs YClients calls %d (%.1f per install, max %.1f req/s) "+
		"÷ 5 req/s = %.1f s: ratio %.2f (target ≤ 1.25); throughput %.2f installs/s vs bare workflows %.2f/s (%d with %d no-op "+
		"activities each, started at once on the same server, same run): ratio %.2f%s (%s, %s)\n", clusterMark(),
		k, len(active), w.notActive, waveTimeout, c[0].Seconds(), c[1].Seconds(), turn[0].Seconds(), turn[1].Seconds(), back[0].Seconds(), back[1].Seconds(), len(w.turn), p[0].Seconds(), p[1].Seconds(), q[0].Seconds(), q[1].Seconds(), a[0].Seconds(), a[1].Seconds(),
		benchCount(errs), benchTopErrors(errs), queued, queuedOwners, mostQueued, registering, askedAgain, w.wall.Seconds(), w.calls, float64(w.calls)/float64(k), w.maxRate,
		budget.Seconds(), w.wall.Seconds()/budget.Seconds(), installRate, bareRate, k, w.activities, installRate/bareRate, w.bare,
		benchOwnerKind(), time.Now().Format("2006-01-02"))
	fmt.Printf("P2%s: the wave's YClients calls by endpoint (÷ %d owners): %s; the first %.1f s after the clicks; before an owner's status read p50 %d calls, p99 %d\n",
		clusterMark(), k, benchPerOwner(w.byEndpoint, k), w.firstCall.Seconds(), ahead[0], ahead[1])
	if w.serverErrs != nil {
		fmt.Printf("P2%s: the server's log records with an error during the wave (a page the owner closed included): %d %s\n", clusterMark(), benchCount(w.serverErrs),
			benchTopErrors(w.serverErrs))
	}
}

// logTally is a slog handler that counts the records carrying an "error" attribute, by
// message: what the server met while the owners saw their error frames.
type logTally struct {
	mu sync.Mutex
	n  map[string]int
}

func newLogTally() *logTally { return &logTally{n: map[string]int{}} }

func (l *logTally) Enabled(context.Context, slog.Level) bool { return true }
func (l *logTally) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logTally) WithGroup(string) slog.Handler            { return l }

func (l *logTally) Handle(_ context.Context, r slog.Record) error {
	hasErr := false
	r.Attrs(func(a slog.Attr) bool {
		hasErr = a.Key == "error"
		return !hasErr
	})
	if hasErr {
		l.mu.Lock()
		l.n[r.Message]++
		l.mu.Unlock()
	}
	return nil
}

// reset forgets what was counted; a nil tally (a stack whose logs are not read) does nothing.
func (l *logTally) reset() {
	if l != nil {
		l.mu.Lock()
		clear(l.n)
		l.mu.Unlock()
	}
}

// counts is a copy of the counts (nil for a nil tally).
func (l *logTally) counts() map[string]int {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.n)
}

// benchPercentiles is p50 and p99 (zeros when empty).
func benchPercentiles(d []time.Duration) [2]time.Duration {
	if len(d) == 0 {
		return [2]time.Duration{}
	}
	l := benchSummarise(d, 0)
	return [2]time.Duration{l.p50, l.p99}
}

func benchCount(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}

// callsByEndpoint counts requests by method and path, numeric path segments written {id}
// (and answers other than 2xx by status), so that the wave shows where its calls went.
func callsByEndpoint(reqs []yclientsfake.RequestLog) map[string]int {
	out := map[string]int{}
	for _, r := range reqs {
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				segs[i] = "{id}"
			}
		}
		key := r.Method + " " + strings.Join(segs, "/")
		if r.Status < 200 || r.Status > 299 {
			key += fmt.Sprintf(" → %d", r.Status)
		}
		out[key]++
	}
	return out
}

// byCount is m's keys, commonest first (ties by key).
func byCount(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(m[b]-m[a], strings.Compare(a, b)) })
	return keys
}

// benchPerOwner lists every key of m, commonest first, with its count and its count per owner.
func benchPerOwner(m map[string]int, owners int) string {
	keys := byCount(m)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %d (%.2f)", k, m[k], float64(m[k])/float64(max(owners, 1))))
	}
	return "[" + strings.Join(out, "; ") + "]"
}

// benchTopErrors names the three commonest errors with their counts.
func benchTopErrors(m map[string]int) string {
	keys := byCount(m)
	var out []string
	for _, k := range keys[:min(len(keys), 3)] {
		out = append(out, fmt.Sprintf("%d× «%s»", m[k], k))
	}
	return "[" + strings.Join(out, "; ") + "]"
}

// installStackFor is the single-process stack on TEMPORAL_ADDRESS or, with
// AIADMIN_BENCH_CLUSTER=1, a view of the cluster with what the wave uses: the fake YClients
// (5 req/s, like YClients; the cluster's processes share the cluster-wide budget), the phone of
// the fake WhatsApp server, the public URL (the proxy) and a client of its Temporal server.
func installStackFor(b *testing.B) *stack {
	b.Helper()
	if !benchOnCluster() {
		addr := os.Getenv("TEMPORAL_ADDRESS")
		if addr == "" {
			b.Skip("TEMPORAL_ADDRESS is not set: run through `make bench`")
		}
		tally := newLogTally()
		s := newStackAt(b, addr, func(st *stackSetup) { st.logger = slog.New(tally) })
		s.tally = tally
		return s
	}
	bc := clusterForBench(b)
	return &stack{t: b, dsn: bc.dsn, fake: bc.fake, phone: bc.sim.Phone(),
		cfg: &config.Config{PublicURL: bc.c.Addrs.PublicURL, YClientsBaseURL: bc.fakeURL},
		app: &app.App{Temporal: bc.temporal}}
}
