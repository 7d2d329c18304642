package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db/sqlc"
)

const (
	shardSalons      = 20
	shardCount       = 4
	shardClientPhone = "79161234500"
	// shardWorkerEnv marks the test binary re-executed as an `aiadmin worker` process.
	shardWorkerEnv = "AIADMIN_SHARD_WORKER"
)

// TestShardWorkerProcess is not a test of its own: it is `aiadmin worker` (main's run, the
// environment as its configuration), in a child process that TestTwoWorkersShareWhatsAppShards
// starts by re-executing the test binary, so the code under test is always the current code.
func TestShardWorkerProcess(t *testing.T) {
	if os.Getenv(shardWorkerEnv) != "1" {
		t.Skip("a helper process of TestTwoWorkersShareWhatsAppShards")
	}
	if err := run([]string{"worker"}); err != nil {
		fmt.Fprintln(os.Stderr, "aiadmin:", err)
		os.Exit(1)
	}
}

// TestTwoWorkersShareWhatsAppShards: two worker processes split the WhatsApp shards; 20 salons
// are paired through the real install flow; one worker is killed (SIGKILL); the other takes
// its shards and reconnects its salons; every message is delivered exactly once and no
// connection is ever pushed off by another («stream replaced»).
func TestTwoWorkersShareWhatsAppShards(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" || os.Getenv(shardWorkerEnv) != "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`, which starts a Temporal dev server")
	}
	began := time.Now()
	h := newShardHarness(t, addr)
	a := h.startWorker("worker-a")
	b := h.startWorker("worker-b")
	h.waitFor(func() bool { return h.split(map[int]int{a.pid(): 2, b.pid(): 2}) },
		30*time.Second, "each worker owns two of the four shards", a, b)
	t.Logf("workers up, shards split 2/2: %s", time.Since(began).Round(time.Millisecond))

	// Pair 20 salons through the real install flow, all at once.
	var wg sync.WaitGroup
	errs := make([]error, len(h.salons))
	for i, id := range h.salons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.install(id, fmt.Sprintf("7999000%04d", i))
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	h.waitFor(h.welcomed, 30*time.Second, "every salon got its welcome message", a, b)
	require.True(t, h.consistent(map[int]int{a.pid(): 2, b.pid(): 2}), "each salon is connected by its shard's owner: %v / %v",
		h.owners(), h.connections())
	t.Logf("20 salons paired and welcomed: %s", time.Since(began).Round(time.Millisecond))
	h.routedToShardQueue(h.salons[0])

	for _, id := range h.salons {
		require.NoError(t, h.store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{
			SalonID: id, ReminderDayHour: 18, QuietFromMinute: 21 * 60, QuietToMinute: 9 * 60,
			PerMinute: 0, DailyCap: 300, Templates: []byte("{}")}))
	}
	h.book(0)
	h.waitFor(func() bool { return h.everySalonGot(shardClientPhone, 1) }, 40*time.Second,
		"every salon's client got a confirmation", a, b)
	t.Logf("first round of confirmations: %s", time.Since(began).Round(time.Millisecond))

	// Kill one worker the hard way: no shutdown, its sockets just close.
	require.NoError(t, a.cmd.Process.Kill())
	<-a.done
	killed := time.Now()
	h.waitFor(func() bool { return h.consistent(map[int]int{b.pid(): 4}) }, 20*time.Second,
		"the survivor owns every shard and holds every salon's connection", b)
	t.Logf("takeover after SIGKILL: %s", time.Since(killed).Round(time.Millisecond))

	h.book(1)
	h.waitFor(func() bool { return h.everySalonGot(shardClientPhone, 2) }, 40*time.Second,
		"every salon's client got the second confirmation, through the survivor", b)
	t.Logf("second round of confirmations: %s", time.Since(began).Round(time.Millisecond))

	// Exactly once, everywhere.
	stats := h.sim.Stats()
	require.Zero(t, stats.Replaced, "no salon ever had two live connections")
	require.Zero(t, stats.DuplicateSends, "no message ID was sent twice")
	for _, id := range h.salons {
		sent := h.sim.Messages(id)
		require.Len(t, sent, 3, "salon %d: welcome + two confirmations", id)
		ids, bodies := map[string]bool{}, map[string]bool{}
		for _, m := range sent {
			require.False(t, ids[m.ID], "salon %d: message %s recorded twice", id, m.ID)
			require.False(t, bodies[m.Phone+"\x00"+m.Text], "salon %d: the same text sent twice under two IDs", id)
			ids[m.ID], bodies[m.Phone+"\x00"+m.Text] = true, true
		}
		rows, err := h.store.ListMessages(context.Background(), id)
		require.NoError(t, err)
		ledger := map[string]bool{}
		for _, r := range rows {
			if r.Status == "sent" {
				ledger[r.WAMessageID] = true
			}
		}
		require.Equal(t, ids, ledger, "salon %d: the ledger and WhatsApp agree on what was sent", id)
	}
	require.True(t, h.consistent(map[int]int{b.pid(): 4}))
	require.Zero(t, h.sim.Stats().Replaced)
	require.False(t, b.exited(), "the survivor is still running")
	t.Logf("done: %s", time.Since(began).Round(time.Millisecond))
}
