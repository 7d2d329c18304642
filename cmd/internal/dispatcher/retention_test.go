package dispatcher_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
	httpapi "github.com/aiadmin/aiadmin/http"
)

// TestIdleTimePurges: the working dispatcher, when it has nothing to do, empties the bodies
// of rows finished more than the retention ago (keeping the rows), deletes those rows once
// they were finished more than the rows' retention ago, and deletes expired pairing events, the ends of pairing attempts older than a day and leases expired an hour ago (a
// dispatcher stopped before it ended its rows).
func TestIdleTimePurges(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	c := noTemporal(t) // client rows and the purge need none
	save := func(body string) int64 {
		id, err := httpapi.StoreInbox{Store: store}.Save(ctx, 7, nil, []byte(body))
		require.NoError(t, err)
		return id
	}
	old := save(`{"resource":"client","resource_id":1,"status":"create","data":{"id":1,"name":"Анна","phone":"+79990001122"}}`)
	recent := save(`{"resource":"client","resource_id":2,"status":"create","data":{"id":2,"name":"Борис","phone":"+79990001133"}}`)
	pairing := func(kind string, expires *time.Time, age time.Duration) int64 {
		id, err := store.InsertPairingEvent(ctx, sqlc.InsertPairingEventParams{SalonID: 7, Kind: kind, PayloadEnc: []byte{1}, ExpiresAt: expires})
		require.NoError(t, err)
		_, err = store.Pool.Exec(ctx, "UPDATE pairing_events SET created_at = now() - $2::interval WHERE id = $1", id, age)
		require.NoError(t, err)
		return id
	}
	past, future := time.Now().Add(-time.Second), time.Now().Add(time.Minute)
	pairing("qr", &past, time.Minute)
	pairing("success", nil, 25*time.Hour)
	liveQR := pairing("qr", &future, 0)
	fresh := pairing("success", nil, time.Hour)

	ancient := save(`{"resource":"client","resource_id":4,"status":"create","data":{"id":4,"name":"Галина","phone":"+79990001144"}}`)
	leftOver := save(`{"resource":"goods_operations_sale","resource_id":3,"status":"create","data":{}}`)
	_, err := store.Pool.Exec(ctx, `UPDATE webhook_inbox SET state = 'ignored', processed_at = now() WHERE id = $1`, leftOver)
	require.NoError(t, err)
	_, err = store.Pool.Exec(ctx, `INSERT INTO webhook_inbox_leases (inbox_id, claim_token, claimed_until)
		VALUES ($1, 'stopped-dispatcher', now() - interval '61 minutes'), ($1 + 1000000, 'stopped-dispatcher', now() - interval '10 minutes')`, leftOver)
	require.NoError(t, err)

	d := dispatcher.New(dispatcher.Options{Store: store, Temporal: c, TaskQueue: taskQueue, Interval: 10 * time.Millisecond,
		Retention: time.Hour, RowRetention: 2 * time.Hour, PurgeEvery: 50 * time.Millisecond})
	run(t, d)

	state := func(id int64) (st string, body []byte, purged bool) {
		require.NoError(t, store.Pool.QueryRow(ctx, "SELECT state, body, purged_at IS NOT NULL FROM webhook_inbox WHERE id = $1", id).
			Scan(&st, &body, &purged))
		return st, body, purged
	}
	require.Eventually(t, func() bool {
		a, _, _ := state(old)
		b, _, _ := state(recent)
		c, _, _ := state(ancient)
		return a == "processed" && b == "processed" && c == "processed"
	}, 10*time.Second, 10*time.Millisecond)
	_, err = store.Pool.Exec(ctx, "UPDATE webhook_inbox SET processed_at = now() - interval '61 minutes' WHERE id = $1", old)
	require.NoError(t, err)
	_, err = store.Pool.Exec(ctx, "UPDATE webhook_inbox SET processed_at = now() - interval '121 minutes' WHERE id = $1", ancient)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, store.Pool.QueryRow(ctx, "SELECT count(*) FROM webhook_inbox WHERE id = $1", ancient).Scan(&n))
		return n == 0
	}, 10*time.Second, 10*time.Millisecond, "the row finished more than the rows' retention ago is deleted")

	require.Eventually(t, func() bool { _, _, purged := state(old); return purged }, 10*time.Second, 10*time.Millisecond)
	st, body, _ := state(old)
	require.Equal(t, "processed", st)
	require.Empty(t, body, "the client's name and phone are gone")
	var kept bool
	require.NoError(t, store.Pool.QueryRow(ctx, "SELECT resource = 'client' AND resource_id = 1 FROM webhook_inbox WHERE id = $1", old).Scan(&kept))
	require.True(t, kept, "the row keeps what it was about")
	_, body, purged := state(recent)
	require.False(t, purged, "within the retention")
	require.Contains(t, string(body), "Борис")

	evs, err := store.ListPairingEvents(ctx, sqlc.ListPairingEventsParams{SalonID: 7, MaxRows: 10})
	require.NoError(t, err)
	require.Len(t, evs, 2, "the expired code and the day-old success are deleted")
	require.Equal(t, []int64{liveQR, fresh}, []int64{evs[0].ID, evs[1].ID})

	var leases []int64
	rows, err := store.Pool.Query(ctx, "SELECT inbox_id FROM webhook_inbox_leases WHERE claim_token = 'stopped-dispatcher'")
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		leases = append(leases, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int64{leftOver + 1000000}, leases, "the lease expired an hour ago is deleted, the recent one kept")
}

