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

func TestInsertMessage(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	visit := time.Date(2026, 2, 3, 15, 30, 0, 0, time.UTC)

	arg := sqlc.InsertMessageParams{
		SalonID: 1, RecordID: 555, Kind: "reminder_24h", VisitTime: visit,
		Phone: "79990000000", WAMessageID: "wa-first", Body: "Напоминаем о визите",
	}
	first, err := store.InsertMessage(ctx, arg)
	require.NoError(t, err)
	require.Equal(t, "queued", first.Status)
	require.Nil(t, first.SentAt)

	arg.WAMessageID, arg.Body = "wa-second", "other"
	_, err = store.InsertMessage(ctx, arg)
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound, "got %v, want no row on conflict", err)

	got, err := store.GetMessageByKey(ctx, sqlc.GetMessageByKeyParams{
		SalonID: 1, RecordID: 555, Kind: "reminder_24h", VisitTime: visit,
	})
	require.NoError(t, err)
	require.Equal(t, first.ID, got.ID)
	require.Equal(t, "wa-first", got.WAMessageID, "the first row must win")

	// A moved visit is a new key.
	arg.VisitTime = visit.Add(time.Hour)
	moved, err := store.InsertMessage(ctx, arg)
	require.NoError(t, err)
	require.NotEqual(t, first.ID, moved.ID)

	// Defaults: record_id 0 and visit_time epoch make a per-salon key.
	welcome := sqlc.InsertMessageParams{SalonID: 1, Kind: "welcome", VisitTime: time.Unix(0, 0), WAMessageID: "wa-w"}
	_, err = store.InsertMessage(ctx, welcome)
	require.NoError(t, err)
	_, err = store.InsertMessage(ctx, welcome)
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound)
}

func TestMessageStatus(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)

	_, err := store.LastSentMessage(ctx, 1)
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound)

	insert := func(record int64) sqlc.Message {
		t.Helper()
		m, err := store.InsertMessage(ctx, sqlc.InsertMessageParams{
			SalonID: 1, RecordID: record, Kind: "confirm", VisitTime: time.Unix(0, 0), WAMessageID: "wa",
		})
		require.NoError(t, err)
		return m
	}
	a, b, c := insert(1), insert(2), insert(3)

	sentA := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, store.MarkMessageSent(ctx, sqlc.MarkMessageSentParams{ID: a.ID, SentAt: &sentA}))
	sentB := sentA.Add(time.Minute)
	require.NoError(t, store.MarkMessageSent(ctx, sqlc.MarkMessageSentParams{ID: b.ID, SentAt: &sentB}))

	n, err := store.MarkMessageSkipped(ctx, sqlc.MarkMessageSkippedParams{ID: c.ID, Reason: "no phone"})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	n, err = store.MarkMessageFailed(ctx, sqlc.MarkMessageFailedParams{ID: a.ID, Reason: "late error"})
	require.NoError(t, err)
	require.EqualValues(t, 0, n, "a sent message must not become failed")

	last, err := store.LastSentMessage(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, b.ID, last.ID)
	require.Equal(t, "sent", last.Status)
	require.True(t, sentB.Equal(*last.SentAt))
}
