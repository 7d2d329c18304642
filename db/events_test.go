package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

func TestPairingEvents(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	future := time.Now().Add(time.Minute)
	past := time.Now().Add(-time.Minute)

	insert := func(salon int64, kind string, expires *time.Time) int64 {
		t.Helper()
		id, err := store.InsertPairingEvent(ctx, sqlc.InsertPairingEventParams{
			SalonID: salon, Attempt: "a1", Kind: kind, PayloadEnc: []byte{1, 2, 3}, ExpiresAt: expires,
		})
		require.NoError(t, err)
		return id
	}
	qr1 := insert(1, "qr", &future)
	expired := insert(1, "qr", &past)
	code := insert(1, "code", &future)
	insert(2, "qr", &future)
	done := insert(1, "success", nil)

	list := func(after int64, limit int32) []int64 {
		t.Helper()
		evs, err := store.ListPairingEvents(ctx, sqlc.ListPairingEventsParams{SalonID: 1, AfterID: after, MaxRows: limit})
		require.NoError(t, err)
		ids := make([]int64, len(evs))
		for i, e := range evs {
			ids[i] = e.ID
		}
		return ids
	}
	require.Equal(t, []int64{qr1, expired, code, done}, list(0, 10), "want this salon's events in id order")
	require.Equal(t, []int64{code, done}, list(expired, 10))
	require.Equal(t, []int64{qr1}, list(0, 1))
	require.Empty(t, list(done, 10))

	latest, err := store.LatestPairingEvent(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, done, latest.ID)
	require.Equal(t, "success", latest.Kind)
	require.Nil(t, latest.ExpiresAt)

	n, err := store.DeleteExpiredPairingEvents(ctx, time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "only event %d had expired", expired)

	n, err = store.DeleteFinishedPairingEvents(ctx, time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "the success is not a day old")
	n, err = store.DeleteFinishedPairingEvents(ctx, time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "only the success %d has ended its attempt", done)

	n, err = store.DeletePairingEvents(ctx, 1)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.Empty(t, list(0, 10))
	_, err = store.LatestPairingEvent(ctx, 1)
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound)
	_, err = store.LatestPairingEvent(ctx, 2)
	require.NoError(t, err, "another salon's events must stay")
}

func TestOpsAlerts(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)

	a, err := store.InsertOpsAlert(ctx, sqlc.InsertOpsAlertParams{SalonID: ptr[int64](1), Level: "warn", Kind: "sync", Message: "slow"})
	require.NoError(t, err)
	b, err := store.InsertOpsAlert(ctx, sqlc.InsertOpsAlertParams{Level: "error", Kind: "partner", Message: "token"})
	require.NoError(t, err)
	c, err := store.InsertOpsAlert(ctx, sqlc.InsertOpsAlertParams{SalonID: ptr[int64](1), Level: "error", Kind: "whatsapp", Message: "logged out"})
	require.NoError(t, err)

	ids := func(salon *int64, limit int32) []int64 {
		t.Helper()
		alerts, err := store.ListOpsAlerts(ctx, sqlc.ListOpsAlertsParams{SalonID: salon, MaxRows: limit})
		require.NoError(t, err)
		out := make([]int64, len(alerts))
		for i, al := range alerts {
			out[i] = al.ID
		}
		return out
	}
	require.Equal(t, []int64{c, a}, ids(ptr[int64](1), 10), "newest first, this salon only")
	require.Equal(t, []int64{c, b, a}, ids(nil, 10), "nil salon lists all")
	require.Equal(t, []int64{c}, ids(nil, 1))
}

func TestSalonSecrets(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)

	_, err := store.GetSalonSecrets(ctx, 1)
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound)

	require.NoError(t, store.SetAPIKey(ctx, sqlc.SetAPIKeyParams{SalonID: 1, APIKeyEnc: []byte("sealed-1")}))
	require.NoError(t, store.UpsertWebhookSecret(ctx, sqlc.UpsertWebhookSecretParams{SalonID: 1, WebhookSecretHash: []byte("hash-1")}))
	require.NoError(t, store.UpsertWebhookSecret(ctx, sqlc.UpsertWebhookSecretParams{SalonID: 1, WebhookSecretHash: []byte("hash-2")}))

	s, err := store.GetSalonSecrets(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, []byte("hash-2"), s.WebhookSecretHash)
	require.Equal(t, []byte("sealed-1"), s.APIKeyEnc, "the webhook upsert must keep the API key")

	require.NoError(t, store.DeleteSalonSecrets(ctx, 1))
	_, err = store.GetSalonSecrets(ctx, 1)
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound)
}
