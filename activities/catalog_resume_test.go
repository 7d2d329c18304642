package activities

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// A sync retried after YClients failed on its second part goes on from there: it does not read
// the services it already stored again (with ~30 % of YClients' answers failing, four reads in
// a row rarely all succeed, and the sync of R2's salon never finished when each attempt
// started over), and the rows it stored before keep their stamp, so nothing is deactivated.
func TestSyncResumesAfterTheStoredParts(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: "p", ApplicationID: 1})
	fake.SeedDemo()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	yc := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: "p", ApplicationID: 1, Limiter: rate.NewLimiter(rate.Inf, 1)})
	const salon = yclientsfake.DemoSalonMoscow
	_, err := store.UpsertCompany(ctx, sqlc.UpsertCompanyParams{SalonID: salon, Title: "Салон", Timezone: "Europe/Moscow"})
	require.NoError(t, err)
	c := &Catalog{store: store, yc: yc, zones: &zones{log: slog.New(slog.DiscardHandler)}, now: time.Now}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivityWithOptions(c.Sync, activity.RegisterOptions{Name: ActSync})

	// Attempt 1: the services are stored, then YClients fails on the staff.
	require.NoError(t, fake.AddFault(yclientsfake.Fault{PathPrefix: fmt.Sprintf("/api/v1/company/%d/staff", salon), Status: 503, Count: 1}))
	var prog syncProgress
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) { _ = d.Get(&prog) })
	_, err = env.ExecuteActivity(ActSync, SalonRef{SalonID: salon})
	require.Error(t, err)
	require.Equal(t, 1, prog.Done, "the services part was reported done")
	before := len(fake.Requests())

	// Attempt 2 starts from that progress.
	env.SetHeartbeatDetails(prog)
	v, err := env.ExecuteActivity(ActSync, SalonRef{SalonID: salon})
	require.NoError(t, err)
	var out SyncOutput
	require.NoError(t, v.Get(&out))
	for _, r := range fake.Requests()[before:] {
		require.NotContains(t, r.Path, "services", "services read again")
	}
	require.Equal(t, prog.Out.Services, out.Services, "the services counted once")
	require.Positive(t, out.Staff)
	require.Zero(t, out.Deactivated, "nothing stored by attempt 1 deactivated")
}
