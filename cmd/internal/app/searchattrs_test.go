package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// apiConfig is an api process's configuration on its own database.
func apiConfig(t *testing.T, temporalAddr, namespace string) *config.Config {
	_, dsn := dbtest.New(t)
	return &config.Config{DatabaseURL: dsn, TemporalAddress: temporalAddr, TemporalNamespace: namespace, TaskQueue: "sa-test",
		HTTPAddr: freeAddr(t), PublicURL: "http://127.0.0.1", SecretKey: make([]byte, 32),
		SessionSecret: make([]byte, 32), AdminToken: "t", Demo: true}
}

// An api started on a namespace without the search attributes stops, naming the command that
// registers them.
func TestAPIStopsWithoutSearchAttributes(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through cmd/temporal-dev/with-temporal.sh")
	}
	ns := fmt.Sprintf("bare-%d", time.Now().UnixNano())
	c, err := client.Dial(client.Options{HostPort: addr})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	require.NoError(t, err)

	cfg := apiConfig(t, addr, ns)
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler), API, Options{})
	require.NoError(t, err)
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, API) }()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "lacks the search attributes SalonID, InstallStatus, WhatsAppState")
		require.ErrorContains(t, err, "aiadmin setup-temporal")
	case <-time.After(30 * time.Second):
		t.Fatal("the api went on without the search attributes")
	}
}

// With Temporal unreachable the api starts and serves (webhooks are stored meanwhile); the
// check is tried again later instead of stopping it.
func TestAPIStartsWhileTemporalIsDown(t *testing.T) {
	cfg := apiConfig(t, freeAddr(t), "default") // nobody listens there
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler), API, Options{})
	require.NoError(t, err)
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, API) }()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + cfg.HTTPAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the api stopped while Temporal was down: %v", err)
	case <-time.After(searchAttrFirstRetry + time.Second): // past the first retry
	}
	cancel()
	require.NoError(t, <-done)
}
