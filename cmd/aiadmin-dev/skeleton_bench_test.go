package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The skeleton's workflow and activity names, and its signal.
const (
	skeletonWorkflowName = "bench-skeleton-booking"
	skeletonActivityName = "bench-skeleton-send"
	skeletonSignal       = "record-event"
	skeletonChainName    = "bench-skeleton-chain"
	skeletonNoopName     = "bench-skeleton-noop"
)

// skeletonEvent is what the skeleton's signal carries: about the size of a record webhook's
// event.
type skeletonEvent struct {
	ID      string
	Payload string
}

// benchSkeleton is the irreducible work of a booking message, for P4's baseline: per booking,
// one SignalWithStart of a tiny workflow that takes the signal and runs one no-op "send"
// activity, then ends. Its worker is in this process, on a task queue of its own on the same
// Temporal server as the stack's, with the SDK's default options.
type benchSkeleton struct {
	c     client.Client
	queue string
	mu    sync.Mutex
	done  map[string][]time.Time // workflow ID → when its activity ran (each attempt)
}

func startBenchSkeleton(b *testing.B, c client.Client) *benchSkeleton {
	b.Helper()
	k := &benchSkeleton{c: c, queue: fmt.Sprintf("bench-skeleton-%d", time.Now().UnixNano()), done: map[string][]time.Time{}}
	w := worker.New(c, k.queue, worker.Options{})
	w.RegisterWorkflowWithOptions(skeletonBooking, workflow.RegisterOptions{Name: skeletonWorkflowName})
	w.RegisterActivityWithOptions(k.send, activity.RegisterOptions{Name: skeletonActivityName})
	w.RegisterWorkflowWithOptions(skeletonChain, workflow.RegisterOptions{Name: skeletonChainName})
	w.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: skeletonNoopName})
	require.NoError(b, w.Start())
	b.Cleanup(w.Stop)
	return k
}

// skeletonBooking takes the record event and sends once.
func skeletonBooking(ctx workflow.Context) error {
	var ev skeletonEvent
	workflow.GetSignalChannel(ctx, skeletonSignal).Receive(ctx, &ev)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, skeletonActivityName, ev.ID).Get(ctx, nil)
}

// send is the no-op send: it stamps the moment it ran.
func (k *benchSkeleton) send(_ context.Context, id string) error {
	at := time.Now()
	k.mu.Lock()
	k.done[id] = append(k.done[id], at)
	k.mu.Unlock()
	return nil
}

// run starts n skeleton bookings at rate a second (each SignalWithStart in its own goroutine,
// so a slow call does not slow the offered rate) and waits for every send. Latency is from the
// SignalWithStart call to the send. It fails if a send is missing or ran twice.
func (k *benchSkeleton) run(b *testing.B, round, rate, n int) sendRun {
	b.Helper()
	ids := make([]string, n)
	called := make([]time.Time, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	payload := string(make([]byte, 600))
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		ids[i], called[i] = fmt.Sprintf("%s-%d-%d", k.queue, round, i), time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := k.c.SignalWithStartWorkflow(context.Background(), ids[i], skeletonSignal,
				skeletonEvent{ID: ids[i], Payload: payload},
				client.StartWorkflowOptions{ID: ids[i], TaskQueue: k.queue}, skeletonWorkflowName)
			if err != nil {
				errs <- err
			}
		}()
	}
	run := sendRun{achieved: float64(n) / time.Since(start).Seconds()}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(b, err, "skeleton signal-with-start")
	}
	wait := max(sendWaitMin, 2*time.Since(start))
	benchWaitProgress(wait, benchStall, benchWaitCap, n, func() int { k.mu.Lock(); defer k.mu.Unlock(); return k.count(ids) })
	time.Sleep(time.Second)
	k.mu.Lock()
	defer k.mu.Unlock()
	var missing, twice int
	var last time.Time
	for i, id := range ids {
		switch at := k.done[id]; {
		case len(at) == 0:
			missing++
		case len(at) > 1:
			twice++
		default:
			run.lat = append(run.lat, at[0].Sub(called[i]))
			last = later(last, at[0])
		}
	}
	require.Zero(b, missing+twice, "skeleton: of %d, %d sends missing (none for %s after at least %s), %d ran twice",
		n, missing, benchStall, wait, twice)
	run.throughput = float64(n) / last.Sub(start).Seconds()
	return run
}

// count is how many of ids have sent; k.mu is held.
func (k *benchSkeleton) count(ids []string) int {
	c := 0
	for _, id := range ids {
		if len(k.done[id]) > 0 {
			c++
		}
	}
	return c
}

// skeletonChain runs n no-op activities one after the other: P2's bare installation.
func skeletonChain(ctx workflow.Context, n int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for range n {
		if err := workflow.ExecuteActivity(ctx, skeletonNoopName).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// runChains starts k chains of n no-op activities at once and returns the time until the
// last one completed.
func (k *benchSkeleton) runChains(b *testing.B, round, count, n int) time.Duration {
	b.Helper()
	start := time.Now()
	errs := make(chan error, count)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("%s-chain-%d-%d", k.queue, round, i)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			run, err := k.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: k.queue}, skeletonChainName, n)
			if err == nil {
				err = run.Get(ctx, nil)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(b, err, "bare workflow")
	}
	return time.Since(start)
}
