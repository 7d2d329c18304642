package dispatcher

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients"
)

// A record booked as the salon went live — in the same second as the activation was stamped,
// or moments before it (the owner's page says active a little before activated_at is written)
// — counts as booked after it: YClients' create_date has whole seconds, and such a client
// expects a confirmation, also when the record's update reaches the booking workflow before
// its creation (found by the fault-injection suite's R3: 3 of 20 reordered bookings got
// nothing).
func TestRecordBookedAsTheSalonWentLiveIsOwedAConfirmation(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	activated := time.Date(2026, 12, 3, 12, 0, 0, 500_000_000, msk)
	for _, created := range []string{"2026-12-03T12:00:00+0300", "2026-12-03T11:59:59+0300"} {
		data, err := json.Marshal(map[string]any{"id": 77, "staff_id": 5, "datetime": "2026-12-07T17:00:00+03:00",
			"create_date": created, "last_change_date": "2026-12-03T12:00:05+0300", "services": []any{}})
		require.NoError(t, err)
		ev, err := recordEvent(inboxRow{ID: 1}, yclients.Webhook{Envelope: yclients.Envelope{Resource: "record", Status: "update"}, Data: data},
			salonClock{loc: msk, activatedAt: activated})
		require.NoError(t, err)
		require.False(t, ev.CreatedAt.Before(ev.ActivatedAt), "created %s, activated %s: read as booked before AI Admin (%s < %s)",
			created, activated, ev.CreatedAt, ev.ActivatedAt)
	}
	// A record booked well before the activation is still not confirmed.
	data, _ := json.Marshal(map[string]any{"id": 78, "staff_id": 5, "datetime": "2026-12-07T17:00:00+03:00",
		"create_date": "2026-12-03T11:50:00+0300", "last_change_date": "2026-12-03T12:00:05+0300", "services": []any{}})
	ev, err := recordEvent(inboxRow{ID: 2}, yclients.Webhook{Envelope: yclients.Envelope{Resource: "record", Status: "update"}, Data: data},
		salonClock{loc: msk, activatedAt: activated})
	require.NoError(t, err)
	require.True(t, ev.CreatedAt.Before(ev.ActivatedAt), "booked 10 minutes before the activation")
}
