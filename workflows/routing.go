package workflows

import (
	"fmt"
	"slices"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// WhatsApp shard routing. Two processes holding one salon's WhatsApp session push each other
// off («stream replaced»), so every salon's live connection has exactly one owner: salons are
// spread over WhatsApp shards (salon ID mod shard count), each shard has its own task queue,
// and that queue is polled by the one worker process holding the shard's lock (see package
// activities/whatsapp/shard). The activities that need the salon's live connection run there;
// everything else stays on the workflow's own task queue.

// DefaultWhatsAppShards is the shard count when WHATSAPP_SHARDS is not set.
const DefaultWhatsAppShards = 4

// ChangeWhatsAppShardQueues versions the routing of connection-bound activities to the shard
// queues. Runs whose history predates it (DefaultVersion) keep scheduling them on the
// workflow's own queue.
const ChangeWhatsAppShardQueues = "2026-11-29-whatsapp-shard-queues"

// connectionBoundNames lists the activities that use a salon's live WhatsApp connection.
var connectionBoundNames = []string{
	activities.ActPair, activities.ActDisconnect, activities.ActReconnect,
	activities.ActUnlink, activities.ActSendWelcome, activities.ActDeliver, activities.ActSend, activities.ActSendClientWelcome,
	activities.ActSendSample, activities.ActSendReviewRequest,
}

var connectionBound = func() map[string]bool {
	m := make(map[string]bool, len(connectionBoundNames))
	for _, n := range connectionBoundNames {
		m[n] = true
	}
	return m
}()

// ConnectionBound reports whether the named activity needs the salon's live WhatsApp
// connection, and so runs on the salon's shard queue.
func ConnectionBound(activity string) bool { return connectionBound[activity] }

// ConnectionBoundActivities returns the names of the connection-bound activities, sorted.
func ConnectionBoundActivities() []string {
	names := slices.Clone(connectionBoundNames)
	slices.Sort(names)
	return names
}

// WhatsAppShard returns the shard of a salon: salonID mod shards, never negative.
func WhatsAppShard(salonID int64, shards int) int {
	if shards <= 1 {
		return 0
	}
	n := int64(shards)
	return int(((salonID % n) + n) % n)
}

// WhatsAppShardQueue returns the task queue of a shard: "<base>-wa-<shard>".
func WhatsAppShardQueue(base string, shard int) string {
	return fmt.Sprintf("%s-wa-%d", base, shard)
}

// WhatsAppQueue returns the task queue of a salon's connection-bound activities.
func WhatsAppQueue(base string, shards int, salonID int64) string {
	return WhatsAppShardQueue(base, WhatsAppShard(salonID, shards))
}

// WhatsAppRouting is the worker interceptor that sends connection-bound activities to their
// salon's shard queue, derived from the workflow's own task queue (the base queue). It is
// registered on the worker that runs the workflows, so call sites need no routing of their
// own and stay unaware of shards; a connection-bound activity must not set its own TaskQueue.
//
// Shards must be the same on every worker. It is not recorded in history: the task queue of
// an already scheduled activity is not part of replay's determinism check, so a replay under
// another shard count, or without the interceptor, still matches.
type WhatsAppRouting struct {
	interceptor.WorkerInterceptorBase
	Shards int
}

var _ interceptor.WorkerInterceptor = (*WhatsAppRouting)(nil)

// NewWhatsAppRouting returns the routing interceptor for this shard count (at least 1).
func NewWhatsAppRouting(shards int) *WhatsAppRouting {
	return &WhatsAppRouting{Shards: max(shards, 1)}
}

// InterceptWorkflow installs the routing on one workflow execution.
func (r *WhatsAppRouting) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &routingInbound{shards: max(r.Shards, 1)}
	in.Next = next
	return in
}

type routingInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	shards int
}

// ExecuteWorkflow tells the workflow the shard count, for operators' texts (shardText).
func (i *routingInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	return i.Next.ExecuteWorkflow(workflow.WithValue(ctx, shardCountKey{}, i.shards), in)
}

func (i *routingInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	out := &routingOutbound{shards: i.shards}
	out.Next = outbound
	return i.Next.Init(out)
}

type routingOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	shards int
}

// ExecuteActivity routes a connection-bound activity to its salon's shard queue.
func (o *routingOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	if !connectionBound[activityType] {
		return o.Next.ExecuteActivity(ctx, activityType, args...)
	}
	salonID, ok := salonOf(args)
	if !ok {
		// A programming error: the workflow task fails (and is retried) until it is fixed,
		// rather than the activity silently running where the connection is not.
		panic(fmt.Sprintf("workflows: connection-bound activity %s has no SalonID in its input", activityType))
	}
	if !shardQueuesFixed(ctx) && o.Next.GetVersion(ctx, ChangeWhatsAppShardQueues, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return o.Next.ExecuteActivity(ctx, activityType, args...)
	}
	base := o.Next.GetInfo(ctx).TaskQueueName
	ctx = workflow.WithTaskQueue(ctx, WhatsAppQueue(base, o.shards, salonID))
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

// salonOf finds the salon of a connection-bound activity's input. A new connection-bound
// activity with a new input type is added here (the routing panics on an unknown one).
func salonOf(args []any) (int64, bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch in := args[0].(type) {
	case activities.SalonRef:
		return in.SalonID, true
	case activities.PairInput:
		return in.SalonID, true
	case activities.WelcomeInput:
		return in.SalonID, true
	case activities.DeliverInput:
		return in.SalonID, true
	case activities.ClientWelcomeInput:
		return in.SalonID, true
	case activities.SampleInput:
		return in.SalonID, true
	case activities.SendInput:
		return in.SalonID, true
	case activities.ReviewSendInput:
		return in.SalonID, true
	case *activities.SalonRef:
		return derefSalon(in, func() int64 { return in.SalonID })
	case *activities.PairInput:
		return derefSalon(in, func() int64 { return in.SalonID })
	case *activities.WelcomeInput:
		return derefSalon(in, func() int64 { return in.SalonID })
	case *activities.DeliverInput:
		return derefSalon(in, func() int64 { return in.SalonID })
	case *activities.ClientWelcomeInput:
		return derefSalon(in, func() int64 { return in.SalonID })
	case *activities.SampleInput:
		return derefSalon(in, func() int64 { return in.SalonID })
	case *activities.SendInput:
		return derefSalon(in, func() int64 { return in.SalonID })
	case *activities.ReviewSendInput:
		return derefSalon(in, func() int64 { return in.SalonID })
	}
	return 0, false
}

func derefSalon[T any](p *T, id func() int64) (int64, bool) {
	if p == nil {
		return 0, false
	}
	return id(), true
}

// shardQueuesKey marks a workflow context whose run uses the shard queues without asking
// ChangeWhatsAppShardQueues: its input says it started after the change (see
// BookingInput.NoVersionMarkers).
type shardQueuesKey struct{}

// withShardQueues marks ctx (a run's root context, so every activity context derived from it)
// as routed to the shard queues without a version marker.
func withShardQueues(ctx workflow.Context) workflow.Context {
	return workflow.WithValue(ctx, shardQueuesKey{}, true)
}

func shardQueuesFixed(ctx workflow.Context) bool {
	v, _ := ctx.Value(shardQueuesKey{}).(bool)
	return v
}
