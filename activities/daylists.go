package activities

import (
	"context"
	"math"
	"slices"
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

// noticePad is how much a notices' list asks for beyond the changes its notices tell: a second
// before (last_change_date has whole seconds), noticeLate and a second after.
const noticePad = noticeLate + 2*time.Second

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
// it asks for hold theirs. Where sharing does not pay (a dense day, notices that come one at
// a time), a notice reads its record on its own (noticeList).
// At 50 bookings a second for one salon that is one list every few seconds instead of 50
// reads a second, against YClients' 200 requests a minute for the whole cluster.
type dayLists struct {
	yc interface {
		Records(ctx context.Context, salonID int64, from, to time.Time) ([]yclients.Record, error)
		ChangedRecords(ctx context.Context, salonID int64, day, after, before time.Time) ([]yclients.Record, error)
	}
	now func() time.Time

	mu      sync.Mutex
	lists   map[dayKey]*dayList     // the reminders' lists, the day's latest
	notices map[dayKey]*noticeLists // the notices' lists
}

// noticeLists are the notices' lists of a salon's day that are not in yet, oldest first, and
// how densely the day's records changed in the last one read.
type noticeLists struct {
	open      []*dayList
	perSecond float64 // records of the day per second of change time in the last windowed list; 0: none read yet
	// Of the last windowed list read: when, how many notices shared it, in how many pages.
	lastAt                 time.Time
	lastCallers, lastPages int
}

// noticeAloneFresh is how long a list read for fewer notices than it took pages makes a
// notice that finds no list to share read its record on its own, when a list of its own
// would take more than a page. Then the next list tells again whether lists are shared.
const noticeAloneFresh = 5 * time.Second

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
	callers int // the notices that share it; under dayLists.mu
}

