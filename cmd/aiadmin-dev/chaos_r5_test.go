package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/cmd/internal/shard"
	"github.com/aiadmin/aiadmin/workflows"
)

// runR5 (PostgreSQL restart): the suite's PostgreSQL server (the application's and Temporal's
// databases) restarted while webhooks arrive → the api and worker processes recover without
// a restart, nothing answered 2xx is lost, and the dispatcher lock and the WhatsApp shard
// locks are taken again, each by exactly one live worker.
func runR5(t *testing.T, s *chaosSuite) {
	s.up(t)
	salons := s.addSalons(min(10, max(3, s.size.r5Bookings/10)))
	require.Empty(t, s.installAll(salons, 10, s.size.settle, nil), "installs")
	s.noPacing(t, salons)
	began := time.Now()
	traffic := 20 * time.Second
	restartAt := make([]time.Duration, s.size.r5Restarts)
	for i := range restartAt { // spread over the middle of the traffic
		restartAt[i] = traffic/4 + time.Duration(i)*traffic/2/time.Duration(len(restartAt)) + time.Duration(rand.Int64N(int64(2*time.Second)))
	}
	restarts := make(chan []string, 1)
	go func() { restarts <- s.restartPostgres(t, began, restartAt) }()
	var bookings []chaosBooking
	gap := traffic / time.Duration(s.size.r5Bookings)
	for i := range s.size.r5Bookings {
		b, err := s.book(salons[i%len(salons)], 2+i%10, 1)
		require.NoError(t, err)
		bookings = append(bookings, b)
		time.Sleep(time.Until(began.Add(time.Duration(i+1) * gap)))
	}
	did := <-restarts
	s.waitUntil(t, time.Minute, "R5: YClients done delivering", func() (bool, string) {
		n := s.pendingDeliveries(bookings, began)
		return n == 0, fmt.Sprintf("%d webhooks not delivered for good", n)
	})
	taken, refused := s.takenWebhooks(bookings, began)
	waiting, wrong := s.settle(t, s.size.settle, salons, false, func() ([]string, []string) { return s.checkConfirmed(taken) })
	locks := s.lockHolders()
	var notReady []string
	for _, api := range s.c.Addrs.APIs {
		if !httpOK(context.Background(), s.hc, api+"/readyz") {
			notReady = append(notReady, api)
		}
	}
	report(t, "R5: PostgreSQL restarted %d times [%s] under %d webhooks: %d answered 2xx, %d attempts refused while it was down (YClients gave up on %d); %d/%d answered 2xx confirmed exactly once, %d wrong, %d lost; no process restarted, %d api not ready; now %s",
		len(did), strings.Join(did, "; "), len(bookings), len(taken), refused, len(bookings)-len(taken), len(taken)-len(waiting)-len(wrong),
		len(taken), len(wrong), len(waiting), len(notReady), locks)
	require.Len(t, did, s.size.r5Restarts, "restarts done")
	require.Empty(t, append(wrong, waiting...), "webhooks answered 2xx but lost or doubled:\n  %s", firstFew(append(wrong, waiting...), 30))
	require.Empty(t, notReady, "api processes not ready again without a restart")
	require.NotContains(t, locks, "!", "locks not held by exactly one live worker each")
}

