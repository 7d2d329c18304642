package activities

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients"
)

// listCall is one list read the fake source was asked for; answer releases it with the
// records YClients holds at that moment. With heldLists.turns, turn (closed by the test) is
// its slot in the YClients budget coming: only then does its request go out.
type listCall struct {
	changed bool      // ChangedRecords, not Records
	after   time.Time // ChangedRecords' after
	before  time.Time // ChangedRecords' before
	turn    chan struct{}
	answer  chan []yclients.Record
}

// heldLists is a list source whose reads wait until the test answers them; with turns they
// first wait for their turn in the budget, as the client's requests do (yclients.Sending is
// called when the request goes out), otherwise their request goes out at once.
type heldLists struct {
	calls chan listCall
	turns bool
}

func (h heldLists) Records(ctx context.Context, _ int64, _, _ time.Time) ([]yclients.Record, error) {
	return h.wait(ctx, listCall{answer: make(chan []yclients.Record)})
}

func (h heldLists) ChangedRecords(ctx context.Context, _ int64, _, after, before time.Time) ([]yclients.Record, error) {
	return h.wait(ctx, listCall{changed: true, after: after, before: before, answer: make(chan []yclients.Record)})
}

func (h heldLists) wait(ctx context.Context, c listCall) ([]yclients.Record, error) {
	if h.turns {
		c.turn = make(chan struct{})
		h.calls <- c
		select {
		case <-c.turn:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		yclients.Sending(ctx)
	} else {
		yclients.Sending(ctx)
		h.calls <- c
	}
	select {
	case recs := <-c.answer:
		return recs, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// A notice is never answered from a list whose read began before it asked: a confirmation
// that comes while a list is being read (the record may have been deleted a moment ago) waits
// for the next list, and every notice that comes meanwhile shares that one, which asks for the
// records changed since the oldest state they tell. Reminders keep sharing any list of the
// last 10 minutes, their own.
func TestNoticesShareOnlyAListReadAfterThem(t *testing.T) {
	h := heldLists{calls: make(chan listCall, 10)}
	d := &dayLists{yc: h, now: time.Now}
	day := time.Date(2026, 12, 12, 14, 0, 0, 0, time.FixedZone("MSK", 3*3600))
	changed := day.Add(-48 * time.Hour)

	type result struct {
		rec   yclients.Record
		found bool
	}
	ask := func(recordID int64, since time.Time) chan result {
		out := make(chan result, 1)
		go func() {
			rec, found, err := d.record(context.Background(), 1, recordID, day, true, since)
			require.NoError(t, err)
			out <- result{rec, found}
		}()
		return out
	}
	first := ask(101, changed)
	a := <-h.calls
	require.True(t, a.changed)
	require.Equal(t, changed.Add(-time.Second), a.after, "the records changed since the state told (whole seconds)")

	// While the first list is being read, three notices ask; the second changed earlier.
	later := []chan result{ask(102, changed.Add(time.Minute)), ask(103, changed.Add(-time.Minute)), ask(104, changed)}
	require.Eventually(t, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		l := newestNoticeList(d, 1, "2026-12-12")
		return l != nil && !l.started && l.since.Equal(changed.Add(-time.Minute))
	}, 5*time.Second, time.Millisecond, "the three wait for one list that has not begun")
	select {
	case c := <-h.calls:
		t.Fatalf("a second list began while the first was being read: %+v", c)
	case <-time.After(50 * time.Millisecond):
	}

	// The first list has 101..104 as they were when it was read: 102 not yet deleted.
	a.answer <- []yclients.Record{{ID: 101}, {ID: 102}, {ID: 103}, {ID: 104}}
	r := <-first
	require.True(t, r.found)
	b := <-h.calls
	require.True(t, b.changed)
	require.Equal(t, changed.Add(-time.Minute-time.Second), b.after, "from the oldest change the waiting notices tell")
	b.answer <- []yclients.Record{{ID: 102, Deleted: true}, {ID: 103}, {ID: 104}}
	got := map[int64]result{}
	for i, c := range later {
		got[int64(102+i)] = <-c
	}
	require.True(t, got[102].found)
	require.True(t, got[102].rec.Deleted, "102 as the list read after it asked has it")
	require.True(t, got[103].found && got[104].found)
	select {
	case c := <-h.calls:
		t.Fatalf("a third list for three waiting notices: %+v", c)
	default:
	}

	// A reminder reads the whole day with its own list, and the next reminder shares it.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			rec, found, err := d.record(context.Background(), 1, 105, day, false, time.Time{})
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, int64(105), rec.ID)
		})
	}
	c := <-h.calls
	require.False(t, c.changed, "a reminder reads the day")
	c.answer <- []yclients.Record{{ID: 105}}
	wg.Wait()

	// A notice that asks when no list is being read starts one at once; one that tells no
	// change time reads the whole day's changes.
	last := ask(106, time.Time{})
	c = <-h.calls
	require.True(t, c.changed)
	require.True(t, c.after.IsZero())
	c.answer <- nil
	require.False(t, (<-last).found, "not in the list: the caller reads the record itself")
}

