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

// dayLists reads a salon's records of one day with one list call (GET /records/{company_id},
// paged) shared by the reminders of that day: a reminder storm (1,000 salons × 30 reminders at
// 18:00) costs one call per salon, not one per message, within the cluster's YClients budget.
// A change made after the list was read reaches the booking workflow as a webhook, which
// re-plans or cancels the reminder itself.
type dayLists struct {
	yc interface {
		Records(ctx context.Context, salonID int64, from, to time.Time) ([]yclients.Record, error)
	}
	now func() time.Time

	mu    sync.Mutex
	lists map[dayKey]*dayList
}

type dayKey struct {
	salonID int64
	day     string // the visit's date in the salon's zone
}

// dayList is one list call's result; ready is closed when it is in (callers that came while
// it was being read wait for it instead of calling too).
type dayList struct {
	ready   chan struct{}
	at      time.Time
	records map[int64]yclients.Record
	err     error
}

// record returns the record as the list of its visit's day has it; found is false when the
// day's list does not hold it (deleted, or moved to another day: the caller reads the record
// itself).
func (d *dayLists) record(ctx context.Context, salonID, recordID int64, visit time.Time) (rec yclients.Record, found bool, err error) {
	l := d.list(ctx, salonID, visit)
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
	if d.lists == nil || len(d.lists) > 50_000 {
		d.lists = map[dayKey]*dayList{} // a bound, not an eviction policy: entries live minutes
	}
	l := &dayList{ready: make(chan struct{}), at: now}
	d.lists[key] = l
	go d.read(context.WithoutCancel(ctx), l, salonID, visit)
	return l
}

// read fills l with the salon's records of visit's day. It is not bound to the first caller's
// context (the others wait on it too, each as long as its own context allows), only to a
// deadline of its own: in a storm the cluster's YClients budget may queue it for minutes (1,000
// salons' lists take 5), and a caller that gives up (its activity is retried) finds it read.
func (d *dayLists) read(ctx context.Context, l *dayList, salonID int64, visit time.Time) {
	defer close(l.ready)
	ctx, cancel := context.WithTimeout(ctx, dayListFresh)
	defer cancel()
	recs, err := d.yc.Records(ctx, salonID, visit, visit)
	if err != nil {
		l.err = err
		return
	}
	l.records = make(map[int64]yclients.Record, len(recs))
	for _, r := range recs {
		l.records[r.ID] = r
	}
}
