package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/metrics/metricstest"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
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

// TestAskingRowsAndReserve: a message that asks for an answer is marked so (asks_reply) and
// found by the reply queries; Reserve writes the row with its text without sending, and the
// next Send sends that text once.
func TestAskingRowsAndReserve(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	phone := simphone.New(simphone.Options{})
	const salon = int64(707071)
	phone.Restore(salon, "79990001122", "Салон", false)
	l := ledger.New(store, phone, nil)
	visit := time.Now().Add(24 * time.Hour).Truncate(time.Second).UTC()
	ask := ledger.Key{SalonID: salon, RecordID: 11, Kind: texts.ReminderDay, VisitTime: visit}
	res, err := l.SendAsking(ctx, ask, "79160000001", "Напоминание. Ответьте 1 — подтверждаю, 2 — не смогу прийти.")
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, res.Outcome)
	plain := ledger.Key{SalonID: salon, RecordID: 12, Kind: texts.Reminder2h, VisitTime: visit}
	_, err = l.Send(ctx, plain, "79160000001", "Напоминание")
	require.NoError(t, err)

	rows, err := store.ListMessages(ctx, salon)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.True(t, rows[0].AsksReply, "the reminder asked")
	require.False(t, rows[1].AsksReply, "the second reminder did not")

	asked, err := store.ListAskedVisits(ctx, sqlc.ListAskedVisitsParams{SalonID: salon, Phone: "79160000001",
		UpcomingAfter: time.Now(), AskedBefore: time.Now().Add(time.Minute), MaxRows: 5})
	require.NoError(t, err)
	require.Len(t, asked, 1)
	require.Equal(t, int64(11), asked[0].RecordID)
	require.True(t, asked[0].VisitTime.Equal(visit), "got %s want %s", asked[0].VisitTime, visit)
	require.False(t, asked[0].Declined)
	asked, err = store.ListAskedVisits(ctx, sqlc.ListAskedVisitsParams{SalonID: salon, Phone: "79160000001",
		UpcomingAfter: time.Now(), AskedBefore: time.Now().Add(-time.Hour), MaxRows: 5})
	require.NoError(t, err)
	require.Empty(t, asked, "a reply written before the ask does not answer it")

	review := ledger.Key{SalonID: salon, RecordID: 13, Kind: texts.ReviewRequest, VisitTime: visit}
	r, err := l.Reserve(ctx, review, "79160000001", "Оцените от 1 до 5", true)
	require.NoError(t, err)
	require.True(t, r.Queued)
	require.Len(t, phone.Messages(salon), 2, "reserving sends nothing")
	again, err := l.Reserve(ctx, review, "79160000001", "другой текст", true)
	require.NoError(t, err)
	require.Equal(t, r, again, "the first row wins")
	res, err = l.Send(ctx, review, "79160000001", "другой текст")
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, res.Outcome)
	msgs := phone.Messages(salon)
	require.Len(t, msgs, 3)
	require.Equal(t, "Оцените от 1 до 5", msgs[2].Text, "the reserved text is sent")
	r, err = l.Reserve(ctx, review, "79160000001", "", true)
	require.NoError(t, err)
	require.False(t, r.Queued, "sent: nothing left to send")
}

// elsewhere is a WhatsApp client whose salon's connection is held by another worker process.
type elsewhere struct{ whatsapp.Client }

func (elsewhere) Send(context.Context, int64, whatsapp.Message) (string, error) {
	return "", fmt.Errorf("salon 1: shard moved: %w: %w", whatsapp.ErrElsewhere, whatsapp.ErrNotConnected)
}

// TestSendHeldElsewhereIsRetried: a send on a worker that lost the salon's shard (R5: while
// PostgreSQL restarted) is an error the activity retries on the shard's queue, not a pause:
// paused, the confirmation waited minutes for a recheck. The message stays queued and the next
// attempt, on the owner, sends it once.
func TestSendHeldElsewhereIsRetried(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	phone := simphone.New(simphone.Options{})
	const salon = int64(707071)
	phone.Restore(salon, "79990001122", "Салон", false)
	k := ledger.Key{SalonID: salon, RecordID: 1, Kind: texts.Confirmation, VisitTime: time.Date(2026, 12, 12, 11, 30, 0, 0, time.UTC)}
	_, err := ledger.New(store, elsewhere{phone}, nil).Send(ctx, k, "79160000001", "Запись подтверждена")
	require.ErrorIs(t, err, whatsapp.ErrElsewhere)
	res, err := ledger.New(store, phone, nil).Send(ctx, k, "79160000001", "Запись подтверждена")
	require.NoError(t, err)
	require.Equal(t, ledger.Sent, res.Outcome)
	require.Len(t, phone.Messages(salon), 1)
}
