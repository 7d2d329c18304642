package yclients_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

// budgetFake is a fake YClients enforcing its own 5 requests/second per IP, as YClients does.
func budgetFake(t *testing.T) (*yclientsfake.Fake, string) {
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: testPartnerToken, ApplicationID: testAppID, RPS: 5})
	fake.SeedDemo()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fake, srv.URL
}

// processes are n "processes" sharing one database: each has its own pool and its own client.
func processes(t *testing.T, n int, url string, limiter func(*db.Store) yclients.Limiter) []*yclients.Client {
	_, dsn := dbtest.New(t)
	var out []*yclients.Client
	for range n {
		store, err := db.Open(context.Background(), dsn)
		require.NoError(t, err)
		t.Cleanup(store.Close)
		out = append(out, yclients.New(yclients.Config{BaseURL: url, PartnerToken: testPartnerToken,
			ApplicationID: testAppID, Limiter: limiter(store)}))
	}
	return out
}

// burst makes calls requests from each client at once and returns the errors.
func burst(clients []*yclients.Client, calls int) []error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, c := range clients {
		for range calls {
			wg.Go(func() {
				_, err := c.Company(context.Background(), yclientsfake.DemoSalonMoscow)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return errs
}

// TestBudgetAcrossProcesses: three processes calling YClients at once stay within its limit
// together (no 429, at most 5 requests in any second) with the shared Budget; with a limiter
// per process, as before, they do not.
func TestBudgetAcrossProcesses(t *testing.T) {
	t.Run("a limiter per process exceeds YClients' limit", func(t *testing.T) {
		fake, url := budgetFake(t)
		burst(processes(t, 3, url, func(*db.Store) yclients.Limiter { return rate.NewLimiter(rate.Every(yclients.BudgetSpacing), 1) }), 6)
		require.Greater(t, fake.MaxRate(time.Second), 5.0, "three per-process limiters together")
	})
	t.Run("the shared budget does not", func(t *testing.T) {
		fake, url := budgetFake(t)
		start := time.Now()
		errs := burst(processes(t, 3, url, func(s *db.Store) yclients.Limiter { return yclients.NewBudget(s) }), 6)
		for _, err := range errs {
			require.NoError(t, err)
		}
		for _, r := range fake.Requests() {
			require.Equal(t, http.StatusOK, r.Status)
		}
		require.Len(t, fake.Requests(), 18)
		require.LessOrEqual(t, fake.MaxRate(time.Second), 5.0)
		require.GreaterOrEqual(t, time.Since(start), 17*yclients.BudgetSpacing, "200/minute: 18 requests 305 ms apart")
	})
}

// TestBudgetOwnersFirst: with background work queued for many seconds, a request an owner is
// waiting for (Urgent) goes within a few slots, not behind the queue.
func TestBudgetOwnersFirst(t *testing.T) {
	fake, url := budgetFake(t)
	clients := processes(t, 2, url, func(s *db.Store) yclients.Limiter { return yclients.NewBudget(s) })
	var wg sync.WaitGroup
	for range 20 { // 20 × 305 ms: a 6 s queue of background requests
		wg.Go(func() {
			_, err := clients[0].Staff(context.Background(), yclientsfake.DemoSalonMoscow)
			require.NoError(t, err)
		})
	}
	time.Sleep(300 * time.Millisecond) // the background queue has formed
	start := time.Now()
	_, err := clients[1].Company(yclients.Urgent(context.Background()), yclientsfake.DemoSalonMoscow)
	require.NoError(t, err)
	waited := time.Since(start)
	wg.Wait()
	require.Less(t, waited, 3*time.Second, "the owner's request waited behind the background queue")
	reqs := fake.Requests()
	for i, r := range reqs {
		if r.Path == "/api/v1/company/100001" {
			require.Less(t, i, 12, "the owner's request went %d-th of %d", i+1, len(reqs))
		}
	}
}

// TestBudgetDeadline: a caller whose deadline comes before any free slot gets an error at once
// and books nothing (the slots stay for others).
func TestBudgetDeadline(t *testing.T) {
	store, _ := dbtest.New(t)
	b := yclients.NewBudget(store)
	queued := time.Now()
	for range 5 { // a queue of 5 slots (1.5 s)
		_, ok, err := store.ReserveYClientsSlot(context.Background(), yclients.BudgetSpacing, time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
	}
	ctx, cancel := context.WithTimeout(yclients.Urgent(context.Background()), 400*time.Millisecond)
	defer cancel()
	require.Error(t, b.Wait(ctx))
	wait, ok, err := store.ReserveYClientsSlot(context.Background(), yclients.BudgetSpacing, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	sixth := time.Until(queued.Add(5 * yclients.BudgetSpacing))
	require.InDelta(t, sixth.Seconds(), wait.Seconds(), 0.15, "the 6th slot, none taken by the caller that gave up")
}

// countingSlots counts a SlotBook's bookings and looks.
type countingSlots struct {
	yclients.SlotBook
	n atomic.Int64
}

func (c *countingSlots) BookYClientsSlot(ctx context.Context, terms db.SlotTerms) (time.Duration, bool, error) {
	c.n.Add(1)
	return c.SlotBook.BookYClientsSlot(ctx, terms)
}

// TestBudgetBackgroundWaitersSpareTheStore: many background requests of one process waiting
// at once (a wave's catalogue syncs, each waiting for its turn) do not all keep asking the
// shared store for a slot: there are about 3 a second to hand out, and each look is a locked
// UPDATE every process waits on. They still get every slot there is, in turn.
func TestBudgetBackgroundWaitersSpareTheStore(t *testing.T) {
	store, _ := dbtest.New(t)
	slots := &countingSlots{SlotBook: store}
	b := yclients.NewBudget(slots)
	const waiters, run = 200, 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var got atomic.Int64
	var wg sync.WaitGroup
	for range waiters {
		wg.Go(func() {
			if b.Wait(ctx) == nil {
				got.Add(1)
			}
		})
	}
	wg.Wait()
	looks := float64(slots.n.Load()) / run.Seconds()
	t.Logf("%d background waiters: %.1f looks a second, %d slots", waiters, looks, got.Load())
	require.Less(t, looks, 30.0, "%d background waiters asked the store %.0f times a second", waiters, looks)
	require.GreaterOrEqual(t, got.Load(), int64(run/yclients.BudgetSpacing)-2,
		"the waiters got the slots of the %s: got %d", run, got.Load())
}

// TestBudgetQueuedBooksBehindALongQueue: a request an owner waits for in a queue (Queued)
// takes its turn behind a queue longer than an urgent request may wait (urgentHorizon, 30 s),
// at once, and says when its turn is; the next owner's turn is after it; an urgent request
// behind the same booked slots books nothing. When its turn comes, it books its slot and
// goes.
func TestBudgetQueuedBooksBehindALongQueue(t *testing.T) {
	store, _ := dbtest.New(t)
	b := yclients.NewBudget(store)
	queued := time.Now()
	dbtest.ReserveUrgentSlots(t, store, yclients.BudgetSpacing, 120) // 120 × 305 ms: a 36.6 s queue
	ctx, cancel := context.WithTimeout(yclients.Urgent(context.Background()), time.Second)
	defer cancel()
	require.Error(t, b.Wait(ctx), "an urgent request behind a 36 s queue")

	turn := func() time.Time {
		var slots []time.Time
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		start := time.Now()
		err := b.Wait(yclients.Queued(ctx, func(slot time.Time) { slots = append(slots, slot); cancel() }))
		require.ErrorIs(t, err, context.Canceled, "the caller gave up once it knew its turn")
		require.Less(t, time.Since(start), 2*time.Second, "taking a turn took long")
		require.Len(t, slots, 1)
		return slots[0]
	}
	want := queued.Add(120 * yclients.BudgetSpacing)
	first := turn()
	require.InDelta(t, 0, first.Sub(want).Seconds(), 0.3, "the turn after the queue: got %s want %s", first, want)
	second := turn()
	require.InDelta(t, 0, second.Sub(want.Add(yclients.BudgetSpacing)).Seconds(), 0.3,
		"the next owner's turn is after the first's: got %s want %s", second, want.Add(yclients.BudgetSpacing))

	// A short queue: the turn is now, and the request goes at once, its slot told.
	store2, _ := dbtest.New(t)
	var told []time.Time
	start := time.Now()
	require.NoError(t, yclients.NewBudget(store2).Wait(yclients.Queued(context.Background(),
		func(slot time.Time) { told = append(told, slot) })))
	require.Less(t, time.Since(start), time.Second, "a queued request with nobody ahead waited")
	require.Len(t, told, 2, "told its turn, then its slot")
}

// TestBudgetQueuedFailsBehindAQueueLongerThanItsHorizon: behind a queue longer than
// QueueHorizon, a queued request fails at once (its owner is told to come back later) instead
// of holding a page for a quarter of an hour.
func TestBudgetQueuedFailsBehindAQueueLongerThanItsHorizon(t *testing.T) {
	store, _ := dbtest.New(t)
	_, ok, err := store.ReserveYClientsSlot(context.Background(), yclients.QueueHorizon+time.Minute, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = store.ReserveYClientsSlot(context.Background(), yclients.BudgetSpacing, time.Hour) // 16 min ahead
	require.NoError(t, err)
	require.True(t, ok)
	start := time.Now()
	err = yclients.NewBudget(store).Wait(yclients.Queued(context.Background(), func(time.Time) { t.Error("booked a slot") }))
	require.ErrorIs(t, err, yclients.ErrBudgetDeadline)
	require.Less(t, time.Since(start), 2*time.Second, "failed late")
}

// TestBudgetUrgentGoesAheadOfTheOwnersQueue: while a wave of owners waits in the queue
// (Queued, minutes long), an urgent request — the activation callback of an owner who has
// just scanned the QR code — still gets a slot within seconds: it goes ahead of the owners
// who have not scanned yet, and their turns move one slot later. A background request stays
// behind the queue. (The first queue page booked the owners' slots themselves, so the
// activations of a 500-owner wave waited until every page read was made: active p50 981 s.)
func TestBudgetUrgentGoesAheadOfTheOwnersQueue(t *testing.T) {
	store, _ := dbtest.New(t)
	b := yclients.NewBudget(store)
	turn := func() time.Time {
		var slot time.Time
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := b.Wait(yclients.Queued(ctx, func(s time.Time) { slot = s; cancel() }))
		require.ErrorIs(t, err, context.Canceled, "the caller gave up once it knew its slot")
		return slot
	}
	start := time.Now()
	var last time.Time
	for range 120 { // 120 owners' reads: a 36.6 s queue
		last = turn()
	}
	require.InDelta(t, (119 * yclients.BudgetSpacing).Seconds(), last.Sub(start).Seconds(), 1.5, "the 120th owner's turn")

	ctx, cancel := context.WithTimeout(yclients.Urgent(context.Background()), 3*time.Second)
	defer cancel()
	began := time.Now()
	require.NoError(t, b.Wait(ctx), "an urgent request while owners wait in a 36 s queue")
	require.Less(t, time.Since(began), time.Second, "the urgent request waited for the queue")

	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	require.Error(t, b.Wait(ctx), "a background request goes ahead of the owners' queue")

	next := turn()
	require.InDelta(t, (121 * yclients.BudgetSpacing).Seconds(), next.Sub(start).Seconds(), 1.5,
		"the next owner's turn: after the 120 and the urgent request that went ahead")
}

// TestBudgetUrgentGoesAheadOfTurnsThatHaveCome: a wave of owners took their turns at once, and
// their reads come due one every slot; meanwhile owners who scanned their QR code keep asking
// for urgent slots (activation callbacks), one every slot too. An urgent request still goes
// within a couple of slots, whatever the number before it: the reads whose turn has come wait
// for the urgent ones, and every one of them is made. (Before, an owner's turn booked the next
// slot whatever waited: each urgent request added a slot to the wait of every one after it, and
// in a 500-owner wave activations waited minutes for their slots, the activity timing out.)
// The reads waiting for a slot do not all keep asking the store.
func TestBudgetUrgentGoesAheadOfTurnsThatHaveCome(t *testing.T) {
	store, _ := dbtest.New(t)
	slots := &countingSlots{SlotBook: store}
	b := yclients.NewBudget(slots)
	const turns, urgent = 40, 24
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var read atomic.Int64
	for range turns { // 40 owners' reads: their turns span 12 s
		wg.Go(func() {
			if b.Wait(yclients.Queued(ctx, nil)) == nil {
				read.Add(1)
			}
		})
	}
	time.Sleep(time.Second)
	var mu sync.Mutex
	var waits []time.Duration
	var urgentWG sync.WaitGroup
	for range urgent { // one every slot, for 7 s
		urgentWG.Go(func() {
			began := time.Now()
			err := b.Wait(yclients.Urgent(ctx))
			require.NoError(t, err)
			mu.Lock()
			waits = append(waits, time.Since(began))
			mu.Unlock()
		})
		time.Sleep(yclients.BudgetSpacing)
	}
	urgentWG.Wait()
	looks := slots.n.Load()
	wg.Wait()
	require.Equal(t, int64(turns), read.Load(), "every owner's read was made")
	slowest := slices.Max(waits)
	t.Logf("urgent requests waited at most %s; %d looks at the store", slowest, looks)
	require.Less(t, slowest, 4*yclients.BudgetSpacing, "an urgent request waited behind the owners' reads whose turn had come: %v", waits)
	require.Less(t, float64(looks), 8*float64(turns+urgent), "the waiting reads kept asking the store")
}

// TestBudgetBackgroundWaitsForTurnsThatHaveCome: the owners' queue has passed (every turn's
// time has come) but urgent requests hold the slots, so reads whose turn has come still wait;
// a background request (a catalogue sync) made meanwhile goes after them, not into the first
// slot the urgent requests leave. (Without it, a 500-owner wave's 1,500 sync calls ran during
// the wave, and the last owners waited 15 minutes for their page's reads.)
func TestBudgetBackgroundWaitsForTurnsThatHaveCome(t *testing.T) {
	store, _ := dbtest.New(t)
	b := yclients.NewBudget(store)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const turns = 5
	urgentEnd := time.Now().Add(4 * time.Second)
	var wg sync.WaitGroup
	for range 4 { // owners who scanned, asking for more slots than there are, for 4 s
		wg.Go(func() {
			for time.Now().Before(urgentEnd) {
				require.NoError(t, b.Wait(yclients.Urgent(ctx)))
			}
		})
	}
	var mu sync.Mutex
	var lastRead time.Time
	for range turns {
		wg.Go(func() {
			require.NoError(t, b.Wait(yclients.Queued(ctx, nil)))
			mu.Lock()
			lastRead = later(lastRead, time.Now())
			mu.Unlock()
		})
	}
	time.Sleep(2 * time.Second) // every turn has come: the queue is over, the reads still wait
	require.NoError(t, b.Wait(ctx), "the background request")
	went := time.Now()
	wg.Wait()
	require.True(t, went.After(lastRead), "the background request went %s before the last owner's read",
		lastRead.Sub(went).Round(time.Millisecond))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// TestBudgetClientMessagesGoBeforeBackgroundWork: a re-read a client's message waits for
// (Prompt) goes ahead of the background work queued in its own process and in the others —
// the catalogue syncs of a wave of new salons — instead of behind it. (make bench CLUSTER=1 of
// 2026-12-04 22:19: P2's 500 salons' syncs made 984 of the 1,189 YClients calls during P4, and
// P4's confirmations waited behind them: 8.3 bookings/s with the machine 51 % busy.)
func TestBudgetClientMessagesGoBeforeBackgroundWork(t *testing.T) {
	fake, url := budgetFake(t)
	clients := processes(t, 2, url, func(s *db.Store) yclients.Limiter { return yclients.NewBudget(s) })
	var wg sync.WaitGroup
	for _, c := range clients {
		for range 12 { // 24 × 305 ms: a 7 s queue of background requests, half in each process
			wg.Go(func() {
				_, err := c.Staff(context.Background(), yclientsfake.DemoSalonMoscow)
				require.NoError(t, err)
			})
		}
	}
	time.Sleep(300 * time.Millisecond) // the background queue has formed in both processes
	start := time.Now()
	_, err := clients[0].Company(yclients.Prompt(context.Background()), yclientsfake.DemoSalonMoscow)
	require.NoError(t, err)
	waited := time.Since(start)
	wg.Wait()
	require.Less(t, waited, 3*time.Second, "the client's re-read waited behind the background queue")
	reqs := fake.Requests()
	require.Len(t, reqs, 25)
	for i, r := range reqs {
		if r.Path == "/api/v1/company/100001" {
			require.Less(t, i, 10, "the client's re-read went %d-th of %d", i+1, len(reqs))
		}
	}
	require.LessOrEqual(t, fake.MaxRate(time.Second), 5.0)
}

// TestBudgetClientMessageReadsInARowKeepTheirPlace: the pages of a client's message's list are
// read one after the other (each Prompt request asks when the one before has its answer), while
// background work of two processes keeps looking for slots. Each page after the first goes
// within a slot or two of the page before it, instead of behind the background requests that
// booked the next 2 s in the moment between two pages. (make bench CLUSTER=1 of 2026-12-04
// 23:20: P4's salon made 142 calls in about 300 s, 2.1 s a call, while P2's catalogue syncs
// made 843.)
func TestBudgetClientMessageReadsInARowKeepTheirPlace(t *testing.T) {
	fake, clients, stop := busyBudget(t)
	var waits []time.Duration
	for range 6 {
		waits = append(waits, promptRead(t, clients[0]))
	}
	last := time.Now()
	time.Sleep(3 * time.Second) // the background work goes on once the pages stop
	stop()
	t.Logf("the pages waited %v", waits)
	requireKeptTheirPlace(t, "page", waits)
	after := backgroundRequests(fake, last, last.Add(3*time.Second))
	require.GreaterOrEqual(t, len(after), 4, "background requests in the 3 s after the last page: %d", len(after))
	require.Less(t, after[0].Sub(last), 1500*time.Millisecond, "the background work was kept off for %s after the last page", after[0].Sub(last))
	require.LessOrEqual(t, fake.MaxRate(time.Second), 5.0)
}

// TestBudgetClientMessagesLeaveTheRestToBackgroundWork: with a client's message every second
// (a busy hour: each message one Prompt request), the background work of two processes still
// gets the slots the messages leave, and each message after the first goes within a slot or
// two instead of behind 2 s of background requests.
func TestBudgetClientMessagesLeaveTheRestToBackgroundWork(t *testing.T) {
	fake, clients, stop := busyBudget(t)
	const messages = 7
	var waits []time.Duration
	var first, last time.Time
	for i := range messages {
		waits = append(waits, promptRead(t, clients[i%2]))
		if i == 0 {
			first = time.Now()
		}
		last = time.Now()
		time.Sleep(time.Second)
	}
	stop()
	background := len(backgroundRequests(fake, first, last))
	span := last.Sub(first)
	free := int(span/yclients.BudgetSpacing) - (messages - 1)
	t.Logf("the messages waited %v; background work made %d requests in the %s between the first and the last (%d slots left by the messages)",
		waits, background, span.Round(time.Millisecond), free)
	requireKeptTheirPlace(t, "message", waits)
	require.GreaterOrEqual(t, background, free*2/3, "background work got %d of the %d slots the messages left", background, free)
	require.LessOrEqual(t, fake.MaxRate(time.Second), 5.0)
}

// busyBudget is the setup of the tests of client messages among background work: the fake,
// two processes sharing the budget, and backgroundWork on both, with its stop.
func busyBudget(t *testing.T) (*yclientsfake.Fake, []*yclients.Client, func()) {
	fake, url := budgetFake(t)
	clients := processes(t, 2, url, func(s *db.Store) yclients.Limiter { return yclients.NewBudget(s) })
	return fake, clients, backgroundWork(t, clients)
}

// promptRead is one read of a client's message (a Prompt request for the company) and how
// long it took.
func promptRead(t *testing.T, c *yclients.Client) time.Duration {
	start := time.Now()
	_, err := c.Company(yclients.Prompt(context.Background()), yclientsfake.DemoSalonMoscow)
	require.NoError(t, err)
	return time.Since(start)
}

// requireKeptTheirPlace fails unless every read after the first (what: "page", "message")
// waited less than 3 slots: within a slot or two, not behind the background work.
func requireKeptTheirPlace(t *testing.T, what string, waits []time.Duration) {
	t.Helper()
	for i, w := range waits[1:] {
		require.Less(t, w, 3*yclients.BudgetSpacing, "%s %d of %d waited %s behind background work (all: %v)", what, i+2, len(waits), w, waits)
	}
}

// backgroundRequests are when the fake took the requests of backgroundWork (any but the
// company reads of the tests' Prompt requests) between from and to, in order.
func backgroundRequests(fake *yclientsfake.Fake, from, to time.Time) []time.Time {
	var at []time.Time
	for _, r := range fake.Requests() {
		if r.Path != "/api/v1/company/100001" && r.At.After(from) && r.At.Before(to) {
			at = append(at, r.At)
		}
	}
	return at
}

// backgroundWork keeps 6 background requests of each client looking for a slot, one after the
// other, until stop, which returns once they are done; it returns when they have booked their
// slots ahead.
func backgroundWork(t *testing.T, clients []*yclients.Client) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range clients {
		for range 6 {
			wg.Go(func() {
				for ctx.Err() == nil {
					_, err := c.Staff(ctx, yclientsfake.DemoSalonMoscow)
					if ctx.Err() == nil {
						require.NoError(t, err)
					}
				}
			})
		}
	}
	time.Sleep(time.Second)
	return func() { cancel(); wg.Wait() }
}

// TestBudgetAnOwnersReadsFollowEachOther: the register page reads the company, then (or
// meanwhile) the integration's status, each taking its turn in the owners' queue. With nobody
// else asking, the second read goes in the slot after the first, not 2.3 s later: a turn that
// has come holds background work back for a while after its slot (HoldQueue), and that hold
// once moved the end of the owners' queue too, so every owner's next read, the same owner's
// status among them, waited behind it (a QR code 2.8 s after an idle cluster's register page,
// 8.8 s right after a wave).
func TestBudgetAnOwnersReadsFollowEachOther(t *testing.T) {
	store, _ := dbtest.New(t)
	b := yclients.NewBudget(store)
	ctx := context.Background()
	slotOf := func() time.Time {
		var slot time.Time
		require.NoError(t, b.Wait(yclients.Queued(ctx, func(s time.Time) { slot = s }))) // told the turn, then the slot
		return slot
	}
	first := slotOf()
	second := slotOf()
	require.LessOrEqual(t, second.Sub(first), 2*yclients.BudgetSpacing,
		"the owner's second read went %s after the first", second.Sub(first).Round(time.Millisecond))

	// Background work still waits for the hold: the next slot is left to the owners' reads.
	ok, wait := bookBackground(t, store)
	require.False(t, ok, "a background request booked a slot %s ahead while the owners' turns hold it back", wait)
}

// bookBackground books a slot as background work does (behind the owners' queue, within 2 s).
func bookBackground(t *testing.T, store *db.Store) (bool, time.Duration) {
	wait, ok, err := store.BookYClientsSlot(context.Background(), yclients.BackgroundTerms())
	require.NoError(t, err)
	return ok, wait
}

// TestBudgetQueuedWithNextKeepsTheTurnAfterIt: a read the same owner's next read follows
// (QueuedWithNext) takes the turn after its own for it; the next owner's turn comes after
// both, and the read given that turn (QueuedAt) goes in it, before the next owner's.
func TestBudgetQueuedWithNextKeepsTheTurnAfterIt(t *testing.T) {
	store, _ := dbtest.New(t)
	b := yclients.NewBudget(store)
	ctx := context.Background()
	queued := time.Now()
	dbtest.ReserveUrgentSlots(t, store, yclients.BudgetSpacing, 10) // a 3 s queue
	firstTold, nextTold := make(chan time.Time, 2), make(chan time.Time, 1)
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- b.Wait(yclients.QueuedWithNext(ctx, func(turn time.Time) { firstTold <- turn },
			func(turn time.Time) { nextTold <- turn }))
	}()
	firstTurn, nextTurn := told(t, firstTold), told(t, nextTold)
	require.Equal(t, yclients.BudgetSpacing, nextTurn.Sub(firstTurn), "the turn kept for the next read is the one after")
	want := queued.Add(10 * yclients.BudgetSpacing)
	require.InDelta(t, 0, firstTurn.Sub(want).Seconds(), 0.3, "the first read's turn after the queue")

	otherTold := make(chan time.Time, 2)
	otherDone := make(chan error, 1)
	go func() { otherDone <- b.Wait(yclients.Queued(ctx, func(turn time.Time) { otherTold <- turn })) }()
	otherTurn := told(t, otherTold)
	require.InDelta(t, 0, otherTurn.Sub(firstTurn.Add(2*yclients.BudgetSpacing)).Seconds(), 0.1,
		"the next owner's turn comes after both of the first owner's")

	require.NoError(t, <-firstDone)
	var slots []time.Time
	require.NoError(t, b.Wait(yclients.QueuedAt(ctx, nextTurn, func(slot time.Time) { slots = append(slots, slot) })))
	require.Len(t, slots, 2, "told its turn, then its slot")
	require.Equal(t, nextTurn, slots[0], "no turn of its own: the one kept for it")
	require.NoError(t, <-otherDone)
	require.Less(t, slots[1].Sub(nextTurn), yclients.BudgetSpacing, "the next read went in the turn kept for it")
	require.True(t, otherTurn.After(slots[1]), "before the next owner's turn")

	// A turn kept for a read further ahead than the read may wait: it fails at once.
	far, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	require.ErrorIs(t, b.Wait(yclients.QueuedAt(far, time.Now().Add(time.Minute), nil)), yclients.ErrBudgetDeadline)
}

// told is the first time told on c, within 5 s.
func told(t *testing.T, c <-chan time.Time) time.Time {
	t.Helper()
	select {
	case at := <-c:
		return at
	case <-time.After(5 * time.Second):
		t.Fatal("not told within 5 s")
		return time.Time{}
	}
}

// TestBudgetAKeptTurnGoesAheadOfTurnsThatHaveCome: in a wave the activation callbacks go
// ahead of the owners' queue, so the owners' turns come before a slot is free and their reads
// wait, in the order their turns came (turnLookers). The salon's status read, in the turn its
// company's read kept for it, is asked only once the company's answer is in: it goes right
// after it, not behind every turn that came meanwhile. (In a 500-owner wave, 817 calls went
// before the median owner's status read where its company, its status and the callbacks of
// the owners before it make about 750: the status reads of the wave's second half waited
// behind the companies of the owners after them.)
func TestBudgetAKeptTurnGoesAheadOfTurnsThatHaveCome(t *testing.T) {
	store, _ := dbtest.New(t)
	b := yclients.NewBudget(store)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbtest.ReserveUrgentSlots(t, store, yclients.BudgetSpacing, 4)
	companySlot, nextTold := make(chan time.Time, 16), make(chan time.Time, 1)
	companyDone := make(chan error, 1)
	go func() {
		companyDone <- b.Wait(yclients.QueuedWithNext(ctx, func(at time.Time) { companySlot <- at },
			func(turn time.Time) { nextTold <- turn }))
	}()
	told(t, companySlot) // its turn
	statusTurn := told(t, nextTold)
	const others = 10
	var wg sync.WaitGroup
	for range others { // the owners after it: their turns come within 4 s
		wg.Go(func() { assert.NoError(t, b.Wait(yclients.Queued(ctx, nil))) })
	}
	time.Sleep(200 * time.Millisecond)
	dbtest.ReserveUrgentSlots(t, store, yclients.BudgetSpacing, 16) // callbacks: no slot is free until every owner's turn has come
	require.NoError(t, <-companyDone)
	var slot time.Time // the last slot it was told: it books again when woken late
	for len(companySlot) > 0 {
		slot = <-companySlot
	}
	var statusSlot time.Time
	require.NoError(t, b.Wait(yclients.QueuedAt(ctx, statusTurn, func(at time.Time) { statusSlot = at })))
	wg.Wait()
	t.Logf("the company's slot %s after its turn; the status's slot %s after the company's", slot.Sub(statusTurn.Add(-yclients.BudgetSpacing)).Round(time.Millisecond),
		statusSlot.Sub(slot).Round(time.Millisecond))
	require.True(t, slot.After(statusTurn.Add(others*yclients.BudgetSpacing)), "the turns of the owners after it had all come before its company's slot")
	require.Less(t, statusSlot.Sub(slot), 4*yclients.BudgetSpacing, "the status's read waited behind the turns that came meanwhile")
}
