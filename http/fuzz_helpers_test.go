package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// temporalProbe is a Temporal client whose server never answers (closedTemporal) and which
// counts the calls the handlers make to it. A request that gets that far is answered 503
// (kindUnavailable); the fuzzers allow that 5xx, and only that one: a 5xx without a call to
// Temporal was caused by the input. A handler that starts using a client method not counted
// here shows up as such a 5xx, and this list grows by that method.
type temporalProbe struct {
	client.Client
	calls atomic.Int64
}

func newTemporalProbe(t testing.TB) *temporalProbe { return &temporalProbe{Client: closedTemporal(t)} }

func (p *temporalProbe) UpdateWithStartWorkflow(ctx context.Context, o client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	p.calls.Add(1)
	return p.Client.UpdateWithStartWorkflow(ctx, o)
}

func (p *temporalProbe) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	p.calls.Add(1)
	return p.Client.UpdateWorkflow(ctx, o)
}

func (p *temporalProbe) QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error) {
	p.calls.Add(1)
	return p.Client.QueryWorkflow(ctx, workflowID, runID, queryType, args...)
}

func (p *temporalProbe) SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error {
	p.calls.Add(1)
	return p.Client.SignalWorkflow(ctx, workflowID, runID, signalName, arg)
}

// serveProbed serves req on h and reports whether the request called Temporal. A fuzz worker
// runs its inputs one at a time, so the count is the request's own.
func serveProbed(h http.Handler, probe *temporalProbe, req *http.Request) (*httptest.ResponseRecorder, bool) {
	before := probe.calls.Load()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w, probe.calls.Load() > before
}

// requireOnlyTemporal5xx is the fuzzers' main property: the answer is one of allowed, and a 5xx
// comes only from the Temporal step (the closed server's 503), never from the input.
func requireOnlyTemporal5xx(t *testing.T, w *httptest.ResponseRecorder, reached bool, allowed ...int) {
	t.Helper()
	require.Contains(t, allowed, w.Code, "status: got %d, want one of %v; body %s", w.Code, allowed, w.Body)
	if w.Code >= 500 {
		require.True(t, reached, "status %d without a call to Temporal: the input caused it; body %s", w.Code, w.Body)
		require.Equal(t, http.StatusServiceUnavailable, w.Code, "Temporal unreachable: got %d want 503", w.Code)
	}
	require.NotEmpty(t, w.Header().Get(RequestIDHeader), "X-Request-Id: got none")
}
