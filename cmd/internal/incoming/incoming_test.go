package incoming_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/cmd/internal/incoming"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

const salonID = int64(100001)

// linkedPhone is a simulated phone with salon 100001 linked.
func linkedPhone(t *testing.T) *simphone.Phone {
	t.Helper()
	phone := simphone.New(simphone.Options{ConnectDelay: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	items, err := phone.PairQR(ctx, salonID)
	require.NoError(t, err)
	<-items
	require.NoError(t, phone.Scan(salonID, "79990001122", "Бархат"))
	require.Eventually(t, func() bool {
		st, err := phone.Status(ctx, salonID)
		return err == nil && st.State == whatsapp.StateLinked
	}, 5*time.Second, 10*time.Millisecond)
	return phone
}

func TestOptOutIsStoredAndAcknowledgedOnce(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	phone := linkedPhone(t)
	h := incoming.New(store, ledger.New(store, phone, nil), nil)
	for _, text := range []string{" Стоп! ", "стоп", "STOP"} {
		require.NoError(t, h.Handle(ctx, whatsapp.Incoming{SalonID: salonID, From: "+79161234567", Text: text}))
	}
	var acks []string
	for _, m := range phone.Messages(salonID) {
		if m.Phone == "79161234567" {
			acks = append(acks, m.Text)
		}
	}
	require.Len(t, acks, 1, "one short acknowledgement")
	out, err := store.IsOptedOut(ctx, sqlc.IsOptedOutParams{SalonID: salonID, Phone: "79161234567"})
	require.NoError(t, err)
	require.True(t, out)

	require.NoError(t, h.Handle(ctx, whatsapp.Incoming{SalonID: salonID, From: "79160000000", Text: "Спасибо, до встречи"}))
	out, err = store.IsOptedOut(ctx, sqlc.IsOptedOutParams{SalonID: salonID, Phone: "79160000000"})
	require.NoError(t, err)
	require.False(t, out, "other messages are left to the salon")
}

func TestIsOptOut(t *testing.T) {
	for _, text := range []string{"стоп", " Стоп! ", "STOP", "Отписаться.", "отписка", "unsubscribe"} {
		require.True(t, incoming.IsOptOut(text), text)
	}
	for _, text := range []string{"стоп-кран сломался", "не стоп", ""} {
		require.False(t, incoming.IsOptOut(text), text)
	}
}
