package reqid

import (
	"context"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"
)

// Interceptor is the worker interceptor of the request IDs (see the package comment). Add it to
// every worker's interceptors.
type Interceptor struct {
	interceptor.WorkerInterceptorBase
}

var _ interceptor.WorkerInterceptor = (*Interceptor)(nil)

// InterceptActivity adds the activity's request ID to the SDK's activity logger; the activity's
// context already carries it (Propagator.Extract).
func (*Interceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &activityIn{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type activityIn struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *activityIn) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return a.Next.Init(&activityOut{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}})
}

type activityOut struct {
	interceptor.ActivityOutboundInterceptorBase
}

func (a *activityOut) GetLogger(ctx context.Context) log.Logger {
	l := a.Next.GetLogger(ctx)
	if id := From(ctx); id != "" {
		return log.With(l, LogKey, id)
	}
	return l
}

// InterceptWorkflow follows one workflow execution's request IDs.
func (*Interceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &workflowIn{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}}
}

// workflowIn remembers the ID of the latest start, signal or update that carried one. It
// changes only while history events are handled, in history order, so a replay sees the same
// IDs at the same points.
type workflowIn struct {
	interceptor.WorkflowInboundInterceptorBase
	current string
}

func (w *workflowIn) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return w.Next.Init(&workflowOut{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, in: w})
}

func (w *workflowIn) note(ctx workflow.Context) {
	if id := fromWorkflow(ctx); id != "" {
		w.current = id
	}
}

func (w *workflowIn) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	w.note(ctx)
	return w.Next.ExecuteWorkflow(ctx, in)
}

func (w *workflowIn) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	w.note(ctx)
	return w.Next.HandleSignal(ctx, in)
}

// ExecuteUpdate runs for accepted updates only (they are in history); a rejected one leaves
// no trace, so its validator does not count.
func (w *workflowIn) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	w.note(ctx)
	return w.Next.ExecuteUpdate(ctx, in)
}

type workflowOut struct {
	interceptor.WorkflowOutboundInterceptorBase
	in *workflowIn
}

// stamp gives ctx the execution's latest request ID, which Propagator.InjectFromWorkflow
// writes into the header of what is scheduled with it.
func (w *workflowOut) stamp(ctx workflow.Context) workflow.Context {
	if w.in.current == "" {
		return ctx
	}
	return workflow.WithValue(ctx, ctxKey{}, w.in.current)
}

func (w *workflowOut) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	return w.Next.ExecuteActivity(w.stamp(ctx), activityType, args...)
}

func (w *workflowOut) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	return w.Next.ExecuteLocalActivity(w.stamp(ctx), activityType, args...)
}

func (w *workflowOut) ExecuteChildWorkflow(ctx workflow.Context, childWorkflowType string, args ...any) workflow.ChildWorkflowFuture {
	return w.Next.ExecuteChildWorkflow(w.stamp(ctx), childWorkflowType, args...)
}

func (w *workflowOut) NewContinueAsNewError(ctx workflow.Context, wfn any, args ...any) error {
	return w.Next.NewContinueAsNewError(w.stamp(ctx), wfn, args...)
}

func (w *workflowOut) GetLogger(ctx workflow.Context) log.Logger {
	l := w.Next.GetLogger(ctx)
	if w.in.current != "" {
		return log.With(l, LogKey, w.in.current)
	}
	return l
}
