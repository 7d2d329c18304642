package dispatcher_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
)

// recorder passes a dispatcher's calls on to the real Temporal client, a little slower
// (delay), and notes who made each call, for which workflow, from when to when.
type recorder struct {
	dispatcher.Temporal
	who   string
	delay time.Duration
	log   *callLog
	d     *dispatcher.Dispatcher // set: a call with a live context while not Active is a violation
	// during, if set, runs at the start of every call (e.g. to look at PostgreSQL meanwhile).
	during func()
}

type call struct {
	who, workflowID string
	start, end      time.Time
}

type callLog struct {
	mu          sync.Mutex
	calls       []call
	inFlight    int
	maxInFlight int
	violations  []string
}

func (r *recorder) SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
	options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error) {
	c := call{who: r.who, workflowID: workflowID, start: time.Now()}
	r.log.mu.Lock()
	r.log.inFlight++
	r.log.maxInFlight = max(r.log.maxInFlight, r.log.inFlight)
	if r.d != nil && ctx.Err() == nil && !r.d.Active() {
		r.log.violations = append(r.log.violations, fmt.Sprintf("%s signalled %s while not active", r.who, workflowID))
	}
	r.log.mu.Unlock()
	if r.during != nil {
		r.during()
	}
	select {
	case <-ctx.Done():
	case <-time.After(r.delay):
	}
	run, err := r.Temporal.SignalWithStartWorkflow(ctx, workflowID, signalName, signalArg, options, workflow, workflowArgs...)
	c.end = time.Now()
	r.log.mu.Lock()
	r.log.inFlight--
	r.log.calls = append(r.log.calls, c)
	r.log.mu.Unlock()
	return run, err
}

// overlaps lists the calls of one workflow made by two dispatchers at once.
func (l *callLog) overlaps() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for i, a := range l.calls {
		for _, b := range l.calls[i+1:] {
			if a.workflowID == b.workflowID && a.who != b.who && a.start.Before(b.end) && b.start.Before(a.end) {
				out = append(out, fmt.Sprintf("%s: %s and %s at once", a.workflowID, a.who, b.who))
			}
		}
	}
	return out
}

func (l *callLog) by(who string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if c.who == who {
			n++
		}
	}
	return n
}

// TestLanesRunInParallelUpToTheBound: lanes are handed on at once, never more than Parallel,
// each in inbox order, and no transaction is open while Temporal is called.
func TestLanesRunInParallelUpToTheBound(t *testing.T) {
	h := newHarness(t)
	salon := h.salon()
	want := map[int64][]int64{}
	for step := range 2 {
		for rec := int64(1); rec <= 9; rec++ {
			at := time.Date(2030, 1, 2, 10+step, 0, 0, 0, time.UTC).Format(time.RFC3339)
			want[rec] = append(want[rec], h.save(salon, record(salon, rec, []string{"create", "update"}[step], at, "Анна")))
		}
	}
	var openTx []int
	log := &callLog{}
	rec := &recorder{Temporal: h.c, who: "d", delay: 50 * time.Millisecond, log: log, during: func() {
		n := -1 // the query failed
		_ = h.store.Pool.QueryRow(h.ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&n)
		log.mu.Lock()
		openTx = append(openTx, n)
		log.mu.Unlock()
	}}
	d := dispatcher.New(dispatcher.Options{Store: h.store, Temporal: rec, TaskQueue: taskQueue, Parallel: 3})
	n, err := d.DispatchOnce(h.ctx)
	require.NoError(t, err)
	require.Equal(t, 18, n)
	require.Equal(t, 3, log.maxInFlight, "lanes at once")
	require.Len(t, openTx, 18)
	for _, n := range openTx {
		require.Zero(t, n, "a transaction was open during a Temporal call")
	}
	for rec, ids := range want {
		require.Equal(t, ids, inboxIDs(h.signals(salon, rec)), "record %d in inbox order", rec)
	}
}
