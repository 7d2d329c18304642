package dispatcher_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/db/inbox"
	"github.com/aiadmin/aiadmin/db/sqlc"
	httpapi "github.com/aiadmin/aiadmin/http"
)

// TestWakesWhenAWebhookIsStored: an idle dispatcher does not wait for its next look at the
// inbox (an hour here) to hand on a webhook the intake has just committed: the intake's
// group commit tells it, through PostgreSQL, so that it works in another process too.
func TestWakesWhenAWebhookIsStored(t *testing.T) {
	h := newHarness(t)
	salon := h.salon()
	const secret = "wake-test-secret-0123456789abcdef"
	require.NoError(t, h.store.UpsertWebhookSecret(h.ctx, sqlc.UpsertWebhookSecretParams{
		SalonID: salon, WebhookSecretHash: inbox.SecretHash(secret)}))
	batch := inbox.New(h.store, inbox.Options{})
	t.Cleanup(batch.Close)
	intake := httpapi.StoreInbox{Store: h.store, Batch: batch}

	d := dispatcher.New(dispatcher.Options{Store: h.store, Temporal: h.c, TaskQueue: taskQueue, Name: "wake",
		Interval: time.Hour})
	first := h.save(salon, record(salon, 1, "create", "2030-01-02T10:00:00+03:00", "Анна"))
	run(t, d)
	// The first look at the inbox takes the row stored before; then the dispatcher is idle
	// for an hour unless woken.
	require.Eventually(t, func() bool { return h.row(first).State == "processed" }, 10*time.Second, 10*time.Millisecond)

	for i, rec := range []int64{2, 3, 4} {
		id, err := intake.Receive(h.ctx, salon, secret, map[string]string{"Content-Type": "application/json"},
			[]byte(record(salon, rec, "create", "2030-01-02T11:00:00+03:00", "Вера")))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return h.row(id).State == "processed" }, 5*time.Second, 10*time.Millisecond,
			"webhook %d waits for the dispatcher's next look at the inbox", i+1)
	}
	require.Len(t, h.signals(salon, 4), 1)
}