// TestPurgeAgesTheMessageLedger: the dispatcher's purge empties the number and text of a
// message once it was written, ended and visited more than MessageRetention ago, and deletes a
// visit's emptied message MessageRowRetention after it was written and visited. A message about
// no visit (a client's welcome) keeps its row, and a queued one everything. An emptied message
// is still sent at most once: sending it again sends nothing. (Times move by the now given to
// Purge: a year in one test.)
func TestPurgeAgesTheMessageLedger(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	c := noTemporal(t) // client rows and the purge need none
	const salon = int64(818181)
	phone := simphone.New(simphone.Options{})
	phone.Restore(salon, "79990001122", "Салон", false)
	l := ledger.New(store, phone, nil)

	now := time.Now()
	at := func(d time.Duration) time.Time { return now.Add(d).Truncate(time.Second).UTC() }
	keys := map[string]ledger.Key{
		"past visit":    {SalonID: salon, RecordID: 1, Kind: texts.ReminderDay, VisitTime: at(-100 * day)},
		"visit to come": {SalonID: salon, RecordID: 2, Kind: texts.Confirmation, VisitTime: at(10 * day)},
		"welcome":       {SalonID: salon, RecordID: 3, Kind: texts.ClientWelcome, VisitTime: ledger.Epoch},
		"skipped":       {SalonID: salon, RecordID: 4, Kind: texts.Reminder2h, VisitTime: at(-100 * day)},
		"recent":        {SalonID: salon, RecordID: 6, Kind: texts.Confirmation, VisitTime: at(-day)},
	}
	var err error
	for name, k := range keys {
		var res ledger.Result
		if name == "skipped" {
			res, err = l.Skip(ctx, k, "79160000004", "opted_out")
		} else {
			res, err = l.Send(ctx, k, "7916000000"+fmt.Sprint(k.RecordID), "Анна, "+name)
		}
		require.NoError(t, err)
		require.False(t, res.Already)
	}
	queued := ledger.Key{SalonID: salon, RecordID: 5, Kind: texts.Reminder2h, VisitTime: at(-100 * day)}
	_, err = l.Reserve(ctx, queued, "79160000005", "Анна, queued", false)
	require.NoError(t, err)
	_, err = store.Pool.Exec(ctx, `UPDATE messages SET created_at = now() - interval '100 days', updated_at = now() - interval '100 days'
		WHERE salon_id = $1 AND record_id <> 6`, salon)
	require.NoError(t, err)
	sent := len(phone.Messages(salon))
	require.Equal(t, 4, sent)

	type row struct {
		Status string
		Kept   bool // the number and the text
	}
	ledgerNow := func() map[int64]row {
		msgs, err := store.ListMessages(ctx, salon)
		require.NoError(t, err)
		out := map[int64]row{}
		for _, m := range msgs {
			out[m.RecordID] = row{m.Status, m.Phone != "" && m.Body != ""}
		}
		return out
	}
	d := dispatcher.New(dispatcher.Options{Store: store, Temporal: c, TaskQueue: taskQueue})

	// Today, with the defaults (90 days, a year).
	_, err = d.Purge(ctx, now)
	require.NoError(t, err)
	require.Equal(t, map[int64]row{
		1: {"sent", false}, 2: {"sent", true}, 3: {"sent", false}, 4: {"skipped", false},
		5: {"queued", true}, 6: {"sent", true},
	}, ledgerNow())
	for name, k := range keys {
		res, err := l.Send(ctx, k, "79160000009", "again")
		require.NoError(t, err, name)
		require.True(t, res.Already, "%s: still finished", name)
	}
	require.Len(t, phone.Messages(salon), sent, "nothing sent again")

	// 300 days on: the rows written 100 days ago were visited more than a year ago, except the
	// visit that was to come; everything ended is emptied.
	_, err = d.Purge(ctx, now.Add(300*day))
	require.NoError(t, err)
	require.Equal(t, map[int64]row{
		2: {"sent", false}, 3: {"sent", false}, 5: {"queued", true}, 6: {"sent", false},
	}, ledgerNow())
	res, err := l.Send(ctx, keys["welcome"], "79160000009", "again")
	require.NoError(t, err)
	require.True(t, res.Already, "a client's welcome stays once only")
	require.Len(t, phone.Messages(salon), sent)
}