// record returns the record as the list of its visit's day has it; found is false when the
// day's list does not hold it (deleted, or moved to another day: the caller reads the record
// itself). For a notice (changedSince set: the last change of the state it tells, or the zero
// time when unknown, with notice true) the list is read after this call began; found is also
// false, with no list read, when the day's notices' lists were lately not shared by as many
// notices as they took pages and this one finds none to share (noticeList).
func (d *dayLists) record(ctx context.Context, salonID, recordID int64, visit time.Time, notice bool, changedSince time.Time) (rec yclients.Record, found bool, err error) {
	var l *dayList
	if notice {
		if l = d.noticeList(salonID, visit, changedSince); l == nil {
			return yclients.Record{}, false, nil
		}
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

// noticeList is a list of the day's changed records whose request has not gone out yet and
// whose query holds changedSince, or can be widened to hold it for fewer of YClients' pages
// than a list of its own would take, or a new list. A list that has not begun reads the
// changes from the oldest to the newest its callers tell (the whole day when one tells none):
// the records whose state they tell, as they are now, unless changed again since.
//
// Under a backlog the notices sent together tell changes far apart (the booking workflows are
// not served in order), and one list from the oldest to the newest held every record changed
// between them, page after page, for a few notices at either end. Each list read tells how
// densely the day's records change; with that, a notice whose change is more than about a page
// away from a list's waits for a list of its own, which reads after the one in flight too.
//
// A list pays when its notices are at least as many as its pages. Where the day's records
// change densely (a list of one notice's change takes more than a page: its window is a few
// seconds wide) and the last list was shared by fewer, a notice that finds no list to share
// gets none (nil): reading its record on its own is one request, where a list of its own would
// be two or more, and render and decode some hundred records for one. That lasts
// noticeAloneFresh after that list; the next one tells again.
func (d *dayLists) noticeList(salonID int64, visit time.Time, changedSince time.Time) *dayList {
	key := dayKey{salonID: salonID, day: visit.Format(time.DateOnly), changed: true}
	d.mu.Lock()
	defer d.mu.Unlock()
	n := d.noticesOf(key)
	var best, inFlight *dayList
	bestCost := 0
	for _, l := range n.open {
		if l.asking {
			inFlight = l // the newest read that has begun
		}
		if l.started {
			continue
		}
		if c, ok := n.joinCost(l, changedSince); ok && (best == nil || c < bestCost) {
			best, bestCost = l, c
		}
	}
	own := n.pages(0)
	if best != nil && bestCost <= own {
		if !best.asking {
			widen(best, changedSince)
		}
		best.callers++
		return best
	}
	if own > 1 && n.lastCallers < n.lastPages && d.now().Sub(n.lastAt) < noticeAloneFresh {
		return nil // the lists were not shared enough to pay: one read of the record is cheaper
	}
	l := &dayList{ready: make(chan struct{}), notice: true, since: changedSince, until: changedSince, after: inFlight, callers: 1}
	n.open = append(n.open, l)
	go d.read(context.Background(), l, salonID, visit)
	return l
}

// noticesOf is the notices' lists of key; d.mu is held.
func (d *dayLists) noticesOf(key dayKey) *noticeLists {
	n := d.notices[key]
	if n == nil {
		if d.notices == nil || len(d.notices) > 50_000 {
			d.notices = map[dayKey]*noticeLists{} // a bound, as in put
		}
		n = &noticeLists{}
		d.notices[key] = n
	}
	return n
}

// joinCost is how many more of YClients' pages the list l, whose request has not gone out,
// takes to hold a notice of the change at changedSince; ok is false when it cannot (its read
// has begun and its query is made without that change). A list whose read has not begun is
// widened; the whole day's changes hold any notice.
func (n *noticeLists) joinCost(l *dayList, changedSince time.Time) (cost int, ok bool) {
	switch {
	case l.since.IsZero():
		return 0, true
	case l.asking:
		return 0, !changedSince.IsZero() && !changedSince.Before(l.since) && !changedSince.After(l.until.Add(noticeLate))
	case changedSince.IsZero():
		return 0, true // it becomes the whole day's changes, as before the density was known
	}
	since, until := l.since, l.until
	if changedSince.Before(since) {
		since = changedSince
	}
	if changedSince.After(until) {
		until = changedSince
	}
	return n.pages(until.Sub(since)) - n.pages(l.until.Sub(l.since)), true
}

// pages estimates the pages of a list of the changes over span (its window is span and the
// padding either side) from how densely the last list's changes came; one while none is known.
func (n *noticeLists) pages(span time.Duration) int {
	recs := n.perSecond * (span + noticePad).Seconds()
	return max(1, int(math.Ceil(recs/float64(yclients.RecordsPageSize))))
}

// widen makes the list l, whose read has not begun, hold a notice of the change at
// changedSince; d.mu is held.
func widen(l *dayList, changedSince time.Time) {
	switch {
	case l.since.IsZero():
	case changedSince.IsZero():
		l.since, l.until = time.Time{}, time.Time{}
	default:
		if changedSince.Before(l.since) {
			l.since = changedSince
		}
		if changedSince.After(l.until) {
			l.until = changedSince
		}
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
		recs, err = d.yc.ChangedRecords(ctx, salonID, visit, since.Add(-time.Second), until.Add(noticePad-time.Second))
	}
	if l.notice {
		defer d.closed(l, salonID, visit, since, until, len(recs), err)
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

// closed takes the notices' list l, read, off the open lists, and keeps how densely the day's
// records changed over its window (of n records, when it was read without error).
func (d *dayLists) closed(l *dayList, salonID int64, visit, since, until time.Time, n int, err error) {
	key := dayKey{salonID: salonID, day: visit.Format(time.DateOnly), changed: true}
	d.mu.Lock()
	defer d.mu.Unlock()
	ns := d.noticesOf(key)
	ns.open = slices.DeleteFunc(ns.open, func(o *dayList) bool { return o == l })
	if err == nil && !since.IsZero() {
		ns.perSecond = float64(n) / (until.Sub(since) + noticePad).Seconds()
		ns.lastAt, ns.lastCallers = d.now(), l.callers
		ns.lastPages = max(1, (n+yclients.RecordsPageSize-1)/yclients.RecordsPageSize)
	}
}