// A list whose request has not gone out yet (it waits for its slot in the cluster's YClients
// budget, up to 305 ms) is still read after a notice that asks meanwhile: the notice shares
// it instead of waiting for the next one, unless it tells a change outside those the list asks
// for (its query is made). Once the request has gone out, a notice waits for the
// next list.
func TestNoticesShareAListWaitingForItsTurn(t *testing.T) {
	tl := newTurnLists(t)
	h, d, day, changed, noCall := tl.h, tl.d, tl.day, tl.changed, tl.noCall
	first := tl.ask(201, changed)
	a := <-h.calls // its read has begun and waits for its turn
	l1 := tl.current()
	require.Same(t, l1, d.noticeList(1, day, changed), "a notice that asks meanwhile shares the list")
	l2 := d.noticeList(1, day, changed.Add(-time.Minute))
	require.NotSame(t, l1, l2, "a notice of an older change than the list asks for waits for a list of its own")
	noCall("a second list while the first waits for its turn")

	close(a.turn)
	require.Eventually(t, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return l1.started
	}, 5*time.Second, time.Millisecond, "the request goes out")
	require.Same(t, l2, d.noticeList(1, day, changed), "after the request went out, a notice waits for the next list")
	noCall("the next list begins before the first is in")
	a.answer <- []yclients.Record{{ID: 201}, {ID: 202}, {ID: 203}}
	require.True(t, <-first)
	<-l1.ready
	require.Contains(t, l1.records, int64(202))

	b := <-h.calls
	require.Equal(t, changed.Add(-time.Minute-time.Second), b.after)
	close(b.turn)
	b.answer <- []yclients.Record{{ID: 203, Deleted: true}, {ID: 204}}
	<-l2.ready
	require.True(t, l2.records[203].Deleted, "203 as the second list has it")
	noCall("a third list")
}

// A notices' list asks only for the records changed between the oldest and the newest change
// its notices tell (a second either side: last_change_date has whole seconds). Under a backlog
// the notices sent now tell changes of seconds ago; a list from the oldest of them up to now
// held every record made since (at 50 bookings a second, ten pages of YClients' 100) for the
// few notices that asked. A record changed again after the newest is not in the list: its
// notice reads the record itself.
func TestNoticeListAsksOnlyForItsNoticesChanges(t *testing.T) {
	tl := newTurnLists(t)
	h, d, day, changed := tl.h, tl.d, tl.day, tl.changed
	first := tl.ask(301, changed)
	a := <-h.calls
	require.Equal(t, changed.Add(-time.Second), a.after)
	require.Equal(t, changed.Add(2*time.Second), a.before, "up to the change it tells and a second later, not up to now")
	l1 := tl.current()
	require.Same(t, l1, d.noticeList(1, day, changed), "a notice of a change its query holds shares it")
	require.Same(t, l1, d.noticeList(1, day, changed.Add(time.Second)), "so does one of the next second, which came meanwhile")
	l2 := d.noticeList(1, day, changed.Add(time.Minute))
	require.NotSame(t, l1, l2, "a notice of a newer change than the list asks for waits for a list of its own")
	require.Same(t, l2, d.noticeList(1, day, changed.Add(2*time.Minute)), "the next list widens before it begins")
	require.Same(t, l2, d.noticeList(1, day, changed.Add(-time.Minute)), "both ways")
	tl.noCall("a second list while the first waits for its turn")

	close(a.turn)
	a.answer <- []yclients.Record{{ID: 301}}
	require.True(t, <-first)
	b := <-h.calls
	require.Equal(t, changed.Add(-time.Minute-time.Second), b.after)
	require.Equal(t, changed.Add(2*time.Minute+2*time.Second), b.before)
	close(b.turn)
	b.answer <- nil
	<-l2.ready

	// A notice that tells no change time reads the whole day's changes, unbounded.
	last := tl.ask(302, time.Time{})
	c := <-h.calls
	require.True(t, c.after.IsZero())
	require.True(t, c.before.IsZero())
	close(c.turn)
	c.answer <- []yclients.Record{{ID: 302}}
	require.True(t, <-last)
}

