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
		l := d.lists[dayKey{salonID: 1, day: "2026-12-12", changed: true}]
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
	day     time.Time
	changed time.Time
}

func newTurnLists(t *testing.T) *turnLists {
	h := heldLists{calls: make(chan listCall, 10), turns: true}
	day := time.Date(2026, 12, 12, 14, 0, 0, 0, time.FixedZone("MSK", 3*3600))
	return &turnLists{t: t, h: h, d: &dayLists{yc: h, now: time.Now}, day: day, changed: day.Add(-48 * time.Hour)}
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
	return tl.d.lists[dayKey{salonID: 1, day: "2026-12-12", changed: true}]
}
