package dispatcher_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// A record webhook whose times come without an offset is read in the salon's zone (not as
// UTC), and the signal carries the record's creation and last change and the salon's
// activation time, by which the booking workflow orders events and decides on a confirmation.
func TestRecordEventsReadInTheSalonsZone(t *testing.T) {
	h := newHarness(t)
	salon := h.salon()
	_, err := h.store.UpsertCompany(h.ctx, sqlc.UpsertCompanyParams{SalonID: salon, Title: "Салон", Timezone: "Asia/Vladivostok"})
	require.NoError(t, err)
	_, err = h.store.SetInstallStatus(h.ctx, sqlc.SetInstallStatusParams{SalonID: salon, InstallStatus: "active"})
	require.NoError(t, err)
	h.save(salon, fmt.Sprintf(`{"company_id":%d,"resource":"record","resource_id":1,"status":"create","data":{"id":1,`+
		`"date":"2030-01-02 14:30:00","create_date":"2030-01-01 09:00:00","last_change_date":"2030-01-01T09:00:05+1000",`+
		`"staff":{"id":7,"name":"Оксана"},"services":[{"id":1,"title":"А"}],"client":{"name":"Анна","phone":"+79990001122"}}}`, salon))
	d := dispatcher.New(dispatcher.Options{Store: h.store, Temporal: h.c, TaskQueue: taskQueue})
	_, err = d.DispatchOnce(h.ctx)
	require.NoError(t, err)
	sig := h.signals(salon, 1)
	require.Len(t, sig, 1)
	require.True(t, sig[0].Visit.Start.Equal(time.Date(2030, 1, 2, 4, 30, 0, 0, time.UTC)), "14:30 in Vladivostok, got %s", sig[0].Visit.Start)
	require.True(t, sig[0].CreatedAt.Equal(time.Date(2029, 12, 31, 23, 0, 0, 0, time.UTC)), "created %s", sig[0].CreatedAt)
	require.True(t, sig[0].ChangedAt.Equal(time.Date(2029, 12, 31, 23, 0, 5, 0, time.UTC)), "changed %s", sig[0].ChangedAt)
	require.False(t, sig[0].ActivatedAt.IsZero(), "the salon's activation time")
	// The activation (moments ago) less the minute a record booked as the salon went live is
	// still confirmed (goLiveSlack).
	require.WithinDuration(t, time.Now().Add(-time.Minute), sig[0].ActivatedAt, 10*time.Second)
}

// YClients sends several webhooks for one change (the reference saw four updates), and an
// update right after the create that repeats it: a delivery that tells the booking workflow
// nothing new (same visit, client, attendance; only the status word or last_change_date
// differ) costs no signal.
func TestDeliveriesThatChangeNothingCostNoSignal(t *testing.T) {
	h := newHarness(t)
	salon := h.salon()
	body := func(status, changed, at string) string {
		return fmt.Sprintf(`{"company_id":%d,"resource":"record","resource_id":1,"status":%q,"data":{"id":1,`+
			`"datetime":%q,"create_date":"2030-01-01T09:00:00+0300","last_change_date":%q,"attendance":0,`+
			`"staff":{"id":7,"name":"Оксана"},"services":[{"id":1,"title":"А","cost":100}],"client":{"name":"Анна","phone":"+79990001122"}}}`,
			salon, status, at, changed)
	}
	h.save(salon, body("create", "2030-01-01T09:00:00+0300", "2030-01-02T14:30:00+03:00"))
	h.save(salon, body("create", "2030-01-01T09:00:00+0300", "2030-01-02T14:30:00+03:00")) // byte-identical
	for i := range 4 {
		h.save(salon, body("update", fmt.Sprintf("2030-01-01T09:00:0%d+0300", i+1), "2030-01-02T14:30:00+03:00"))
	}
	h.save(salon, body("update", "2030-01-01T09:10:00+0300", "2030-01-02T16:00:00+03:00")) // a reschedule
	d := dispatcher.New(dispatcher.Options{Store: h.store, Temporal: h.c, TaskQueue: taskQueue})
	_, err := d.DispatchOnce(h.ctx)
	require.NoError(t, err)
	sig := h.signals(salon, 1)
	require.Len(t, sig, 2, "the create and the reschedule")
	require.True(t, sig[1].Visit.Start.Equal(time.Date(2030, 1, 2, 13, 0, 0, 0, time.UTC)))
	require.EqualValues(t, 5, h.count(salon, "duplicate"))
}
