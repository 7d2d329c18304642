package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// Default durable timer lengths.
const (
	DefaultActivationDeadline = time.Hour
	DefaultResyncEvery        = 24 * time.Hour
	DefaultFrozenPollEvery    = 6 * time.Hour
)

func (t Timings) withDefaults() Timings {
	if t.ActivationDeadline <= 0 {
		t.ActivationDeadline = DefaultActivationDeadline
	}
	if t.ResyncEvery <= 0 {
		t.ResyncEvery = DefaultResyncEvery
	}
	if t.FrozenPollEvery <= 0 {
		t.FrozenPollEvery = DefaultFrozenPollEvery
	}
	return t
}

// nonRetryable lists the activity error types that retrying cannot fix.
var nonRetryable = activities.NonRetryable

// yclientsRetry retries YClients calls with backoff; 429 waits for Retry-After through the
// activity's NextRetryDelay.
// MaximumAttempts is a bound, not a budget: the activation deadline or an uninstall ends the
// wait long before it is reached.
var yclientsRetry = &temporal.RetryPolicy{
	MaximumAttempts:        1000,
	InitialInterval:        2 * time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        2 * time.Minute,
	NonRetryableErrorTypes: nonRetryable,
}

// registerOptions: the owner is waiting on the page, so give up after a few attempts.
var registerOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second,
		MaximumAttempts: 5, NonRetryableErrorTypes: nonRetryable,
	},
}

// yclientsOptions for activation, sync and status reads: retried until the surrounding
// workflow logic (deadline, uninstall) cancels them.
var yclientsOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Minute,
	RetryPolicy:         yclientsRetry,
}

// activateOptions for the activation callback (runs of activationOnceChange): retried like
// yclientsOptions; the activity heartbeats, and a cancellation (deadline, freeze, uninstall)
// waits until it has ended, since it may be calling YClients back.
var activateOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Minute,
	HeartbeatTimeout:    30 * time.Second,
	WaitForCancellation: true,
	RetryPolicy:         yclientsRetry,
}

// deadlineStatusOptions for the status read when the activation deadline passed: bounded, the
// installation expires when YClients cannot tell.
var deadlineStatusOptions = workflow.ActivityOptions{
	ScheduleToCloseTimeout: 10 * time.Minute,
	StartToCloseTimeout:    time.Minute,
	HeartbeatTimeout:       30 * time.Second,
	RetryPolicy:            yclientsRetry,
}

// statusOptions for the integration status poll: like yclientsOptions, and the activity
// heartbeats, so that an uninstall cancels it within HeartbeatTimeout.
var statusOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 2 * time.Minute,
	HeartbeatTimeout:    30 * time.Second,
	RetryPolicy:         yclientsRetry,
}

// syncOptions: a sync reads three endpoints and writes many rows; it heartbeats throughout, so
// that a freeze or an uninstall cancels it within HeartbeatTimeout (the worker sends
// heartbeats at most every 0.8 × HeartbeatTimeout).
var syncOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 10 * time.Minute,
	HeartbeatTimeout:    30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		MaximumAttempts: 10, NonRetryableErrorTypes: nonRetryable,
	},
}

// pairOptions: one pairing attempt lasts one batch of codes (160 s by default); it is never
// retried automatically, the owner asks for a new code.
var pairOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 6 * time.Minute,
	HeartbeatTimeout:    20 * time.Second,
	WaitForCancellation: true,
	RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
}

// localOptions for database writes and WhatsApp connection management.
var localOptions = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		NonRetryableErrorTypes: nonRetryable,
	},
}

// shardBound is how long an activity on a salon's WhatsApp shard queue may wait, from being
// scheduled to its end, before the installation goes on without it: a shard whose owner died
// is taken over within seconds, so a shard without an owner for this long has none that can
// do it (workflows/shardbound.go). The pairing attempt itself is not bounded by it: the owner
// asks for it and waits on the page.
const shardBound = 5 * time.Minute

// shardOptions: cleanupOptions for the activities on the salon's shard queue (disconnect,
// reconnect, unlink, the welcome), bounded by shardBound.
var shardOptions = workflow.ActivityOptions{
	ScheduleToCloseTimeout: shardBound,
	StartToCloseTimeout:    time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
		MaximumAttempts: 10, NonRetryableErrorTypes: nonRetryable,
	},
}

// cleanupOptions: uninstall cleanup must finish even when WhatsApp is unreachable; the
// activities themselves fall back to local deletion.
var cleanupOptions = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
		MaximumAttempts: 10, NonRetryableErrorTypes: nonRetryable,
	},
}