// restartPostgres restarts the server at the given moments after began and says, each time,
// how long it was away and how soon after it the dispatcher and shard locks were held again
// by exactly one live worker each.
func (s *chaosSuite) restartPostgres(t *testing.T, began time.Time, at []time.Duration) []string {
	var did []string
	for _, d := range at {
		time.Sleep(time.Until(began.Add(d)))
		away, err := s.pg.restart()
		if err != nil {
			t.Errorf("PostgreSQL restart: %v", err)
			return did
		}
		back := time.Now()
		retaken := "not within 60 s"
		for time.Since(back) < time.Minute {
			if locks := s.lockHolders(); !strings.Contains(locks, "!") {
				retaken = time.Since(back).Round(100 * time.Millisecond).String()
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		did = append(did, fmt.Sprintf("at %s, away %s, locks again after %s", d.Round(100*time.Millisecond),
			away.Round(100*time.Millisecond), retaken))
	}
	return did
}

// pendingDeliveries counts the bookings whose create webhook the fake has not finished with.
func (s *chaosSuite) pendingDeliveries(bs []chaosBooking, since time.Time) int {
	final := map[int64]bool{}
	for _, d := range s.fake.Deliveries() {
		if d.Resource == "record" && d.Final && !d.At.Before(since) {
			final[d.ResourceID] = true
		}
	}
	n := 0
	for _, b := range bs {
		if !final[b.record] {
			n++
		}
	}
	return n
}

// takenWebhooks are the bookings whose webhook some attempt got answered 2xx; refused counts
// the attempts that were not.
func (s *chaosSuite) takenWebhooks(bs []chaosBooking, since time.Time) (taken []chaosBooking, refused int) {
	ok := map[int64]bool{}
	for _, d := range s.fake.Deliveries() {
		if d.Resource != "record" || d.At.Before(since) {
			continue
		}
		if d.HTTPStatus/100 == 2 {
			ok[d.ResourceID] = true
		} else {
			refused++
		}
	}
	for _, b := range bs {
		if ok[b.record] {
			taken = append(taken, b)
		}
	}
	return taken, refused
}

// lockHolders describes who holds the dispatcher lock and the shard locks, in PostgreSQL and
// in the workers' own logs; a "!" marks what is not exactly one live worker.
func (s *chaosSuite) lockHolders() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	live := map[int]string{}
	for _, name := range s.c.workers() {
		if p := s.c.child(name); p != nil && !p.exited() {
			live[p.cmd.Process.Pid] = name
		}
	}
	var holders []string
	rows, err := s.store.Pool.Query(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'aiadmin-inbox %'`)
	if err != nil {
		return "! " + err.Error()
	}
	for rows.Next() {
		var app string
		_ = rows.Scan(&app)
		holders = append(holders, live[pidOf(app)])
	}
	rows.Close()
	var believers []string
	for pid, name := range live {
		if lastDispatcherState(s.c.child(name).log, pid) == "working" {
			believers = append(believers, name)
		}
	}
	slices.Sort(believers)
	out := fmt.Sprintf("dispatcher lock held by %v, working: %v", holders, believers)
	if len(holders) != 1 || holders[0] == "" || !slices.Equal(holders, believers) {
		out = "! " + out
	}
	owners, err := shard.Owners(ctx, s.store.Pool, clusterNamespace+"/"+workflows.TaskQueue, s.c.opts.Shards)
	if err != nil {
		return out + "; ! shards: " + err.Error()
	}
	perWorker := map[string][]int{}
	for k := range s.c.opts.Shards {
		name := live[pidOf(owners[k])]
		if name == "" {
			out += fmt.Sprintf("; ! shard %d not held by a live worker", k)
			continue
		}
		perWorker[name] = append(perWorker[name], k)
	}
	for name, ks := range perWorker {
		out += fmt.Sprintf("; %s shards %v", name, ks)
	}
	return out
}

var pidRE = regexp.MustCompile(`pid (\d+)`)

func pidOf(app string) int {
	m := pidRE.FindStringSubmatch(app)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// lastDispatcherState is what the worker with this pid last logged about the dispatcher
// lock: "working", "stopped" or "".
func lastDispatcherState(logPath string, pid int) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	me := fmt.Sprintf("pid %d", pid)
	state := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !strings.Contains(line, "inbox dispatcher"):
		case strings.Contains(line, "working") && strings.Contains(line, me):
			state = "working"
		case strings.Contains(line, "stopped") && strings.Contains(line, me), strings.Contains(line, "lock connection lost"):
			state = "stopped"
		}
	}
	return state
}
