package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
	httpapi "github.com/aiadmin/aiadmin/http"
)

func TestInboxHealth(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	require.Equal(t, &httpapi.InboxHealth{}, inboxHealth(ctx, store, 1), "nothing waiting")

	insert := func(salon int64, state string, age time.Duration) {
		id, err := store.InsertInbox(ctx, sqlc.InsertInboxParams{SalonID: salon, Body: []byte(`{}`), Resource: "record", ResourceID: 1})
		require.NoError(t, err)
		_, err = store.Pool.Exec(ctx, "UPDATE webhook_inbox SET state = $2, received_at = now() - $3::interval WHERE id = $1", id, state, age)
		require.NoError(t, err)
	}
	insert(1, "processed", 3*time.Hour)
	insert(1, "dead", 2*time.Hour)
	insert(1, "pending", time.Hour)
	insert(1, "pending", time.Minute)
	insert(2, "pending", 5*time.Hour)

	got := inboxHealth(ctx, store, 1)
	require.EqualValues(t, 2, got.Pending)
	require.EqualValues(t, 1, got.Dead)
	require.NotNil(t, got.OldestPendingAt)
	require.WithinDuration(t, time.Now().Add(-time.Hour), *got.OldestPendingAt, time.Minute, "the oldest waiting row of this salon")
}

// The health endpoint counts the salon's paused messages and names the dispatcher's owner
// (the session holding its lock), none when nobody holds it.
func TestPausedAndDispatcherHealth(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	require.Equal(t, &httpapi.PausedHealth{}, pausedHealth(ctx, store, 1))
	for _, id := range []string{"booking-1-5", "booking-1-6"} {
		require.NoError(t, store.AddPausedMessage(ctx, sqlc.AddPausedMessageParams{SalonID: 1, WorkflowID: id, Reason: "salon frozen"}))
	}
	got := pausedHealth(ctx, store, 1)
	require.EqualValues(t, 2, got.Waiting)
	require.NotNil(t, got.Since)
	require.WithinDuration(t, time.Now(), *got.Since, time.Minute)

	require.Equal(t, &httpapi.DispatcherHealth{}, dispatcherHealth(ctx, store), "nobody holds the lock")
	d := dispatcher.New(dispatcher.Options{Store: store, Name: "worker-7"})
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(dctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool {
		h := dispatcherHealth(ctx, store)
		return h != nil && h.Holders == 1 && h.Owner == "worker-7"
	}, 10*time.Second, 50*time.Millisecond, "the owner named")
}
