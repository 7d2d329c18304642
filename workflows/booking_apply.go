package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// apply applies one record event to the booking: what the client is owed changes with it.
func (b *bookingFlow) apply(ctx workflow.Context, ev RecordEvent) {
	if !b.newer(ev) {
		return // the record as it was before the state already applied: stale
	}
	b.st.LastInboxID = max(b.st.LastInboxID, ev.InboxID)
	if !ev.ChangedAt.IsZero() {
		b.st.ChangedAt = ev.ChangedAt
	}
	if !ev.CreatedAt.IsZero() {
		b.st.CreatedAt = ev.CreatedAt
	}
	if !ev.ActivatedAt.IsZero() {
		b.st.ActivatedAt = ev.ActivatedAt
	}
	b.cause = ev.InboxID
	now := workflow.Now(ctx)
	switch {
	case ev.Cancelled():
		b.cancelled(ev, now)
	case ev.Visit.Start.IsZero():
		// An update without a time (a malformed record): nothing to tell from it.
	case b.st.Visit == nil:
		b.firstSeen(ev, now)
	case b.st.Cancelled:
		b.restored(ev.Visit, now)
	case ev.Visit.Significant(*b.st.Visit):
		b.changed(ev.Visit, now)
	default:
		b.details(ev.Visit)
	}
	b.reviewOnAttended(ctx, ev)
}

// newer reports whether ev is newer than the state applied: YClients' last_change_date orders
// the events of a record (a standby dispatcher, or an inbox ID committed late, can hand them
// over out of order); events without one, or of the same second, go by inbox order.
func (b *bookingFlow) newer(ev RecordEvent) bool {
	if !ev.ChangedAt.IsZero() && !b.st.ChangedAt.IsZero() && !ev.ChangedAt.Equal(b.st.ChangedAt) {
		return ev.ChangedAt.After(b.st.ChangedAt)
	}
	return ev.InboxID == 0 || ev.InboxID > b.st.LastInboxID
}

// owed reports whether the client is owed a confirmation of a record first seen with ev: it
// was created after the salon's activation (YClients' create_date against the activation),
// or its creation is the event. A record that existed before gets reminders, no confirmation.
func (b *bookingFlow) owed(ev RecordEvent) bool {
	if ev.Status == "create" {
		return true
	}
	return !b.st.CreatedAt.IsZero() && !b.st.ActivatedAt.IsZero() && !b.st.CreatedAt.Before(b.st.ActivatedAt)
}

func (b *bookingFlow) firstSeen(ev RecordEvent, now time.Time) {
	v := ev.Visit
	b.st.Visit = &v
	if !v.Start.After(now) {
		told := v // a visit already begun (an attendance mark after it): nothing to tell
		b.st.Told = &told
		return
	}
	if b.owed(ev) {
		b.queueNotice(texts.Confirmation, v, time.Time{}, now)
		return
	}
	told := v // booked before AI Admin: the client knows the visit from the salon
	b.st.Told = &told
	b.st.PlanFor = v.Start
}

// cancelled drops everything owed and, when the client knows the visit, tells them it is
// cancelled after the merge window (a cancellation undone within it tells nothing).
func (b *bookingFlow) cancelled(ev RecordEvent, now time.Time) {
	if b.st.Cancelled {
		return
	}
	b.st.Cancelled = true
	if b.st.Visit == nil && !ev.Visit.Start.IsZero() {
		v := ev.Visit
		b.st.Visit = &v
	}
	b.drop(func(Outgoing) bool { return true })
	b.st.PlanFor = time.Time{}
	if b.st.Told == nil || b.st.ToldCancelled {
		return // the client never heard of the visit (or of it back): nothing to cancel for them
	}
	b.queueNotice(texts.Cancellation, *b.st.Told, time.Time{}, now.Add(b.merge))
}

// restored handles a cancelled record that is not cancelled any more (attendance −1 set back
// to 0): a cancellation notice still waiting is dropped; a client told of the cancellation is
// told of the visit again.
func (b *bookingFlow) restored(v activities.Visit, now time.Time) {
	b.st.Cancelled = false
	b.st.Visit = &v
	b.drop(func(o Outgoing) bool { return o.Kind == texts.Cancellation })
	switch {
	case b.st.Told == nil || b.st.ToldCancelled:
		b.queueNotice(texts.Confirmation, v, time.Time{}, now)
	case v.Significant(*b.st.Told):
		b.queueNotice(texts.Change, v, changedFrom(*b.st.Told, v), now.Add(b.merge))
	default:
		b.st.PlanFor = v.Start
	}
}

// changed handles a change the client must hear of (time, staff, services): a confirmation
// not yet sent confirms the new visit instead; a notice already waiting takes the newest
// visit (one notice per merge window); a change back to what the client knows tells nothing.
func (b *bookingFlow) changed(v activities.Visit, now time.Time) {
	b.st.Visit = &v
	b.drop(func(o Outgoing) bool { return isReminder(o.Kind) })
	if o := b.waiting(texts.Confirmation); o != nil {
		o.Visit, o.Deadline, o.Plan = v, v.Start, true
		return
	}
	if b.st.Told == nil {
		b.queueNotice(texts.Confirmation, v, time.Time{}, now)
		return
	}
	if !v.Significant(*b.st.Told) {
		b.drop(func(o Outgoing) bool { return o.Kind == texts.Change })
		b.st.PlanFor = v.Start
		return
	}
	if o := b.waiting(texts.Change); o != nil {
		o.Visit, o.PrevStart, o.Deadline, o.Plan = v, changedFrom(*b.st.Told, v), v.Start, true
		return
	}
	b.queueNotice(texts.Change, v, changedFrom(*b.st.Told, v), now.Add(b.merge))
}

// details keeps the freshest names of a visit that did not change in what the client is told
// (a duplicate delivery, a reordered services list, a price-only edit).
func (b *bookingFlow) details(v activities.Visit) {
	b.st.Visit = &v
	for i := range b.st.Outbox {
		if o := &b.st.Outbox[i]; o.Kind != texts.Cancellation && o.Visit.Start.Equal(v.Start) {
			o.Visit = v
		}
	}
}

// changedFrom is the previous time a change notice names: the time the client knows, when it
// changed.
func changedFrom(told, v activities.Visit) time.Time {
	if told.Start.Equal(v.Start) {
		return time.Time{}
	}
	return told.Start
}

// queueNotice owes the client a notice (confirmation, change, cancellation) from at; a
// confirmation and a change bring the visit's reminder plan along. Its ledger seq is the inbox
// ID of the event that caused it: unique across the record's runs (a run that starts after
// another ended knows nothing of the seqs used before), and the same when that event is
// handed over again.
func (b *bookingFlow) queueNotice(kind texts.Kind, v activities.Visit, prev, at time.Time) {
	seq := b.cause
	if seq == 0 { // an event without an inbox row (tests): numbered within the run
		b.st.Seq--
		seq = b.st.Seq
	}
	b.st.Outbox = append(b.st.Outbox, Outgoing{Kind: kind, Visit: v, PrevStart: prev, Seq: seq,
		At: at, Deadline: v.Start, Plan: kind != texts.Cancellation})
}

// waiting is the notice of the kind still owed, nil when none.
func (b *bookingFlow) waiting(kind texts.Kind) *Outgoing {
	for i := range b.st.Outbox {
		if b.st.Outbox[i].Kind == kind {
			return &b.st.Outbox[i]
		}
	}
	return nil
}

func isReminder(k texts.Kind) bool { return k == texts.ReminderDay || k == texts.Reminder2h }