// turnLists is a dayLists on a held source whose reads wait for their turn in the budget,
// with one day and one change time (two days before it) for the notices of a test.
type turnLists struct {
	t       *testing.T
	h       heldLists
	d       *dayLists
	clock   *testClock
	day     time.Time
	changed time.Time
}

func newTurnLists(t *testing.T) *turnLists {
	h := heldLists{calls: make(chan listCall, 10), turns: true}
	day := time.Date(2026, 12, 12, 14, 0, 0, 0, time.FixedZone("MSK", 3*3600))
	clock := &testClock{at: time.Now()}
	return &turnLists{t: t, h: h, d: &dayLists{yc: h, now: clock.now}, clock: clock, day: day, changed: day.Add(-48 * time.Hour)}
}

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *testClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.at }
func (c *testClock) add(d time.Duration) { c.mu.Lock(); c.at = c.at.Add(d); c.mu.Unlock() }

// numbered is n records with IDs from on.
func numbered(n int, from int64) []yclients.Record {
	out := make([]yclients.Record, n)
	for i := range out {
		out[i] = yclients.Record{ID: from + int64(i)}
	}
	return out
}

// noCall fails the test if a list read begins within 50 ms.
func (tl *turnLists) noCall(why string) {
	select {
	case c := <-tl.h.calls:
		tl.t.Fatalf("%s: %+v", why, c)
	case <-time.After(50 * time.Millisecond):
	}
}

// ask asks for a notice's record; the channel gets whether the list held it.
func (tl *turnLists) ask(recordID int64, changedSince time.Time) chan bool {
	found := make(chan bool, 1)
	go func() {
		_, ok, err := tl.d.record(context.Background(), 1, recordID, tl.day, true, changedSince)
		require.NoError(tl.t, err)
		found <- ok
	}()
	return found
}

// current is the notices' list of the day now stored.
func (tl *turnLists) current() *dayList {
	tl.d.mu.Lock()
	defer tl.d.mu.Unlock()
	return newestNoticeList(tl.d, 1, "2026-12-12")
}

// newestNoticeList is the newest of the notices' lists of the salon's day not in yet, nil
// when none; d.mu is held.
func newestNoticeList(d *dayLists, salonID int64, day string) *dayList {
	n := d.notices[dayKey{salonID: salonID, day: day, changed: true}]
	if n == nil || len(n.open) == 0 {
		return nil
	}
	return n.open[len(n.open)-1]
}

