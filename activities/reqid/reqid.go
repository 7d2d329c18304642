// Package reqid carries an HTTP request's reference ID (X-Request-Id) from the request into the
// workflows it starts, signals or updates and on into their activities, so that one ID finds
// every log line a request caused, across processes:
//
//   - the HTTP layer puts the ID in the request's context (With);
//   - Propagator, a Temporal context propagator set on the client, writes it into the headers
//     of the workflow starts, signals and updates made with that context, and the workflow's
//     activities read it back into theirs;
//   - Interceptor, on every worker, keeps the ID of the latest start, signal or update that
//     carried one for each workflow execution and stamps it on the activities, child workflows
//     and continue-as-new the workflow schedules after it (the workflow code stays as it is:
//     the interceptor's state changes only on history events, so replays see the same IDs);
//   - NewHandler adds the ID, as the slog attribute "requestID", to every log line written
//     with such a context, and the interceptor adds it to the SDK's activity and workflow
//     loggers.
package reqid

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"
)

// LogKey is the slog attribute of the request ID.
const LogKey = "requestID"

// HeaderKey is the Temporal header field carrying the request ID.
const HeaderKey = "aiadmin-request-id"

type ctxKey struct{}

// With returns ctx carrying the request ID id ("" leaves ctx as it is).
func With(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the request ID ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// fromWorkflow returns the request ID a workflow context carries, or "".
func fromWorkflow(ctx workflow.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// Propagator is the Temporal context propagator of the request ID. Set it on the client
// (client.Options.ContextPropagators); workers take the client's.
type Propagator struct{}

var _ workflow.ContextPropagator = Propagator{}

// dc encodes the header field: a plain JSON string, readable in the Web UI.
var dc = converter.GetDefaultDataConverter()

// Inject writes the request ID of ctx into the header of a client call.
func (Propagator) Inject(ctx context.Context, w workflow.HeaderWriter) error {
	return inject(From(ctx), w)
}

// InjectFromWorkflow writes the request ID of a workflow context into the header of what the
// workflow schedules.
func (Propagator) InjectFromWorkflow(ctx workflow.Context, w workflow.HeaderWriter) error {
	return inject(fromWorkflow(ctx), w)
}

func inject(id string, w workflow.HeaderWriter) error {
	if id == "" {
		return nil
	}
	p, err := dc.ToPayload(id)
	if err != nil {
		return err
	}
	w.Set(HeaderKey, p)
	return nil
}

// Extract reads the request ID from an activity's (or a client call's) header into ctx.
func (Propagator) Extract(ctx context.Context, r workflow.HeaderReader) (context.Context, error) {
	if id := read(r); id != "" {
		return With(ctx, id), nil
	}
	return ctx, nil
}

// ExtractToWorkflow reads the request ID from a workflow start's, signal's or update's header.
// A header without one gives "" rather than leaving the start's ID showing through: a signal
// from a background process has no request, and must not look like it came from the start's.
func (Propagator) ExtractToWorkflow(ctx workflow.Context, r workflow.HeaderReader) (workflow.Context, error) {
	return workflow.WithValue(ctx, ctxKey{}, read(r)), nil
}

// read returns the header's request ID; a field that does not decode is ignored (a header is
// no reason to fail a workflow task).
func read(r workflow.HeaderReader) string {
	p, ok := r.Get(HeaderKey)
	if !ok {
		return ""
	}
	var id string
	if err := dc.FromPayload(p, &id); err != nil || len(id) > 128 {
		return ""
	}
	return id
}

// NewHandler wraps h so that a record logged with a context carrying a request ID gets it as
// the attribute "requestID", unless the record or the logger already has one.
func NewHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(handler); ok {
		return h
	}
	return handler{next: h}
}

// Logger is logger with NewHandler's request IDs.
func Logger(logger *slog.Logger) *slog.Logger {
	return slog.New(NewHandler(logger.Handler()))
}

type handler struct {
	next slog.Handler
	has  bool // the logger's own attributes name a request ID
}

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" && !h.has && !hasAttr(r) {
		r = r.Clone()
		r.AddAttrs(slog.String(LogKey, id))
	}
	return h.next.Handle(ctx, r)
}

func hasAttr(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == LogKey
		return !found
	})
	return found
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	has := h.has
	for _, a := range attrs {
		has = has || a.Key == LogKey
	}
	return handler{next: h.next.WithAttrs(attrs), has: has}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{next: h.next.WithGroup(name), has: h.has}
}
