package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

const (
	intakeClients  = 32   // concurrent HTTP clients, and concurrent bare inserters
	intakeRequests = 4000 // measured requests per side per round
	intakeRounds   = 5    // rounds per side per iteration, the sides taking turns
	intakeWarmup   = 256  // unmeasured requests per side first (connections, caches, plans)
	// intakeResource is the envelope's resource. The intake path (secret check, envelope
	// parse, INSERT, 2xx) does not look at it, so its cost is that of a record webhook; but
	// the dispatcher, which keeps running as in production, marks such rows ignored instead
	// of signalling thousands of booking workflows into Temporal during the measurement.
	// The dispatcher → Temporal → phone path is BenchmarkWebhookToSend's.
	intakeResource = "goods_operations_sale"
)

// BenchmarkWebhookIntake compares, in one run and on one database, the entity-webhook intake
// of the real stack (POST /webhook/yclients/{salon_id}/{secret} over loopback with keep-alive:
// envelope parsed, then one statement, group-committed with the concurrent requests, checks
// the secret's hash and stores the raw body in webhook_inbox; 2xx after the COMMIT) at 32
// concurrent clients with the floor under it: 32 goroutines each inserting one row of the
// same size into a scratch table and committing (an autocommit INSERT … RETURNING id over
// pgx: one round trip, one WAL flush each). Each side makes a fixed number of requests per
// iteration, in rounds that take turns with the other side's, so b.N does not change the
// workload and a passing disturbance falls on both; it prints the P1 line (throughput, p50 and
// p99 of both and the throughput ratio intake/bare). It fails only when a request fails or
// exactly-once breaks: every accepted webhook must be in the inbox once, under its own ID.
// With AIADMIN_BENCH_CLUSTER=1 it posts to the cluster's api processes in turn (not through its proxy), the
// baseline inserts into the cluster's database, and a second line gives the CPU of each kind
// of process during both runs (intakeTargetFor).
func BenchmarkWebhookIntake(b *testing.B) {
	tg := intakeTargetFor(b)
	// Every request has a body of its own (its own resource_id), as distinct bookings do:
	// the dispatcher handles a byte-identical copy of a lane's last delivery more cheaply.
	bodies := make([][]byte, intakeWarmup+intakeRounds*intakeRequests)
	for i := range bodies {
		bodies[i] = withResource(b, tg.body, intakeResource, int64(900_000_000+i))
	}
	ctx := context.Background()

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: intakeClients * 2, MaxIdleConnsPerHost: intakeClients * 2, IdleConnTimeout: time.Minute,
	}}
	b.Cleanup(hc.CloseIdleConnections)
	offset := 0 // the first body of the current run of closedLoop
	bodyOf := func(i int) []byte { return bodies[(offset+i)%len(bodies)] }
	var accepted intakeIDs
	intake := func(i int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tg.webhookURLs[i%len(tg.webhookURLs)], bytes.NewReader(bodyOf(i)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("webhook answered %d: %s", resp.StatusCode, answer)
		}
		var ok struct{ ID int64 }
		if err := json.Unmarshal(answer, &ok); err != nil || ok.ID == 0 {
			return fmt.Errorf("webhook answered 200 without an id: %s", answer)
		}
		accepted.add(ok.ID)
		return nil
	}

	pcfg, err := pgxpool.ParseConfig(tg.dsn)
	require.NoError(b, err)
	pcfg.MaxConns, pcfg.MinConns = intakeClients, intakeClients
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	bareTable := fmt.Sprintf("bench_bare_insert_%d", time.Now().UnixNano())
	_, err = pool.Exec(ctx, `CREATE TABLE `+bareTable+` (
		id bigserial PRIMARY KEY, salon_id bigint NOT NULL, received_at timestamptz NOT NULL DEFAULT now(), body bytea NOT NULL)`)
	require.NoError(b, err)
	b.Cleanup(func() { _, _ = pool.Exec(context.Background(), `DROP TABLE `+bareTable) })
	bare := func(i int) error {
		var id int64
		return pool.QueryRow(ctx, `INSERT INTO `+bareTable+` (salon_id, body) VALUES ($1, $2) RETURNING id`,
			tg.salon, bodyOf(i)).Scan(&id)
	}

	// The HTTP floor (single process only): the same client, bodies and clients against a
	// handler in this process that reads the body and answers as the webhook does, and does
	// nothing else: what loopback HTTP alone costs on this machine, the part of the intake
	// that no database work can win back.
	var floor func(i int) error
	if !benchOnCluster() {
		floorSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_, _ = io.WriteString(w, `{"id":1}`)
		}))
		b.Cleanup(floorSrv.Close)
		floor = func(i int) error {
			resp, err := hc.Post(floorSrv.URL, "application/json", bytes.NewReader(bodyOf(i)))
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("floor answered %d", resp.StatusCode)
			}
			return nil
		}
		_, _, err = closedLoop(intakeClients, intakeWarmup, floor)
		require.NoError(b, err, "HTTP floor warm-up")
	}

	_, _, err = closedLoop(intakeClients, intakeWarmup, intake)
	require.NoError(b, err, "intake warm-up")
	_, _, err = closedLoop(intakeClients, intakeWarmup, bare)
	require.NoError(b, err, "bare warm-up")
	tg.drained()
	offset = intakeWarmup

	var intakeRuns, bareRuns, floorRuns intakeSide
	// On the cluster, the api processes are profiled through all the rounds: they serve the
	// intake's and are idle during the bare ones.
	var stopAPIProfile func() string
	if tg.profileAPIs != nil {
		stopAPIProfile = tg.profileAPIs()
	}
	for b.Loop() {
		// The two sides take turns, intakeRounds times each, so that what the machine does
		// meanwhile (a checkpoint, autovacuum, the page cache) falls on both alike.
		for round := range intakeRounds {
			profile := func(name string) string { // the first round's, when this process serves the intake
				if round > 0 || !tg.profile {
					return ""
				}
				return name
			}
			require.NoError(b, intakeRuns.run(intake, tg.pids, profile("intake-1")), "intake")
			// Let the dispatcher catch up before the bare run, so it does not share the two
			// cores with it (it ran alongside the intake, as in production).
			tg.drained()
			require.NoError(b, bareRuns.run(bare, tg.pids, profile("intake-2")), "bare insert")
			if floor != nil {
				require.NoError(b, floorRuns.run(floor, nil, ""), "HTTP floor")
			}
			offset += intakeRequests
		}
	}
	b.StopTimer()
	apiProfile := ""
	if stopAPIProfile != nil {
		apiProfile = stopAPIProfile()
	}
	accepted.requireStoredOnce(b, pool, tg.salon)

	in, br := benchSummarise(intakeRuns.lat, intakeRuns.wall), benchSummarise(bareRuns.lat, bareRuns.wall)
	b.ReportMetric(in.rps(), "intake_req/s")
	b.ReportMetric(benchMS(in.p50), "intake_p50_ms")
	b.ReportMetric(benchMS(in.p99), "intake_p99_ms")
	b.ReportMetric(br.rps(), "bare_req/s")
	b.ReportMetric(benchMS(br.p50), "bare_p50_ms")
	b.ReportMetric(benchMS(br.p99), "bare_p99_ms")
	b.ReportMetric(in.rps()/br.rps(), "ratio")
	fmt.Printf("P1%s: intake %.0f req/s p50 %.1f ms p99 %.1f ms vs bare INSERT+COMMIT %.0f req/s p50 %.1f ms p99 %.1f ms "+
		"ratio %.2f (%d clients, %d requests/side in %d alternating rounds, body %d B, %s%s)\n", clusterMark(),
		in.rps(), benchMS(in.p50), benchMS(in.p99), br.rps(), benchMS(br.p50), benchMS(br.p99), in.rps()/br.rps(),
		intakeClients, in.n, intakeRounds, len(bodies[0]), tg.where, time.Now().Format(time.DateOnly))
	if floor != nil {
		fl := benchSummarise(floorRuns.lat, floorRuns.wall)
		b.ReportMetric(fl.rps(), "http_floor_req/s")
		fmt.Printf("P1: HTTP floor (loopback POST of the same body to a handler that only reads it and answers, same "+
			"client and clients) %.0f req/s p50 %.1f ms p99 %.1f ms; intake/floor ratio %.2f, bare INSERT+COMMIT/floor %.2f\n",
			fl.rps(), benchMS(fl.p50), benchMS(fl.p99), in.rps()/fl.rps(), br.rps()/fl.rps())
	}
	fmt.Printf("P1%s: intake runs: %s; bare runs: %s\n", clusterMark(), intakeRuns.cpu, bareRuns.cpu)
	if tg.profile {
		fmt.Printf("P1: profiles of the first round: intake: %s; bare: %s\n", intakeRuns.profile, bareRuns.profile)
	}
	if apiProfile != "" {
		fmt.Printf("P1%s: profiles of the intake's rounds: %s\n", clusterMark(), apiProfile)
	}
}