// Under a backlog the notices that wait together tell changes far apart. Once a list has
// told how densely the day's records change, a notice whose change is more than about a page
// of YClients' 100 away from a waiting list's gets a list of its own instead of widening it
// over every record changed in between; one near enough still widens it. Both are read after
// the list in flight.
func TestNoticeListsSplitWhereTheirChangesAreFarApart(t *testing.T) {
	tl := newTurnLists(t)
	h, d, day, changed := tl.h, tl.d, tl.day, tl.changed

	// The first list: 300 records changed over its 3 s (the change and its padding), 100 a
	// second, so a list of one notice's change takes 3 pages. (Its one notice did not make it
	// pay; later than noticeAloneFresh the next notice has a list again.)
	first := tl.ask(1, changed)
	a := <-h.calls
	close(a.turn)
	a.answer <- numbered(300, 1)
	require.True(t, <-first)
	tl.clock.add(noticeAloneFresh)

	// The next list waits for its turn; notices come meanwhile.
	inFlight := tl.ask(1001, changed.Add(10*time.Second))
	b := <-h.calls
	l1 := tl.current()
	require.Same(t, l1, d.noticeList(1, day, changed.Add(10*time.Second+500*time.Millisecond)), "its query holds this change")
	l2 := d.noticeList(1, day, changed.Add(time.Minute))
	require.NotSame(t, l1, l2, "a change its query does not hold waits for the next list")
	require.Same(t, l2, d.noticeList(1, day, changed.Add(time.Minute+time.Second)),
		"a second later: one more page in that list, cheaper than a list of its own")
	l3 := d.noticeList(1, day, changed.Add(2*time.Minute))
	require.NotSame(t, l2, l3, "a minute later: 60 more pages in that list, against 3 in a list of its own")
	require.Same(t, l3, d.noticeList(1, day, changed.Add(2*time.Minute-time.Second)), "near the second list: it widens")
	tl.noCall("a list before the one in flight is in")

	close(b.turn)
	b.answer <- numbered(300, 1001)
	require.True(t, <-inFlight)
	windows := map[time.Time]time.Time{}
	for range 2 {
		c := <-h.calls
		windows[c.after] = c.before
		close(c.turn)
		c.answer <- nil
	}
	require.Equal(t, map[time.Time]time.Time{
		changed.Add(time.Minute - time.Second):     changed.Add(time.Minute + 3*time.Second),
		changed.Add(2*time.Minute - 2*time.Second): changed.Add(2*time.Minute + 2*time.Second),
	}, windows, "two lists, each over its own notices' changes, not one over the minute between them")
	<-l2.ready
	<-l3.ready
	tl.noCall("a third list")
}

// A list pays when it is shared by as many notices as it takes pages. On a day whose records
// change densely (a list of one notice's change takes 3 pages) a list read for one notice
// makes the next notice that finds no list to share read its record on its own (one request,
// not three) for noticeAloneFresh; then a list tells again, and while lists are shared
// enough, or take one page, notices keep to them.
func TestNoticeAloneOnADenseDayReadsItsRecord(t *testing.T) {
	tl := newTurnLists(t)
	h, d, day, changed := tl.h, tl.d, tl.day, tl.changed
	alone := func(recordID int64, since time.Time) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, found, err := d.record(ctx, 1, recordID, day, true, since)
		require.NoError(t, err, "it waited for a list")
		require.False(t, found, "no list: the caller reads the record itself")
		tl.noCall("a list for a notice alone on a dense day")
	}

	first := tl.ask(1, changed)
	a := <-h.calls
	close(a.turn)
	a.answer <- numbered(300, 1) // 3 pages for 1 notice
	require.True(t, <-first)
	alone(2, changed.Add(time.Second))
	tl.clock.add(noticeAloneFresh - time.Millisecond)
	alone(3, changed.Add(2*time.Second))

	// Later, a list again; shared by 3 notices while it waits for its turn, it pays.
	tl.clock.add(time.Millisecond)
	second := tl.ask(301, changed.Add(10*time.Second))
	b := <-h.calls
	l := tl.current()
	for i := range 2 {
		require.Same(t, l, d.noticeList(1, day, changed.Add(10*time.Second+time.Duration(i)*100*time.Millisecond)))
	}
	close(b.turn)
	b.answer <- numbered(300, 301)
	require.True(t, <-second)
	third := tl.ask(601, changed.Add(20*time.Second))
	c := <-h.calls
	close(c.turn)
	c.answer <- numbered(100, 601) // one page, one notice: as cheap as reading the record
	require.True(t, <-third, "after a shared list, a notice alone has a list")
	fourth := tl.ask(701, changed.Add(30*time.Second))
	e := <-h.calls
	close(e.turn)
	e.answer <- numbered(100, 701)
	require.True(t, <-fourth, "a list of one page is as cheap as the record's read")
}
