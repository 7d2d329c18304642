package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// The load BenchmarkWebhookToSend offers: AIADMIN_BENCH_RATE bookings (and so webhooks) a
// second for AIADMIN_BENCH_SECONDS seconds, by default the 50/s for 60 s.
const (
	sendRateDefault    = 50
	sendSecondsDefault = 60
	sendWaitMin        = 2 * time.Minute // at least this long for the last confirmation
	// sendCalmSeconds is how long the run below capacity lasts (BenchmarkWebhookToSend).
	sendCalmSeconds = 15
)

// benchEnvInt is a positive integer from the environment, or def.
func benchEnvInt(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(b, err, "%s", name)
	require.Positive(b, n, "%s", name)
	return n
}

// sendRun is one open-loop run at a fixed rate: per-item latencies, the offered rate
// achieved, and the throughput (items ÷ the time from the first item offered to the last one
// done).
type sendRun struct {
	lat        []time.Duration
	achieved   float64
	throughput float64
	refused    int     // the skeleton's: calls the server refused for a moment, each tried again
	records    []int64 // the pipeline's: the bookings' YClients record IDs
}

// BenchmarkWebhookToSend (P4) measures, on the real stack with the simulated phone, the time
// from YClients' webhook POST being answered 2xx to the simulated phone recording the booking
// confirmation, with AIADMIN_BENCH_RATE bookings a second made in the fake YClients for
// AIADMIN_BENCH_SECONDS (each a distinct record and client phone; pacing and the daily cap
// off). The fake sends each record's webhook at once (EntityDelay < 0) through an observing
// transport that stamps the 2xx; the phone stamps each send (simphone.Sent.At). In the same
// run and on the same Temporal server it drives a skeleton of the irreducible work at the same
// rate (see benchSkeleton) and prints the P4 line: the pipeline's latencies and its
// throughput against the skeleton's; then both again at half the throughput the pipeline
// reached, for sendCalmSeconds, for the latency below capacity. It fails only if a
// confirmation is missing after a generous wait or a client got more than one message (never
// on speed). With AIADMIN_BENCH_CLUSTER=1 the salon is installed through the cluster's proxy,
// the skeleton runs on the cluster's Temporal server, and a second line gives the CPU of each
// kind of process and the YClients requests during the pipeline run (sendTargetFor).
func BenchmarkWebhookToSend(b *testing.B) {
	rate := benchEnvInt(b, "AIADMIN_BENCH_RATE", sendRateDefault)
	seconds := benchEnvInt(b, "AIADMIN_BENCH_SECONDS", sendSecondsDefault)
	n := rate * seconds
	tg := sendTargetFor(b, n)
	skel := startBenchSkeleton(b, tg.temporal)

	var pipe, base sendRun
	var pipeCPU string
	round := 0
	for b.Loop() {
		round++
		base = skel.run(b, round, rate, n)
		done := tg.measure()
		pipe = tg.webhooksToSends(b, round, rate, n)
		pipeCPU = done()
	}
	b.StopTimer()

	l, k := benchSummarise(pipe.lat, 0), benchSummarise(base.lat, 0)
	b.ReportMetric(benchMS(l.p50), "send_p50_ms")
	b.ReportMetric(benchMS(l.p99), "send_p99_ms")
	b.ReportMetric(benchMS(l.max), "send_max_ms")
	b.ReportMetric(pipe.throughput, "bookings/s")
	b.ReportMetric(base.throughput, "skeleton/s")
	fmt.Printf("P4%s: webhook→send at %.1f/s for %d s (%d bookings, simulated phone, no pacing): p50 %.0f ms p99 %.0f ms "+
		"max %.0f ms, exactly-once ok; throughput %.1f bookings/s vs skeleton %.1f/s (signal-with-start + one no-op "+
		"activity per booking on the same server, same run, offered %.1f/s; its p50 %.0f ms p99 %.0f ms%s): ratio %.2f "+
		"(targets p50 ≤ 300 ms, p99 ≤ 1 s, ratio ≥ 0.5; %s%s)\n", clusterMark(),
		pipe.achieved, seconds, n, benchMS(l.p50), benchMS(l.p99), benchMS(l.max), pipe.throughput, base.throughput,
		base.achieved, benchMS(k.p50), benchMS(k.p99), skeletonRefusals(base.refused), pipe.throughput/base.throughput, tg.where, time.Now().Format("2006-01-02"))
	if pipeCPU != "" {
		fmt.Printf("P4%s: pipeline run: %s\n", clusterMark(), pipeCPU)
	}

	// Below capacity: the skeleton and then the pipeline again, at half the throughput the
	// pipeline reached above, for sendCalmSeconds: what a booking waits when the machine is
	// not saturated (at the offered rate above a backlog builds, and its latency is mostly the
	// backlog's).
	calmRate := max(1, int(pipe.throughput/2))
	calmN := calmRate * sendCalmSeconds
	calmBase := skel.run(b, round+1, calmRate, calmN)
	calmStart := time.Now()
	calm := tg.webhooksToSends(b, round+1, calmRate, calmN)
	c, ck := benchSummarise(calm.lat, 0), benchSummarise(calmBase.lat, 0)
	handed := "no record webhook found handed on"
	if waits := tg.inboxWaits(b, calmStart); len(waits) > 0 {
		h := benchSummarise(waits, 0)
		handed = fmt.Sprintf("%d rows: p50 %.0f ms p99 %.0f ms", h.n, benchMS(h.p50), benchMS(h.p99))
	}
	b.ReportMetric(benchMS(c.p50), "calm_p50_ms")
	b.ReportMetric(benchMS(c.p99), "calm_p99_ms")
	fmt.Printf("P4%s: below capacity, webhook→send at %.1f/s for %d s (%d bookings; half the pipeline's throughput above): "+
		"p50 %.0f ms p99 %.0f ms max %.0f ms, exactly-once ok; of it, webhook stored → handed to Temporal (the inbox row's "+
		"received_at → processed_at) %s; the skeleton at the same rate p50 %.0f ms p99 %.0f ms%s "+
		"(targets p50 ≤ 300 ms, p99 ≤ 1 s)\n", clusterMark(), calm.achieved, sendCalmSeconds, calmN, benchMS(c.p50),
		benchMS(c.p99), benchMS(c.max), handed, benchMS(ck.p50), benchMS(ck.p99), skeletonRefusals(calmBase.refused))
	fmt.Printf("P4%s: below capacity, inside Temporal (the bookings' histories): %s\n", clusterMark(),
		bookingSteps(b, tg.temporal, tg.salon, calm.records))
}

