package dispatcher_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities/metrics/metricstest"
	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
	httpapi "github.com/aiadmin/aiadmin/http"
)

// hugeName makes a record event larger than the Temporal server's blob size limit (2 MiB):
// the server refuses the signal, as it would refuse it forever.
var hugeName = strings.Repeat("Я", 1_300_000)

// TestRefusedRowDelaysOnlyItsLane: a row Temporal refuses holds back the later events of its
// own record only; every other record, of the same salon or another, is handed on.
func TestRefusedRowDelaysOnlyItsLane(t *testing.T) {
	h := newHarness(t)
	a, b := h.salon(), h.salon()
	refused := h.save(a, record(a, 1, "create", "2030-01-02T10:00:00+03:00", hugeName))
	later := h.save(a, record(a, 1, "update", "2030-01-03T10:00:00+03:00", "Анна"))
	sameSalon := h.save(a, record(a, 2, "create", "2030-01-04T10:00:00+03:00", "Борис"))
	otherSalon := h.save(b, record(b, 1, "create", "2030-01-05T10:00:00+03:00", "Вера"))

	d := dispatcher.New(dispatcher.Options{Store: h.store, Temporal: h.c, TaskQueue: taskQueue})
	_, _ = d.DispatchOnce(h.ctx) // reports the refused row; the others are done

	require.Equal(t, "processed", h.row(sameSalon).State, "another record of the same salon")
	require.Equal(t, "processed", h.row(otherSalon).State, "another salon")
	got := h.row(refused)
	require.Equal(t, "pending", got.State)
	require.EqualValues(t, 1, got.Attempts)
	require.NotEmpty(t, got.LastError)
	require.Contains(t, got.LastError, "Blob data size exceeds limit")
	require.True(t, got.RetryLater, "a refused row waits before its next attempt")
	require.Equal(t, row{State: "pending", BodyPresent: true}, h.row(later), "a later event of the record never overtakes")
	require.Empty(t, h.signals(a, 1))

	// At once again: the refused row waits for its retry, and its record with it.
	_, _ = d.DispatchOnce(h.ctx)
	require.EqualValues(t, 1, h.row(refused).Attempts)
	require.Equal(t, "pending", h.row(later).State)
	require.Len(t, h.signals(a, 2), 1)
	require.Len(t, h.signals(b, 1), 1)
}

// TestNULInClientDataIsStripped: PostgreSQL's text columns refuse NUL; a client's name or
// phone with one must not fail the row (and with it, before lanes, the whole inbox).
func TestNULInClientDataIsStripped(t *testing.T) {
	h := newHarness(t)
	salon := h.salon()
	client := h.save(salon, `{"company_id":1,"resource":"client","resource_id":5,"status":"create",`+
		`"data":{"id":5,"name":"Ан\u0000на","phone":"+7 999\u0000 000-11-22"}}`)
	rec := h.save(salon, record(salon, 1, "create", "2030-01-02T10:00:00+03:00", "Ан\x00на"))
	after := h.save(salon, record(salon, 2, "create", "2030-01-02T11:00:00+03:00", "Вера"))

	d := dispatcher.New(dispatcher.Options{Store: h.store, Temporal: h.c, TaskQueue: taskQueue})
	n, err := d.DispatchOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	for _, id := range []int64{client, rec, after} {
		require.Equal(t, "processed", h.row(id).State, "row %d", id)
	}
	var name, phone string
	require.NoError(t, h.store.Pool.QueryRow(h.ctx,
		"SELECT name, phone FROM clients WHERE salon_id = $1 AND yclients_id = 5", salon).Scan(&name, &phone))
	require.Equal(t, "Анна", name)
	require.Equal(t, "79990001122", phone)
	sig := h.signals(salon, 1)
	require.Len(t, sig, 1)
	require.Equal(t, "Анна", sig[0].Visit.ClientName, "the booking workflow stores the name too")
}

// TestDuplicateDeliveriesCostNoSignal: YClients delivers one change as four identical update
// webhooks; the booking workflow gets one signal, whether the copies arrive in one batch or
// after the first was handed on.
func TestDuplicateDeliveriesCostNoSignal(t *testing.T) {
	h := newHarness(t)
	salon := h.salon()
	create := record(salon, 1, "create", "2030-01-02T10:00:00+03:00", "Анна")
	update := record(salon, 1, "update", "2030-01-03T10:00:00+03:00", "Анна")
	first := h.save(salon, create)
	firstUpdate := h.save(salon, update)
	for range 2 {
		h.save(salon, update)
	}
	other := record(salon, 2, "create", "2030-01-02T12:00:00+03:00", "Борис")
	otherFirst := h.save(salon, other)
	d := dispatcher.New(dispatcher.Options{Store: h.store, Temporal: h.c, TaskQueue: taskQueue})
	n, err := d.DispatchOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	// One pass with three lanes, their previous deliveries read together: the fourth copy of
	// record 1's update and a copy of record 2's creation, after the others were handed on,
	// and record 3, which has none.
	late := h.save(salon, update)
	otherLate := h.save(salon, other)
	third := h.save(salon, record(salon, 3, "create", "2030-01-02T14:00:00+03:00", "Вера"))
	n, err = d.DispatchOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Equal(t, "duplicate", h.row(otherLate).State)
	require.Equal(t, []int64{otherFirst}, inboxIDs(h.signals(salon, 2)))
	require.Equal(t, []int64{third}, inboxIDs(h.signals(salon, 3)))

	sig := h.signals(salon, 1)
	require.Equal(t, []int64{first, firstUpdate}, inboxIDs(sig), "one signal per change")
	require.Equal(t, []string{"create", "update"}, []string{sig[0].Status, sig[1].Status})
	require.EqualValues(t, 4, h.count(salon, "duplicate"))
	require.Equal(t, "duplicate", h.row(late).State)
	require.EqualValues(t, 0, h.count(salon, "pending"))

	// A real change after the copies is handed on.
	again := h.save(salon, record(salon, 1, "update", "2030-01-04T10:00:00+03:00", "Анна"))
	_, err = d.DispatchOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{first, firstUpdate, again}, inboxIDs(h.signals(salon, 1)))
}

