package dispatcher_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
	httpapi "github.com/aiadmin/aiadmin/http"
	"github.com/aiadmin/aiadmin/workflows"
)

// TestDispatcherHandsRowsToTemporalInOrder runs the dispatcher against a real Temporal server:
// record events become signals of the record's booking workflow in inbox order, clients are
// stored, other resources are marked ignored.
func TestDispatcherHandsRowsToTemporalInOrder(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`")
	}
	ctx := context.Background()
	store, _ := dbtest.New(t)
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	salon := time.Now().UnixNano() % 1_000_000_000
	intake := httpapi.StoreInbox{Store: store}
	save := func(body string) {
		_, err := intake.Save(ctx, salon, nil, []byte(body))
		require.NoError(t, err)
	}
	rec := func(id int64, status, at string) string {
		return fmt.Sprintf(`{"company_id":%d,"resource":"record","resource_id":%d,"status":%q,"data":{"id":%d,"datetime":%q,`+
			`"staff":{"id":7,"name":"Оксана"},"services":[{"id":2,"title":"Б"},{"id":1,"title":"А"}],"client":{"name":"Анна","phone":"+79990001122"}}}`,
			salon, id, status, id, at)
	}
	save(rec(1, "create", "2030-01-02T10:00:00+03:00"))
	save(`{"company_id":1,"resource":"client","resource_id":5,"status":"create","data":{"id":5,"name":"Анна","phone":"+7 999 000-11-22"}}`)
	save(`{"company_id":1,"resource":"goods_operations_sale","resource_id":9,"status":"create","data":{}}`)
	save(rec(1, "update", "2030-01-03T11:00:00+03:00"))
	save(rec(2, "create", "2030-01-04T12:00:00+03:00"))

	d := dispatcher.New(dispatcher.Options{Store: store, Temporal: c, TaskQueue: "inbox-test-nobody-polls"})
	n, err := d.DispatchOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	for _, state := range []string{"pending", "failed"} {
		left, err := store.CountInboxByState(ctx, sqlc.CountInboxByStateParams{SalonID: salon, State: state})
		require.NoError(t, err)
		require.Zero(t, left, state)
	}
	ignored, err := store.CountInboxByState(ctx, sqlc.CountInboxByStateParams{SalonID: salon, State: "ignored"})
	require.NoError(t, err)
	require.EqualValues(t, 1, ignored)

	var signals []workflows.RecordEvent
	iter := c.GetWorkflowHistory(ctx, workflows.BookingID(salon, 1), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		attrs := ev.GetWorkflowExecutionSignaledEventAttributes()
		if attrs == nil {
			continue
		}
		var re workflows.RecordEvent
		require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &re))
		signals = append(signals, re)
	}
	require.Len(t, signals, 2)
	require.Equal(t, "create", signals[0].Status)
	require.Equal(t, "update", signals[1].Status)
	require.Less(t, signals[0].InboxID, signals[1].InboxID)
	require.Equal(t, []int64{1, 2}, signals[0].Visit.ServiceIDs, "services sorted: a reordered array is no change")
	require.Equal(t, []string{"А", "Б"}, signals[0].Visit.Services)
	require.Equal(t, "Анна", signals[0].Visit.ClientName)
	_, err = c.DescribeWorkflowExecution(ctx, workflows.BookingID(salon, 2), "")
	require.NoError(t, err)
	for _, id := range []int64{1, 2} {
		require.NoError(t, c.TerminateWorkflow(ctx, workflows.BookingID(salon, id), "", "test done"))
	}
}
