package activities

import (
	"context"
	"sync"
	"time"

	"github.com/aiadmin/aiadmin/activities/yclients"
)

// dayListFresh is how long one list of a salon's day stands for the reminders due around the
// same time: the day-before wave at 18:00 sends a salon's 30 reminders over about 5 minutes
// (pacing), all read from one or two list calls instead of 30 re-reads.
const dayListFresh = 10 * time.Minute

// noticeLate is how much later than the newest change a notices' list asks for a notice may
// tell and still share the list while it waits for its slot: notices follow their change by a
// fraction of a second and a list waits up to 305 ms for its slot, so those that ask
// meanwhile tell the same second or the next. The list asks for that much more.
const noticeLate = time.Second

// dayLists reads a salon's records of one day with one list call (GET /records/{company_id},
// paged), shared by the messages about that day that are due about the same time.
//
// Reminders share a list read within the last dayListFresh: a reminder storm (1,000 salons × 30
// reminders at 18:00) costs one call per salon, not one per message, within the cluster's
// YClients budget. A change made after the list was read reaches the booking workflow as a
// webhook, which re-plans or cancels the reminder itself.
//
// Notices (confirmation, change, cancellation) follow a webhook by seconds and must see what a
// read of the record made now would see: they share only a list whose request goes out after
// they asked (callers that come once it has gone out wait for the next, which then serves all
// of them), of the records changed between the oldest and the newest state they tell (a
// record changed again since is not in it, and its notice reads the record itself; a list up
// to now would hold, under a backlog, every record made since the oldest, page after page of
// YClients' 100). A list's request waits for its slot in the cluster's YClients budget (up to
// 305 ms when it is busy), and the notices that come meanwhile share it too, when the changes
// it asks for hold theirs.
// At 50 bookings a second for one salon that is one list every few seconds instead of 50
// reads a second, against YClients' 200 requests a minute for the whole cluster.
type dayLists struct {
	yc interface {
		Records(ctx context.Context, salonID int64, from, to time.Time) ([]yclients.Record, error)
		ChangedRecords(ctx context.Context, salonID int64, day, after, before time.Time) ([]yclients.Record, error)
	}
	now func() time.Time

	mu    sync.Mutex
	lists map[dayKey]*dayList
}

type dayKey struct {
	salonID int64
	day     string // the visit's date in the salon's zone
	changed bool   // a notices' list (read after its callers asked, changed records only)
}

// dayList is one list call's result; ready is closed when it is in (callers that came while
// it was being read wait for it instead of calling too).
type dayList struct {
	ready   chan struct{}
	after   *dayList  // a notices' list starts when the read before it is done
	asking  bool      // its read has begun (at is then set; since is fixed); under dayLists.mu
	started bool      // its first request has gone out (yclients.Sending); under dayLists.mu
	at      time.Time // when its read began
	notice  bool      // a notices' list (changed records, deleted ones too)
	since   time.Time // a notices' list: the records changed at or after it (zero: the day)
	until   time.Time // and at or before it, and noticeLate after (with a non-zero since)
	records map[int64]yclients.Record
	err     error
}

// record returns the record as the list of its visit's day has it; found is false when the
// day's list does not hold it (deleted, or moved to another day: the caller reads the record
// itself). For a notice (changedSince set: the last change of the state it tells, or the zero
// time when unknown, with notice true) the list is read after this call began.
func (d *dayLists) record(ctx context.Context, salonID, recordID int64, visit time.Time, notice bool, changedSince time.Time) (rec yclients.Record, found bool, err error) {
	var l *dayList
	if notice {
		l = d.noticeList(salonID, visit, changedSince)
	} else {
		l = d.list(ctx, salonID, visit)
	}
	select {
	case <-l.ready:
	case <-ctx.Done():
		return yclients.Record{}, false, ctx.Err()
	}
	if l.err != nil {
		return yclients.Record{}, false, l.err
	}
	rec, found = l.records[recordID]
	return rec, found, nil
}