// The dispatcher's purge deletes the operational records older than OpsRetention (alerts,
// sync runs but each salon's latest, daily send counts), written through the statements that
// write them, and keeps the recent ones.
func TestPurgeDeletesOldOpsRecords(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	c := noTemporal(t) // client rows and the purge need none
	age := func(table, column string, id int64, by time.Duration) {
		_, err := store.Pool.Exec(ctx, "UPDATE "+table+" SET "+column+" = "+column+" - $2::interval WHERE id = $1", id, by)
		require.NoError(t, err)
	}
	record := func(salon int64, ago time.Duration) {
		alert, err := store.InsertOpsAlert(ctx, sqlc.InsertOpsAlertParams{SalonID: &salon, Level: "warn", Kind: "relink", Message: "WhatsApp отключён"})
		require.NoError(t, err)
		age("ops_alerts", "created_at", alert, ago)
		run, err := store.StartSyncRun(ctx, salon)
		require.NoError(t, err)
		require.NoError(t, store.FinishSyncRun(ctx, sqlc.FinishSyncRunParams{ID: run, ServicesCount: 3}))
		age("sync_runs", "started_at", run, ago)
		_, err = store.ReserveDailySend(ctx, sqlc.ReserveDailySendParams{SalonID: salon, Day: time.Now().Add(-ago), DailyCap: 100})
		require.NoError(t, err)
	}
	record(1, 200*day)
	record(1, 2*day)
	record(2, 120*day) // salon 2's only run: its latest, kept
	record(3, 80*day)

	d := dispatcher.New(dispatcher.Options{Store: store, Temporal: c, TaskQueue: taskQueue})
	n, err := d.Purge(ctx, time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "the largest batch: two alerts, two daily counts")

	alerts, err := store.ListOpsAlerts(ctx, sqlc.ListOpsAlertsParams{MaxRows: 100})
	require.NoError(t, err)
	var left []int64
	for _, a := range alerts {
		left = append(left, *a.SalonID)
	}
	require.ElementsMatch(t, []int64{1, 3}, left, "alerts left by salon")
	for salon, days := range map[int64]int{1: 2, 2: 120, 3: 80} {
		run, err := store.LastSyncRun(ctx, salon)
		require.NoError(t, err)
		require.Equal(t, days, int(time.Since(run.StartedAt)/day), "salon %d's latest sync run", salon)
	}
	var runs int
	require.NoError(t, store.Pool.QueryRow(ctx, "SELECT count(*) FROM sync_runs").Scan(&runs))
	require.Equal(t, 3, runs, "salon 1's old run deleted")
	for _, tc := range []struct {
		salon int64
		ago   time.Duration
		want  int32
	}{{1, 200 * day, 0}, {1, 2 * day, 1}, {2, 120 * day, 0}, {3, 80 * day, 1}} {
		sends, err := store.DailySends(ctx, sqlc.DailySendsParams{SalonID: tc.salon, Day: time.Now().Add(-tc.ago)})
		require.NoError(t, err)
		require.Equal(t, tc.want, sends, "salon %d, %s ago", tc.salon, tc.ago)
	}
}

const day = 24 * time.Hour

// noTemporal is a client of a Temporal server that is not there.
func noTemporal(t *testing.T) client.Client {
	t.Helper()
	c, err := client.NewLazyClient(client.Options{HostPort: closedAddr(t)})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}
