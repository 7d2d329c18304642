package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"

	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/workflows"
)

// Cached product numbers (installations by status, the inbox backlog, link states): read at
// most every statsTTL, on scrape, within statsTimeout.
const (
	statsTTL     = 30 * time.Second
	statsTimeout = 5 * time.Second
	// visibilityTimeout bounds the link-state counts: while Temporal is down a scrape waits
	// this long once per statsTTL, not statsTimeout.
	visibilityTimeout = 2 * time.Second
)

// linkProblemStates are the WhatsApp link states counted from visibility: the ones a salon
// reports when something is wrong with its link ("linked" is set only on a re-link, so its
// count would mean nothing).
var linkProblemStates = []whatsapp.LinkState{whatsapp.StateDegraded, whatsapp.StateLoggedOut, whatsapp.StateReplaced,
	whatsapp.StateTempBanned, whatsapp.StateRestricted}

// processMetrics is one process's Prometheus registry: the Go runtime, the product's own
// metrics (activities/metrics) and the Temporal SDK's, which the SDK reports through a tally
// scope with the Prometheus reporter (Temporal's Go samples do the same).
type processMetrics struct {
	reg     *prometheus.Registry
	handler client.MetricsHandler
	closer  io.Closer
}

func newProcessMetrics(logger *slog.Logger) *processMetrics {
	reg := metrics.NewRegistry()
	// tallyprom.NewReporter, not Configuration.NewReporter: that one also serves the registry
	// on http.DefaultServeMux, once per process.
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			logger.Debug("temporal sdk metric not reported", "err", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &sdktally.PrometheusSanitizeOptions,
		OmitCardinalityMetrics: true,
	}, time.Second)
	// temporal_workflow_task_execution_latency_seconds, temporal_activity_execution_failed_total, …
	scope = sdktally.NewPrometheusNamingScope(scope)
	return &processMetrics{reg: reg, handler: sdktally.NewMetricsHandler(scope), closer: closer}
}

// Handler serves the registry in the Prometheus text format.
func (m *processMetrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the process's registry (tests read it, mains may add collectors).
func (a *App) Registry() *prometheus.Registry { return a.metrics.reg }

// loadStats reads installations by status and the inbox backlog from PostgreSQL, and the
// salons' WhatsApp link problems from Temporal's visibility (left out when it cannot answer:
// Temporal down must not hide the database's numbers).
func (a *App) loadStats(ctx context.Context) (metrics.Stats, error) {
	byStatus, err := a.Store.CountCompaniesByStatus(ctx)
	if err != nil {
		return metrics.Stats{}, fmt.Errorf("installations by status: %w", err)
	}
	backlog, err := a.Store.InboxBacklog(ctx)
	if err != nil {
		return metrics.Stats{}, fmt.Errorf("inbox backlog: %w", err)
	}
	st := metrics.Stats{Installations: make(map[string]int64, len(byStatus)), InboxPending: backlog.Pending, InboxDead: backlog.Dead}
	for _, r := range byStatus {
		st.Installations[r.InstallStatus] = r.Installations
	}
	if backlog.OldestPendingUnix > 0 {
		st.OldestPending = time.UnixMicro(int64(backlog.OldestPendingUnix * 1e6))
	}
	vctx, cancel := context.WithTimeout(ctx, visibilityTimeout)
	defer cancel()
	links := make(map[string]int64, len(linkProblemStates))
	for _, s := range linkProblemStates {
		q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'",
			workflows.InstallationWorkflowName, workflows.SearchAttrWhatsAppState.GetName(), s)
		resp, err := a.Temporal.CountWorkflow(vctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
		if err != nil {
			a.Logger.Debug("metrics: link states not counted", "err", err)
			return st, nil
		}
		links[string(s)] = resp.GetCount()
	}
	st.Links = links
	return st, nil
}