// intakeSide is what one side's rounds of BenchmarkWebhookIntake add up to.
type intakeSide struct {
	lat     []time.Duration
	wall    time.Duration
	cpu     cpuUse
	profile string // the profiled round's CPU by package
}

// run runs one round of op from intakeClients clients, counting the CPU of pids meanwhile and,
// when profile is not "", profiling this process under that name.
func (s *intakeSide) run(op func(int) error, pids map[string]int, profile string) error {
	var stopProfile func() string
	if profile != "" {
		stopProfile = profileThisProcess(profile)
	}
	done := measureCPU(pids)
	lat, wall, err := closedLoop(intakeClients, intakeRequests, op)
	s.cpu.add(done())
	if stopProfile != nil {
		s.profile = stopProfile()
	}
	s.lat, s.wall = append(s.lat, lat...), s.wall+wall
	return err
}

// intakeIDs are the inbox IDs the webhook answered 200 with.
type intakeIDs struct {
	mu  sync.Mutex
	ids []int64
}

func (a *intakeIDs) add(id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = append(a.ids, id)
}

// requireStoredOnce fails unless every accepted webhook is in the inbox exactly once: the
// answered IDs are distinct, each is a row of the salon's, and the salon's inbox holds no
// other row of the benchmark's resource (none stored twice, none stored unanswered).
func (a *intakeIDs) requireStoredOnce(b *testing.B, pool *pgxpool.Pool, salon int64) {
	b.Helper()
	ctx := context.Background()
	a.mu.Lock()
	defer a.mu.Unlock()
	var distinct, found, rows int64
	require.NoError(b, pool.QueryRow(ctx, `SELECT count(DISTINCT id) FROM unnest($1::bigint[]) AS a(id)`, a.ids).Scan(&distinct))
	require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_inbox WHERE id = ANY($1::bigint[]) AND salon_id = $2`,
		a.ids, salon).Scan(&found))
	require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM webhook_inbox WHERE salon_id = $1 AND resource = $2`,
		salon, intakeResource).Scan(&rows))
	require.EqualValues(b, len(a.ids), distinct, "every accepted webhook has its own inbox ID")
	require.EqualValues(b, len(a.ids), found, "every accepted webhook is in the inbox")
	require.EqualValues(b, len(a.ids), rows, "the inbox holds each accepted webhook once and nothing else")
}