// inboxWaits is, for each of the salon's record webhooks stored since then and handed on,
// how long it waited in the inbox: from its row's received_at (the group commit's statement)
// to its processed_at (recorded once Temporal took the signal).
func (s sendTarget) inboxWaits(b *testing.B, since time.Time) []time.Duration {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dsn)
	require.NoError(b, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT (extract(epoch FROM processed_at - received_at) * 1e6)::bigint
		FROM webhook_inbox WHERE salon_id = $1 AND resource = 'record' AND received_at >= $2 AND state = 'processed'`,
		s.salon, since)
	require.NoError(b, err)
	waits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (time.Duration, error) {
		var us int64
		err := r.Scan(&us)
		return time.Duration(us) * time.Microsecond, err
	})
	require.NoError(b, err)
	return waits
}

// webhooksToSends makes n bookings in the fake YClients at rate a second and waits for each
// one's confirmation on the simulated phone; it fails on a webhook never answered 2xx, a
// confirmation missing after the wait, or a client messaged twice.
func (s sendTarget) webhooksToSends(b *testing.B, round, rate, n int) sendRun {
	staff, service := staffOf(b, s.fake, s.salon), serviceOf(b, s.fake, s.salon)
	day := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
	require.Less(b, n, 10_000, "client phones are numbered with four digits")
	phones := make(map[int64]string, n) // record ID → client phone (digits)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		phone := fmt.Sprintf("791%04d%04d", round, i)
		rec, err := s.fake.CreateRecord(s.salon, yclientsfake.RecordInput{StaffID: staff, ServiceIDs: []int64{service},
			Client:   &yclientsfake.ClientInput{Name: fmt.Sprintf("Клиент %d", i), Phone: "+" + phone},
			Datetime: fmt.Sprintf("%s %02d:%02d:00", day, 10+i%10, (i/10%6)*10)})
		require.NoError(b, err)
		phones[rec.ID] = phone
	}
	run := sendRun{achieved: float64(n) / time.Since(start).Seconds()}

	sent := s.sent
	wait := max(sendWaitMin, 2*time.Since(start), s.minWait)
	benchWaitProgress(wait, benchStall, benchWaitCap, len(phones), func() int {
		got, c := sent(), 0
		for _, p := range phones {
			if len(got[p]) > 0 {
				c++
			}
		}
		return c
	})
	time.Sleep(time.Second) // a little longer, for duplicates
	got := sent()
	var missing, twice, unacked []int64
	var last time.Time
	for rec, p := range phones {
		acked, ok := s.obs.ackedAt(rec)
		switch {
		case !ok:
			unacked = append(unacked, rec)
		case len(got[p]) == 0:
			missing = append(missing, rec)
		case len(got[p]) > 1:
			twice = append(twice, rec)
		default:
			run.lat = append(run.lat, got[p][0].Sub(acked))
			run.records = append(run.records, rec)
			last = later(last, got[p][0])
		}
	}
	if len(unacked)+len(missing)+len(twice) > 0 {
		b.Fatalf("of %d bookings: %d webhooks never answered 2xx %v, %d confirmations missing after %s %v, "+
			"%d clients got more than one message %v", len(phones), len(unacked), benchHead(unacked), len(missing), wait,
			benchHead(missing), len(twice), benchHead(twice))
	}
	run.throughput = float64(n) / last.Sub(start).Seconds()
	return run
}

// sendTarget is where BenchmarkWebhookToSend books and watches the sends.
type sendTarget struct {
	fake     *yclientsfake.Fake
	salon    int64         // activated, pacing and the daily cap off
	obs      *hookObserver // the fake's entity webhooks go through it
	sent     func() map[string][]time.Time
	temporal client.Client // the skeleton's server
	dsn      string        // the application's database (its webhook inbox)
	minWait  time.Duration // at least this long for the last confirmation
	where    string        // for the P line: "" or where it ran
	// measure starts measuring the pipeline run (CPU, YClients requests); what it returns ends
	// that and describes it.
	measure func() func() string
}

// sendTargetFor is the single-process stack, or with AIADMIN_BENCH_CLUSTER=1 the cluster (a
// salon installed through the proxy; the skeleton on the cluster's Temporal server). n is the
// number of bookings: on the cluster every confirmation re-reads its record from YClients
// through the cluster-wide budget (one request per yclients.BudgetSpacing), so the wait for
// the last one allows for that.
func sendTargetFor(b *testing.B, n int) sendTarget {
	b.Helper()
	if !benchOnCluster() {
		obs := &hookObserver{base: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}, acked: map[int64]time.Time{}}
		s := newBenchStack(b, &http.Client{Timeout: 10 * time.Second, Transport: obs})
		s.noPacingNoCap()
		return sendTarget{fake: s.fake, salon: s.salon, obs: obs, temporal: s.app.Temporal, dsn: s.dsn, sent: func() map[string][]time.Time {
			out := map[string][]time.Time{}
			for _, m := range s.phone.Messages(s.salon) {
				out[m.Phone] = append(out[m.Phone], m.At)
			}
			return out
		}, measure: func() func() string {
			cpu, calls := measureSingle(b, "p4"), newCallCounter(s.fake)
			return func() string {
				reqs := calls.stop()
				return fmt.Sprintf("%s; YClients requests %d (%.2f per booking, no budget on this stack): %s", cpu(), len(reqs),
					float64(len(reqs))/float64(n), benchPerOwner(callsByEndpoint(reqs), n))
			}
		}}
	}
	bc := clusterForBench(b)
	salon, _ := bc.installSalon(b)
	return sendTarget{fake: bc.fake, salon: salon, obs: bc.hooks, temporal: bc.temporal, dsn: bc.dsn,
		sent:    func() map[string][]time.Time { return bc.sent(salon) },
		minWait: 2 * time.Duration(n) * yclients.BudgetSpacing,
		measure: func() func() string {
			cpu, calls, temporal := bc.measure(), newCallCounter(bc.fake), profileTemporal(bc.c.Addrs.TemporalPProf, "p4-cluster")
			workers := profileProcesses(bc.c.Addrs.PProf, "worker", "p4-cluster")
			pg := samplePostgres(bc.dsn, bc.databaseLabels())
			return func() string {
				used, reqs := cpu(), calls.stop() // the measurement ends here
				sampled, sampleErr := pg()
				limited := 0
				for _, r := range reqs {
					if r.Status == http.StatusTooManyRequests {
						limited++
					}
				}
				own, others := splitBySalon(reqs, salon)
				// Both profiles' stretches end together, at most a stretch after the measurement.
				var temporalProfile, workersProfile string
				var wg sync.WaitGroup
				wg.Go(func() { temporalProfile = temporal() })
				wg.Go(func() { workersProfile = workers() })
				wg.Wait()
				return fmt.Sprintf("%s; YClients requests %d (%.2f per booking, %d answered 429, max %.1f req/s over 1 s "+
					"windows, by arrival at the fake): for the benchmark's salon %s, for other salons %s; %s; %s; %s", used, len(reqs),
					float64(len(reqs))/float64(n), limited, yclientsfake.MaxRequestRate(reqs, time.Second),
					benchPerOwner(callsByEndpoint(own), n), benchPerOwner(callsByEndpoint(others), n), temporalProfile, workersProfile,
					describePostgres(sampled, sampleErr))
			}
		},
		where: fmt.Sprintf("%d api + %d worker processes, Temporal on PostgreSQL, the fake WhatsApp server, "+
			"YClients budget 1 request/%s cluster-wide; ", bc.c.opts.APIs, bc.c.opts.Workers, yclients.BudgetSpacing)}
}

// splitBySalon splits YClients requests into those whose path names the salon and the others
// (on the cluster, P4 shares the budget with what earlier benchmarks left, such as P2's
// catalogue syncs). The counts per endpoint are then per booking.
func splitBySalon(reqs []yclientsfake.RequestLog, salon int64) (own, others []yclientsfake.RequestLog) {
	id := strconv.FormatInt(salon, 10)
	for _, r := range reqs {
		if slices.Contains(strings.Split(r.Path, "/"), id) {
			own = append(own, r)
		} else {
			others = append(others, r)
		}
	}
	return own, others
}

// benchWaitFor polls done every 20 ms until it holds or wait has passed.
func benchWaitFor(wait time.Duration, done func() bool) {
	deadline := time.Now().Add(wait)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// How long a benchmark waits for the last of its sends once the offered load has been made:
// at least its minimum wait, then as long as sends keep arriving, up to benchWaitCap. A
// benchmark fails on what is missing only after that, so a slow machine with a backlog makes
// a slow figure, not a failure (issue 11: never on speed); a send that no longer comes is lost.
const (
	benchStall   = time.Minute      // no send for this long: the rest is not coming
	benchWaitCap = 20 * time.Minute // a bound on the whole wait
)

// benchWaitProgress waits until count() reaches want: at least minWait, and then while count()
// still grows within stall, at most limit in all.
func benchWaitProgress(minWait, stall, limit time.Duration, want int, count func() int) {
	start := time.Now()
	last, lastAt := -1, start
	for time.Since(start) < limit {
		c := count()
		if c >= want {
			return
		}
		if c != last {
			last, lastAt = c, time.Now()
		}
		if time.Since(start) >= minWait && time.Since(lastAt) >= stall {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func benchHead(ids []int64) []int64 { return ids[:min(len(ids), 5)] }

// hookObserver is the fake YClients' transport: it stamps the moment each record webhook is
// answered 2xx (the first time, per record ID).
type hookObserver struct {
	base  http.RoundTripper
	mu    sync.Mutex
	acked map[int64]time.Time
}

func (o *hookObserver) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.Contains(req.URL.Path, "/webhook/yclients/") || req.GetBody == nil {
		return o.base.RoundTrip(req)
	}
	var env struct {
		Resource   string `json:"resource"`
		ResourceID int64  `json:"resource_id"`
	}
	if rc, err := req.GetBody(); err == nil {
		raw, _ := io.ReadAll(rc)
		rc.Close()
		_ = json.Unmarshal(raw, &env)
	}
	resp, err := o.base.RoundTrip(req)
	if err == nil && resp.StatusCode/100 == 2 && env.Resource == "record" {
		at := time.Now()
		o.mu.Lock()
		if _, ok := o.acked[env.ResourceID]; !ok {
			o.acked[env.ResourceID] = at
		}
		o.mu.Unlock()
	}
	return resp, err
}

func (o *hookObserver) ackedAt(record int64) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	at, ok := o.acked[record]
	return at, ok
}
