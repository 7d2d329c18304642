package dispatcher_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
	httpapi "github.com/aiadmin/aiadmin/http"
	"github.com/aiadmin/aiadmin/workflows"
)

// taskQueue is polled by nobody: the booking workflows the tests start only collect signals.
const taskQueue = "inbox-test-nobody-polls"

// harness is one test's PostgreSQL database and a client of the real Temporal server.
type harness struct {
	t     *testing.T
	ctx   context.Context
	store *db.Store
	dsn   string
	c     client.Client
}

var salonSeq atomic.Int64

func newHarness(t *testing.T) *harness {
	t.Helper()
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through `make test`")
	}
	store, dsn := dbtest.New(t)
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return &harness{t: t, ctx: context.Background(), store: store, dsn: dsn, c: c}
}

// salon returns a salon ID no other test (of this run, on this Temporal server) uses; the
// booking workflows it gets are terminated when the test ends.
func (h *harness) salon() int64 {
	id := time.Now().UnixNano()%1_000_000_000 + salonSeq.Add(1)*1_000_000_000
	h.t.Cleanup(func() { h.terminateSalon(id) })
	return id
}

func (h *harness) terminateSalon(salon int64) {
	rows, err := h.store.Pool.Query(h.ctx,
		"SELECT DISTINCT resource_id FROM webhook_inbox WHERE salon_id = $1 AND resource = 'record'", salon)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var rec int64
		if rows.Scan(&rec) == nil {
			_ = h.c.TerminateWorkflow(h.ctx, workflows.BookingID(salon, rec), "", "test done")
		}
	}
}

// save stores a webhook body as the HTTP layer does and returns its inbox ID.
func (h *harness) save(salon int64, body string) int64 {
	h.t.Helper()
	id, err := httpapi.StoreInbox{Store: h.store}.Save(h.ctx, salon, nil, []byte(body))
	require.NoError(h.t, err)
	return id
}

// record is a record webhook's body.
func record(salon, id int64, status, at, client string) string {
	name, _ := json.Marshal(client)
	return fmt.Sprintf(`{"company_id":%d,"resource":"record","resource_id":%d,"status":%q,"data":{"id":%d,"datetime":%q,`+
		`"staff":{"id":7,"name":"Оксана"},"services":[{"id":1,"title":"Стрижка"}],"client":{"name":%s,"phone":"+79990001122"}}}`,
		salon, id, status, id, at, name)
}

// row is what the tests read of an inbox row.
type row struct {
	State       string
	Attempts    int32
	LastError   string
	RetryLater  bool // next_attempt_at is in the future
	Purged      bool
	BodyPresent bool
}

func (h *harness) row(id int64) row {
	h.t.Helper()
	var r row
	require.NoError(h.t, h.store.Pool.QueryRow(h.ctx, `SELECT state, attempts, last_error,
		coalesce(next_attempt_at > now(), false), purged_at IS NOT NULL, length(body) > 0
		FROM webhook_inbox WHERE id = $1`, id).
		Scan(&r.State, &r.Attempts, &r.LastError, &r.RetryLater, &r.Purged, &r.BodyPresent))
	return r
}

func (h *harness) count(salon int64, state string) int64 {
	h.t.Helper()
	n, err := h.store.CountInboxByState(h.ctx, sqlc.CountInboxByStateParams{SalonID: salon, State: state})
	require.NoError(h.t, err)
	return n
}

// signals returns the record events in the booking workflow's history, in order; none when
// the workflow was never started.
func (h *harness) signals(salon, rec int64) []workflows.RecordEvent {
	h.t.Helper()
	var out []workflows.RecordEvent
	iter := h.c.GetWorkflowHistory(h.ctx, workflows.BookingID(salon, rec), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		var missing *serviceerror.NotFound
		if errors.As(err, &missing) {
			return nil
		}
		require.NoError(h.t, err)
		attrs := ev.GetWorkflowExecutionSignaledEventAttributes()
		if attrs == nil {
			continue
		}
		var re workflows.RecordEvent
		require.NoError(h.t, converter.GetDefaultDataConverter().FromPayloads(attrs.GetInput(), &re))
		out = append(out, re)
	}
	return out
}

func inboxIDs(evs []workflows.RecordEvent) []int64 {
	out := []int64{}
	for _, e := range evs {
		out = append(out, e.InboxID)
	}
	return out
}

// run runs d until the test ends.
func run(t *testing.T, d *dispatcher.Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
