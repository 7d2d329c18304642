package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/cmd/internal/shard"
	httpapi "github.com/aiadmin/aiadmin/http"
)

// pollerFresh is how recently Temporal must have seen this process poll the task queue for
// it to count as polling: a long poll lasts up to about a minute.
const pollerFresh = 2 * time.Minute

// workerRuntime is a running worker role's state, for its ops listener and metrics.
type workerRuntime struct {
	shards     *shard.Manager
	dispatcher *dispatcher.Dispatcher
}

// shardsOwned lists the WhatsApp shards this process owns (none while no worker runs).
func (a *App) shardsOwned() []int {
	if w := a.worker.Load(); w != nil {
		return w.shards.Owned()
	}
	return nil
}

// dispatcherActive tells whether this process's dispatcher holds the dispatcher lock.
func (a *App) dispatcherActive() bool {
	w := a.worker.Load()
	return w != nil && w.dispatcher.Active()
}

// startOps serves the worker's ops listener on OPS_ADDR: /metrics, /healthz (liveness) and
// /readyz (PostgreSQL answers and this process polls its task queue), both saying which
// WhatsApp shards it owns and whether it holds the dispatcher lock. A serving failure goes to
// errc; stop closes the listener.
func (a *App) startOps(errc chan<- error) (stop func(), err error) {
	ln, err := net.Listen("tcp", a.Cfg.OpsAddr)
	if err != nil {
		return nil, fmt.Errorf("ops listener (OPS_ADDR): %w", err)
	}
	checks := []httpapi.ReadyCheck{
		{Name: "postgresql", Check: func(ctx context.Context) error { return a.Store.Pool.Ping(ctx) }},
		{Name: "polling", Check: a.polling},
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, a.workerFields(map[string]any{"status": "ok"}))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		status, body := httpapi.Readiness(r.Context(), checks, a.Logger)
		writeJSON(w, status, a.workerFields(body))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("ops listener: %w", err)
		}
	}()
	a.Logger.Info("ops listening (metrics, health)", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

func (a *App) workerFields(body map[string]any) map[string]any {
	owned := a.shardsOwned()
	if owned == nil {
		owned = []int{}
	}
	body["shards_owned"] = owned
	body["dispatcher_active"] = a.dispatcherActive()
	return body
}

// polling checks that the worker runs and that Temporal has seen it poll its task queue
// lately: Temporal answers, and this process takes work from it.
func (a *App) polling(ctx context.Context) error {
	if a.worker.Load() == nil {
		return errors.New("the Temporal worker is not running")
	}
	resp, err := a.Temporal.DescribeTaskQueue(ctx, a.Cfg.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return err
	}
	for _, p := range resp.GetPollers() {
		if p.GetIdentity() == a.identity && time.Since(p.GetLastAccessTime().AsTime()) < pollerFresh {
			return nil
		}
	}
	return fmt.Errorf("temporal has not seen %s poll %s lately", a.identity, a.Cfg.TaskQueue)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// temporalReachable is the API's Temporal check: reported on /readyz, never failing it.
func (a *App) temporalReachable(ctx context.Context) error {
	_, err := a.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}