// closedLoop runs n operations on workers goroutines, each starting its next operation as
// soon as the last one returns, and returns each operation's latency and the run's wall time.
func closedLoop(workers, n int, op func(i int) error) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				err := op(i)
				lat[i] = time.Since(t0)
				if err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n)) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	return lat, time.Since(start), first
}

// realisticWebhook is the body of a real record webhook as the fake YClients sends it: one
// booking is made in the fake and its "create" delivery is taken.
func realisticWebhook(b *testing.B, fake *yclientsfake.Fake, salon int64) []byte {
	b.Helper()
	staff, service := staffOf(b, fake, salon), serviceOf(b, fake, salon)
	day := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
	rec, err := fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: staff, ServiceIDs: []int64{service},
		Client: &yclientsfake.ClientInput{Name: "Анна Смирнова", Phone: "+79160000001"}, Datetime: day + " 14:30:00",
		Comment: "Постоянный клиент, просит мастера Ольгу"})
	require.NoError(b, err)
	var body []byte
	require.Eventually(b, func() bool {
		for _, d := range fake.Deliveries() {
			if d.Resource == "record" && d.ResourceID == rec.ID && d.HTTPStatus == http.StatusOK {
				body = d.Body
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "the fake's record webhook accepted")
	return body
}

// withResource rewrites a webhook body's resource, resource_id and status (as an update).
func withResource(b *testing.B, body []byte, resource string, id int64) []byte {
	var env map[string]json.RawMessage
	require.NoError(b, json.Unmarshal(body, &env))
	env["resource"], _ = json.Marshal(resource)
	env["resource_id"], _ = json.Marshal(id)
	env["status"], _ = json.Marshal("update")
	out, err := json.Marshal(env)
	require.NoError(b, err)
	return out
}

// waitInboxDrained waits until the dispatcher has handled every stored webhook and returns
// how long that took.
func (s *benchStack) waitInboxDrained() time.Duration {
	s.b.Helper()
	start := time.Now()
	require.Eventually(s.b, func() bool { return s.inboxPending() == 0 }, 2*time.Minute, 20*time.Millisecond,
		"dispatcher drains the inbox")
	return time.Since(start)
}

// intakeTarget is where BenchmarkWebhookIntake posts and where its bare baseline inserts.
type intakeTarget struct {
	webhookURLs []string // an activated salon's entity webhook URL at each API process, taken in turn
	dsn         string   // the application's database
	salon       int64
	body        []byte         // a real record webhook of the salon's
	drained     func()         // waits until the dispatcher has handled every stored webhook
	where       string         // for the P line: "" or where it ran
	pids        map[string]int // the processes whose CPU is counted (measureCPU), by name
	profile     bool           // whether to profile this process (where the intake's API runs)
	// profileAPIs, on the cluster, starts profiling its api processes; what it returns stops
	// and describes the profiles.
	profileAPIs func() func() string
}

// intakeTargetFor is the single-process stack, or with AIADMIN_BENCH_CLUSTER=1 the cluster:
// webhooks to its api processes in turn, the baseline on its database.
func intakeTargetFor(b *testing.B) intakeTarget {
	b.Helper()
	if !benchOnCluster() {
		s := newBenchStack(b, nil)
		return intakeTarget{webhookURLs: []string{s.webhookURL}, dsn: s.dsn, salon: s.salon, body: realisticWebhook(b, s.fake, s.salon),
			drained: func() { s.waitInboxDrained() }, pids: singlePIDs(), profile: true}
	}
	bc := clusterForBench(b)
	salon, hook := bc.installSalon(b)
	// The webhooks go to the api processes in turn from the benchmark's client, not through
	// the cluster's proxy: in production a load balancer on machines of its own stands there,
	// and on this machine the proxy's second HTTP hop took as much CPU as an api process.
	u, err := url.Parse(hook)
	require.NoError(b, err)
	var urls []string
	for _, addr := range bc.c.apiAddrs {
		at := *u
		at.Scheme, at.Host = "http", addr
		urls = append(urls, at.String())
	}
	return intakeTarget{webhookURLs: urls, dsn: bc.dsn, salon: salon, body: realisticWebhook(b, bc.fake, salon),
		drained: func() {
			require.Eventually(b, func() bool { return bc.inboxPending(b, salon) == 0 }, 2*time.Minute, 20*time.Millisecond,
				"the cluster's dispatcher drains the inbox")
		},
		pids:        bc.pids(),
		profileAPIs: func() func() string { return profileProcesses(bc.c.Addrs.PProf, "api", "p1-cluster") },
		where: fmt.Sprintf("to %d api processes in turn (no proxy), %d workers, the cluster's database, ",
			len(urls), bc.c.opts.Workers)}
}
