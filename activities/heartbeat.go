package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// defaultKeepAlive is the heartbeat interval of an activity scheduled without a heartbeat
// timeout.
const defaultKeepAlive = 5 * time.Second

// keepAlive records a heartbeat every quarter of the activity's heartbeat timeout (every
// defaultKeepAlive without one) until stop is called. An activity that waits on YClients
// (rate limits, Retry-After, slow answers) stays alive through it, and a cancellation by the
// workflow (a freeze, an uninstall) reaches it at the next heartbeat and ends its context.
// Outside an activity (tests calling the method directly) it does nothing.
func keepAlive(ctx context.Context) (stop func()) {
	return keepAliveWith(ctx, func() any { return "waiting" })
}

// keepAliveWith is keepAlive whose heartbeats carry details() (an activity's progress, which
// a retried attempt reads back).
func keepAliveWith(ctx context.Context, details func() any) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	every := defaultKeepAlive
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 {
		every = max(hb/4, 50*time.Millisecond)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, details())
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