// TestRefusedRowGoesDead: after MaxAttempts a refused row goes dead with an operator alert,
// and its lane goes on.
func TestRefusedRowGoesDead(t *testing.T) {
	h := newHarness(t)
	salon := h.salon()
	refused := h.save(salon, record(salon, 1, "create", "2030-01-02T10:00:00+03:00", hugeName))
	later := h.save(salon, record(salon, 1, "update", "2030-01-03T10:00:00+03:00", "Анна"))
	d := dispatcher.New(dispatcher.Options{Store: h.store, Temporal: h.c, TaskQueue: taskQueue,
		MaxAttempts: 3, RetryBase: 50 * time.Millisecond})
	rows := func(state string) float64 {
		return metricstest.Value(t, "aiadmin_inbox_rows_total", map[string]string{"state": state})
	}
	dead, refusals, handedOn := rows("dead"), rows("refused"), metricstest.Value(t, "aiadmin_dispatcher_lag_seconds", nil)

	start := time.Now()
	require.Eventually(t, func() bool {
		_, _ = d.DispatchOnce(h.ctx)
		return h.row(refused).State == "dead"
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, dead+1, rows("dead"), "the dead row counted")
	require.Equal(t, refusals+2, rows("refused"), "two refusals before it went dead")
	backlog, err := h.store.InboxBacklog(h.ctx)
	require.NoError(t, err)
	require.Equal(t, sqlc.InboxBacklogRow{Pending: 1, Dead: 1, OldestPendingUnix: backlog.OldestPendingUnix}, backlog)
	require.InDelta(t, float64(time.Now().Unix()), backlog.OldestPendingUnix, 60, "the later row waits since it arrived")
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "waits 50 ms, then 100 ms between the attempts")
	got := h.row(refused)
	require.EqualValues(t, 3, got.Attempts)
	require.Contains(t, got.LastError, "Blob data size exceeds limit")

	alerts, err := h.store.ListOpsAlerts(h.ctx, sqlc.ListOpsAlertsParams{SalonID: &salon, MaxRows: 10})
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.Equal(t, "inbox_dead", alerts[0].Kind)
	require.Equal(t, "error", alerts[0].Level)
	require.Contains(t, alerts[0].Message, fmt.Sprintf("Вебхук %d (record 1, create)", refused))
	require.NotContains(t, alerts[0].Message, "Я", "no client data in the alert")

	_, err = d.DispatchOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, "processed", h.row(later).State, "the lane goes on after its dead row")
	require.Equal(t, handedOn+1, metricstest.Value(t, "aiadmin_dispatcher_lag_seconds", nil), "its lag observed")
	backlog, err = h.store.InboxBacklog(h.ctx)
	require.NoError(t, err)
	require.Equal(t, sqlc.InboxBacklogRow{Pending: 0, Dead: 1}, backlog, "nothing waits: no oldest")
	require.Equal(t, []int64{later}, inboxIDs(h.signals(salon, 1)))
	health, err := h.store.InboxHealth(h.ctx, salon)
	require.NoError(t, err)
	require.Equal(t, sqlc.InboxHealthRow{Pending: 0, Dead: 1}, health)
}

// TestTemporalUnreachable: when Temporal cannot be reached at all, nothing is the rows' fault:
// they stay pending with their attempts uncounted, never go dead, and are due again at once
// (no next attempt in the future, so no lane is held waiting: the dispatcher's own backoff
// spaces the passes).
func TestTemporalUnreachable(t *testing.T) {
	store, _ := dbtest.New(t)
	ctx := context.Background()
	c, err := client.NewLazyClient(client.Options{HostPort: closedAddr(t)})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	salon := int64(42)
	id, err := httpapi.StoreInbox{Store: store}.Save(ctx, salon, nil, []byte(record(salon, 1, "create", "2030-01-02T10:00:00+03:00", "Анна")))
	require.NoError(t, err)
	d := dispatcher.New(dispatcher.Options{Store: store, Temporal: c, TaskQueue: taskQueue, MaxAttempts: 2, RetryBase: time.Millisecond})
	for range 4 {
		n, err := d.DispatchOnce(ctx)
		require.Error(t, err)
		require.Zero(t, n)
	}
	var state, lastError string
	var attempts int
	var waits bool
	require.NoError(t, store.Pool.QueryRow(ctx, `SELECT state, attempts, last_error, coalesce(next_attempt_at > now(), false)
		FROM webhook_inbox WHERE id = $1`, id).Scan(&state, &attempts, &lastError, &waits))
	require.Equal(t, "pending", state)
	require.Zero(t, attempts)
	require.NotEmpty(t, lastError)
	require.False(t, waits, "a row Temporal was out of reach for is due again at once")
}

// closedAddr is a local address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
