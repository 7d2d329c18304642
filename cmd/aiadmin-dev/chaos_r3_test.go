package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// r3Story is what happens to one record in R3, and what its client may be told: any one of
// the accepted outcomes, whichever order the webhooks came in (a confirmation may go out
// before a later change is known, never after it).
type r3Story struct {
	booking  chaosBooking
	story    string     // "created", "rescheduled" or "cancelled"
	accepted [][]string // acceptable message lists, each «kind(when)»
}

// runR3 (reorder): bookings whose webhooks arrive four times each and shuffled, within and
// across records → exactly the right messages at the right salon-local times.
func runR3(t *testing.T, s *chaosSuite) {
	s.up(t)
	salons := s.addSalons(min(10, max(3, s.size.r3Bookings/20)))
	require.Empty(t, s.installAll(salons, 10, s.size.settle, nil), "installs")
	s.noPacing(t, salons)
	began := time.Now()
	s.fake.SetEntityShuffle(true)
	defer s.fake.SetEntityShuffle(false)
	stories := make([]r3Story, 0, s.size.r3Bookings)
	for i := range s.size.r3Bookings {
		st, err := s.r3Story(salons[i%len(salons)], i)
		require.NoError(t, err)
		stories = append(stories, st)
	}
	waiting, wrong := s.settle(t, s.size.settle, salons, true, func() ([]string, []string) { return s.checkStories(stories) })
	counts := map[string]int{}
	for _, st := range stories {
		counts[st.story]++
	}
	report(t, "R3: %d bookings (%d created, %d rescheduled, %d cancelled) in %d salons of 3 time zones, every webhook ×4 and shuffled: %d with exactly the right messages at the right local times, %d wrong, in %s",
		len(stories), counts["created"], counts["rescheduled"], counts["cancelled"], len(salons),
		len(stories)-len(waiting)-len(wrong), len(waiting)+len(wrong), time.Since(began).Round(time.Second))
	require.Empty(t, append(wrong, waiting...), "records whose client got the wrong messages (or, when the salon went quiet, only part of them):\n  %s",
		firstFew(append(wrong, waiting...), 40))
}

// r3Story makes one record's story in the fake: created; or created and moved an hour and a
// day later; or created and cancelled, every change delivered four times.
func (s *chaosSuite) r3Story(sl *chaosSalon, i int) (r3Story, error) {
	b, err := s.book(sl, 2+i%5, 4)
	if err != nil {
		return r3Story{}, err
	}
	first := whenOf(b.start, sl.Zone)
	conf := func(w string) string { return "confirmation(" + w + ")" }
	switch i % 4 {
	case 2:
		moved := b.start.AddDate(0, 0, 1).Add(time.Hour)
		at := moved.Format("2006-01-02 15:04:05")
		if _, err := s.fake.UpdateRecord(sl.ID, b.record, yclientsfake.RecordChange{Datetime: &at, Duplicates: 4}); err != nil {
			return r3Story{}, fmt.Errorf("salon %d record %d: reschedule: %w", sl.ID, b.record, err)
		}
		b.start = moved
		last := whenOf(moved, sl.Zone)
		return r3Story{booking: b, story: "rescheduled",
			accepted: [][]string{{conf(last)}, {conf(first), "change(" + last + ")"}}}, nil
	case 3:
		if err := s.fake.DeleteRecord(sl.ID, b.record, 4); err != nil {
			return r3Story{}, fmt.Errorf("salon %d record %d: cancel: %w", sl.ID, b.record, err)
		}
		return r3Story{booking: b, story: "cancelled",
			accepted: [][]string{{}, {conf(first), "cancellation(" + first + ")"}}}, nil
	}
	return r3Story{booking: b, story: "created", accepted: [][]string{{conf(first)}}}, nil
}

// checkStories compares each client's messages with the accepted outcomes: a prefix of one
// is still on its way, anything else is wrong.
func (s *chaosSuite) checkStories(stories []r3Story) (waiting, wrong []string) {
	var bs []chaosBooking
	for _, st := range stories {
		bs = append(bs, st.booking)
	}
	o := s.outbox(salonsOf(bs)...)
	for _, st := range stories {
		got := o.to(st.booking.salon.ID, st.booking.phone)
		var names []string
		for _, m := range got {
			names = append(names, m.kind+"("+m.when+")")
		}
		complete, prefix := false, false
		for _, want := range st.accepted {
			complete = complete || slices.Equal(names, want)
			prefix = prefix || (len(names) < len(want) && slices.Equal(names, want[:len(names)]))
		}
		switch {
		case complete:
		case prefix:
			waiting = append(waiting, fmt.Sprintf("%s (%s): got %s so far, want one of %v", st.booking, st.story, kinds(got), st.accepted))
		default:
			wrong = append(wrong, fmt.Sprintf("%s (%s): got %s, want one of %v", st.booking, st.story, kinds(got), st.accepted))
		}
	}
	return waiting, wrong
}

// noPacing turns the salons' pacing off (the scenarios test loss and duplicates, not the
// anti-ban pacing, which has tests of its own).
func (s *chaosSuite) noPacing(t *testing.T, salons []*chaosSalon) {
	for _, sl := range salons {
		require.NoError(t, s.store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{
			SalonID: sl.ID, ReminderDayHour: 18, QuietFromMinute: 21 * 60, QuietToMinute: 9 * 60,
			PerMinute: 0, DailyCap: 1000, Templates: []byte("{}")}))
	}
}

// inboxDrained reports whether no webhook of the salons waits in the inbox.
func (s *chaosSuite) inboxDrained(salons []*chaosSalon) bool {
	for _, sl := range salons {
		n, err := s.store.CountInboxByState(context.Background(), sqlc.CountInboxByStateParams{SalonID: sl.ID, State: "pending"})
		if err != nil || n > 0 {
			return false
		}
	}
	return true
}
