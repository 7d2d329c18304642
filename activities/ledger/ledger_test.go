package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/metrics/metricstest"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

// TestOutcomesCounted: each message's final outcome is counted once, by kind, outcome and a
// reason word; a second call that finds the message finished counts nothing.
func TestOutcomesCounted(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	phone := simphone.New(simphone.Options{})
	const salon = int64(707070)
	phone.Restore(salon, "79990001122", "Салон", false)
	phone.SetSendError("79160000002", whatsapp.ErrNotOnWhatsApp)
	l := ledger.New(store, phone, nil)
	visit := time.Date(2026, 12, 12, 11, 30, 0, 0, time.UTC)
	count := func(kind, outcome, reason string) float64 {
		return metricstest.Value(t, "aiadmin_messages_total", map[string]string{"kind": kind, "outcome": outcome, "reason": reason})
	}
	sent, optedOut, notOnWA := count("reminder_2h", "sent", "none"), count("reminder_2h", "skipped", "opted_out"),
		count("reminder_2h", "failed", "not_on_whatsapp")

	for range 2 {
		res, err := l.Send(ctx, ledger.Key{SalonID: salon, RecordID: 1, Kind: texts.Reminder2h, VisitTime: visit}, "79160000001", "Напоминание")
		require.NoError(t, err)
		require.Equal(t, ledger.Sent, res.Outcome)
		res, err = l.Skip(ctx, ledger.Key{SalonID: salon, RecordID: 2, Kind: texts.Reminder2h, VisitTime: visit}, "79160000003", "opted_out")
		require.NoError(t, err)
		require.Equal(t, ledger.Skipped, res.Outcome)
		res, err = l.Send(ctx, ledger.Key{SalonID: salon, RecordID: 3, Kind: texts.Reminder2h, VisitTime: visit}, "79160000002", "Напоминание")
		require.NoError(t, err)
		require.Equal(t, ledger.Failed, res.Outcome)
	}
	require.Equal(t, sent+1, count("reminder_2h", "sent", "none"), "sent once, counted once")
	require.Equal(t, optedOut+1, count("reminder_2h", "skipped", "opted_out"))
	require.Equal(t, notOnWA+1, count("reminder_2h", "failed", "not_on_whatsapp"))
	require.Len(t, phone.Messages(salon), 1)
}