// list is the day's list when a fresh one is in or being read, otherwise a new read.
func (d *dayLists) list(ctx context.Context, salonID int64, visit time.Time) *dayList {
	key := dayKey{salonID: salonID, day: visit.Format(time.DateOnly)}
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if l, ok := d.lists[key]; ok {
		select {
		case <-l.ready:
			if l.err == nil && now.Sub(l.at) < dayListFresh {
				return l
			}
		default:
			return l // being read
		}
	}
	l := &dayList{ready: make(chan struct{})}
	d.put(key, l)
	go d.read(context.WithoutCancel(ctx), l, salonID, visit)
	return l
}

// noticeList is a list of the day's changed records whose request has not gone out yet: the
// one waiting for the read in flight, or the one waiting for its turn in the budget when it
// asks for changes that include changedSince, or a new one. A list that has not begun reads
// the changes from the oldest to the newest its callers tell (the whole day when one tells
// none): the records whose state they tell, as they are now, unless changed again since.
func (d *dayLists) noticeList(salonID int64, visit time.Time, changedSince time.Time) *dayList {
	key := dayKey{salonID: salonID, day: visit.Format(time.DateOnly), changed: true}
	d.mu.Lock()
	defer d.mu.Unlock()
	prev, ok := d.lists[key]
	pending := ok && !isDone(prev)
	if pending && !prev.started {
		switch {
		case !prev.asking:
			switch {
			case prev.since.IsZero():
			case changedSince.IsZero():
				prev.since, prev.until = time.Time{}, time.Time{}
			default:
				if changedSince.Before(prev.since) {
					prev.since = changedSince
				}
				if changedSince.After(prev.until) {
					prev.until = changedSince
				}
			}
			return prev
		case prev.since.IsZero(),
			!changedSince.IsZero() && !changedSince.Before(prev.since) && !changedSince.After(prev.until.Add(noticeLate)):
			return prev // its query holds this notice's change
		}
	}
	l := &dayList{ready: make(chan struct{}), notice: true, since: changedSince, until: changedSince}
	if pending {
		l.after = prev // read after the read in flight, which began before this call
	}
	d.put(key, l)
	go d.read(context.Background(), l, salonID, visit)
	return l
}

// isDone reports whether l's read has ended.
func isDone(l *dayList) bool {
	select {
	case <-l.ready:
		return true
	default:
		return false
	}
}

// put stores l under key; d.mu is held.
func (d *dayLists) put(key dayKey, l *dayList) {
	if d.lists == nil || len(d.lists) > 50_000 {
		d.lists = map[dayKey]*dayList{} // a bound, not an eviction policy: entries live minutes
	}
	d.lists[key] = l
}

// read fills l with the salon's records of visit's day. It is not bound to the first caller's
// context (the others wait on it too, each as long as its own context allows), only to a
// deadline of its own: in a storm the cluster's YClients budget may queue it for minutes (1,000
// salons' lists take 5), and a caller that gives up (its activity is retried) finds it read.
func (d *dayLists) read(ctx context.Context, l *dayList, salonID int64, visit time.Time) {
	defer close(l.ready)
	if l.after != nil {
		<-l.after.ready
	}
	d.mu.Lock()
	l.asking, l.at, l.after = true, d.now(), nil
	since, until := l.since, l.until
	d.mu.Unlock()
	// Messages wait for it: its requests go before the catalogue syncs (yclients.Prompt).
	ctx, cancel := context.WithTimeout(yclients.Prompt(ctx), dayListFresh)
	defer cancel()
	ctx = yclients.OnSending(ctx, func() {
		d.mu.Lock()
		l.started = true
		d.mu.Unlock()
	})
	var recs []yclients.Record
	var err error
	switch {
	case !l.notice:
		recs, err = d.yc.Records(ctx, salonID, visit, visit)
	case since.IsZero():
		recs, err = d.yc.ChangedRecords(ctx, salonID, visit, time.Time{}, time.Time{})
	default: // last_change_date has whole seconds
		recs, err = d.yc.ChangedRecords(ctx, salonID, visit, since.Add(-time.Second), until.Add(noticeLate+time.Second))
	}
	if err != nil {
		l.err = err
		return
	}
	l.records = make(map[int64]yclients.Record, len(recs))
	for _, r := range recs {
		l.records[r.ID] = r
	}
}
