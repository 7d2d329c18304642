package activities_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// A reminder wave reads its salon's day once: 12 day-before reminders due together make one
// list call to YClients, not 12 re-reads (P7: 1,000 salons × 30 reminders at 18:00 would
// need 30,000 re-reads within the cluster's 200 requests a minute). A record the list does
// not hold (moved to another day) is read on its own and not reminded of the old time.
func TestRemindersReadTheirDayOnce(t *testing.T) {
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	ins := salonWithRecords(t, f, start, 12)
	policy(t, f, 0, 100, 0, 0)
	moved := ins[11].RecordID
	later := start.Add(24 * time.Hour).Format(time.RFC3339)
	_, err := f.fake.UpdateRecord(salonID, moved, yclientsfake.RecordChange{Datetime: &later})
	require.NoError(t, err)
	before := len(f.fake.Requests())

	for i := range ins {
		ins[i].Kind, ins[i].Deadline = texts.ReminderDay, start
	}
	require.Equal(t, map[string]int{"sent ": 11, "skipped record rescheduled": 1}, deliverAll(t, f, ins))
	calls := map[string]int{}
	for _, r := range f.fake.Requests()[before:] {
		switch {
		case strings.HasPrefix(r.Path, "/api/v1/records/"):
			calls["list"]++
		case strings.HasPrefix(r.Path, "/api/v1/record/"):
			calls["record"]++
		}
	}
	require.Equal(t, map[string]int{"list": 1, "record": 1}, calls, "one list for the day, one read of the moved record")
}
