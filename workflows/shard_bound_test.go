package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/aiadmin/aiadmin/activities"
)

// ownerlessShard plays a shard queue that no worker polls: the activities scheduled there
// never start, so the server ends each one when its schedule-to-close bound passes. One
// scheduled without that bound would wait forever; the test records the bounds it saw.
type ownerlessShard struct {
	mu     sync.Mutex
	bounds map[string]time.Duration
	queues map[string]string
}

func newOwnerlessShard(h *harness, names ...string) *ownerlessShard {
	o := &ownerlessShard{bounds: map[string]time.Duration{}, queues: map[string]string{}}
	h.env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{NewWhatsAppRouting(4)}})
	for _, name := range names {
		name := name
		never := func(ctx context.Context) error {
			info := activity.GetInfo(ctx)
			o.mu.Lock()
			o.bounds[name], o.queues[name] = info.ScheduleToCloseTimeout, info.TaskQueue
			o.mu.Unlock()
			return temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, nil)
		}
		switch name {
		case activities.ActSendWelcome:
			h.env.OnActivity(name, mock.Anything, mock.Anything).Return(
				func(ctx context.Context, _ activities.WelcomeInput) (activities.WelcomeOutput, error) {
					return activities.WelcomeOutput{}, never(ctx)
				})
		default:
			h.env.OnActivity(name, mock.Anything, mock.Anything).Return(
				func(ctx context.Context, _ activities.SalonRef) error { return never(ctx) })
		}
	}
	return o
}

// requireBounded fails unless every activity was scheduled with a schedule-to-close bound of
// at most max, on the salon's shard queue.
func (o *ownerlessShard) requireBounded(t *testing.T, maxBound time.Duration, names ...string) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, name := range names {
		got, ok := o.bounds[name]
		require.True(t, ok, "%s was not scheduled", name)
		require.True(t, got > 0 && got <= maxBound,
			"%s on the shard queue: schedule-to-close bound got %s want 0 < bound ≤ %s (none waits forever for an ownerless shard)", name, got, maxBound)
		require.True(t, strings.HasSuffix(o.queues[name], "-wa-1"), "%s ran on %q, not the salon's shard queue", name, o.queues[name])
	}
}

// requireShardAlert fails unless ops were told, naming the salon and its shard.
func requireShardAlert(t *testing.T, h *harness, what string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.alerts {
		if a.Kind == "shard_unavailable" && a.SalonID == testSalon && strings.Contains(a.Message, what) &&
			strings.Contains(a.Message, "шард 1 из 4") {
			return
		}
	}
	require.Fail(t, "no shard_unavailable alert naming the salon's shard", "want one about %q; got %+v", what, h.alerts)
}

// Activities on a WhatsApp shard queue whose owner is gone do not hold the installation:
// each is bounded, and when the bound passes the installation goes on with the local fallback
// and tells ops which salon and shard.
func TestOwnerlessShardUninstall(t *testing.T) {
	h := newHarness(t)
	o := newOwnerlessShard(h, activities.ActUnlink)
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(time.Hour, func() { h.signal(SignalUninstall) })
	h.at(2*time.Hour, func() { requireStatus(t, h, StatusUninstalled, "uninstalled although the shard has no owner") })
	st := h.run(Timings{})
	require.Equal(t, StatusUninstalled, st.Status)
	o.requireBounded(t, 15*time.Minute, activities.ActUnlink)
	require.Equal(t, 1, h.callCount(activities.ActForgetDevice), "the device is forgotten locally instead")
	require.Equal(t, 1, h.callCount(activities.ActDeleteSecrets))
	requireShardAlert(t, h, "отвязать")
}

func TestOwnerlessShardFreezeAndUnfreeze(t *testing.T) {
	h := newHarness(t)
	o := newOwnerlessShard(h, activities.ActDisconnect, activities.ActReconnect)
	activeThen(h,
		func() { h.signal(SignalFreeze) },
		func() {
			requireStatus(t, h, StatusFrozen, "frozen although the shard has no owner")
			requireShardAlert(t, h, "отключить")
			h.signal(SignalUnfreeze)
		},
		func() {
			requireStatus(t, h, StatusActive, "active again although the shard has no owner")
			requireShardAlert(t, h, "переподключить")
			h.signal(SignalUninstall)
		})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	o.requireBounded(t, 15*time.Minute, activities.ActDisconnect, activities.ActReconnect)
}

func TestOwnerlessShardWelcome(t *testing.T) {
	h := newHarness(t)
	o := newOwnerlessShard(h, activities.ActSendWelcome)
	h.at(time.Minute, func() { h.requestPairing(activities.PairByQR) })
	h.at(time.Hour, func() {
		requireStatus(t, h, StatusActive, "active although the welcome's shard has no owner")
		requireShardAlert(t, h, "приветствие")
		h.signal(SignalUninstall)
	})
	require.Equal(t, StatusUninstalled, h.run(Timings{}).Status)
	o.requireBounded(t, 15*time.Minute, activities.ActSendWelcome)
}
