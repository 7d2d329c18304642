package ops

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/workflows"
)

func TestVersion(t *testing.T) {
	b := NewBuild("aiadmin", "v1.2.3-4-gabcdef", "abcdef0123456789")
	require.Equal(t, "v1.2.3-4-gabcdef", b.Version)
	require.Equal(t, "abcdef0123456789", b.Commit)
	var out bytes.Buffer
	require.NoError(t, Main([]string{"version"}, config.Options{}, b, &out))
	require.Regexp(t, `^aiadmin v1\.2\.3-4-gabcdef \(commit abcdef0123456789, go1\.\d+`, out.String())
	out.Reset()
	require.NoError(t, Main([]string{"version", "--json"}, config.Options{}, b, &out))
	var got Build
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Equal(t, b, got)

	// Without -ldflags: the toolchain's VCS stamp, else devel/unknown.
	info := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	b = fromBuildInfo(Build{}, info)
	require.Equal(t, "0123456789ab-dirty", b.Version)
	require.Equal(t, "0123456789abcdef0123", b.Commit)
	require.True(t, b.Modified)
	b = NewBuild("aiadmin", "", "")
	require.NotEmpty(t, b.Version)
	require.NotEmpty(t, b.Commit)
	require.Error(t, Main([]string{"version", "extra"}, config.Options{}, b, &out))
}

// setEnv sets the environment of a production process with nothing configured but vars.
func setEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "YCLIENTS_") || strings.HasPrefix(name, "TEMPORAL_") || strings.HasSuffix(name, "_URL") ||
			strings.Contains(name, "SECRET") || strings.Contains(name, "TOKEN") || name == "DEMO" || name == "WHATSAPP_MODE" {
			t.Setenv(name, "")
		}
	}
	t.Setenv("DATA_DIR", t.TempDir())
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

func TestCheckConfigListsEveryMissingItem(t *testing.T) {
	setEnv(t, map[string]string{"DEMO": "false"})
	var out bytes.Buffer
	err := Main([]string{"check-config"}, config.Options{}, Build{}, &out)
	require.EqualError(t, err, "configuration refused: 6 errors")
	for _, name := range []string{"PUBLIC_URL", "YCLIENTS_PARTNER_TOKEN", "YCLIENTS_APPLICATION_ID", "SECRET_KEY", "SESSION_SECRET", "ADMIN_TOKEN"} {
		require.Regexp(t, `(?m)^  `+name+`: `, out.String(), "errors name %s", name)
	}
	require.Contains(t, out.String(), "Warnings:\n  OWNER_WEBHOOK_URL: not set")
}

func TestCheckConfigMasksSecrets(t *testing.T) {
	secrets := map[string]string{
		"YCLIENTS_PARTNER_TOKEN": "partner-token-4f9a", "YCLIENTS_USER_TOKEN": "user-token-77c1",
		"ADMIN_TOKEN": "admin-token-0b3e", "WEBHOOK_HMAC_SECRET": "hmac-secret-5d2c",
		"SECRET_KEY":     base64.StdEncoding.EncodeToString([]byte("k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y!")),
		"SESSION_SECRET": base64.StdEncoding.EncodeToString([]byte("s3ss-s3ss-s3ss-s3ss-s3ss-s3ss-!!")),
	}
	env := map[string]string{"DEMO": "false", "PUBLIC_URL": "https://aiadmin.example.com", "YCLIENTS_APPLICATION_ID": "7",
		"DATABASE_URL":      "postgres://aiadmin:pg-pass-91e0@db.example.com/aiadmin",
		"OWNER_WEBHOOK_URL": "https://sms.example.com/send/owner-hook-secret-11aa",
		"OPS_WEBHOOK_URL":   "https://chat.example.com/hooks/ops-hook-secret-22bb?token=q-token-33cc"}
	for k, v := range secrets {
		env[k] = v
	}
	setEnv(t, env)
	for _, asJSON := range []bool{false, true} {
		args := []string{"check-config"}
		if asJSON {
			args = append(args, "--json")
		}
		var out bytes.Buffer
		require.NoError(t, Main(args, config.Options{}, Build{}, &out))
		shown := out.String()
		for _, v := range append(values(secrets), "pg-pass-91e0", "owner-hook-secret-11aa", "ops-hook-secret-22bb", "q-token-33cc") {
			require.NotContains(t, shown, v, "check-config shows a secret")
		}
		require.Contains(t, shown, "aiadmin.example.com")
		if !asJSON {
			require.Contains(t, shown, "Configuration OK.")
			require.Regexp(t, `ADMIN_TOKEN\s+\*\s+set \(sha256 [0-9a-f]{8}\)`, shown)
			continue
		}
		var rep configReport
		require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
		require.Empty(t, rep.Errors)
		require.Empty(t, rep.Warnings)
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// setup-temporal on a fresh namespace of the test server: registers it and the search
// attributes, and a second run finds everything there.
func TestSetupTemporalIsIdempotent(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through cmd/temporal-dev/with-temporal.sh")
	}
	cfg := &config.Config{TemporalAddress: addr, TemporalNamespace: fmt.Sprintf("setup-%d", time.Now().UnixNano()),
		SecretKey: make([]byte, 32)}
	ctx := context.Background()
	var out bytes.Buffer
	require.NoError(t, Exec(ctx, cfg, []string{"setup-temporal", "--retention", "24h"}, &out))
	require.Equal(t, fmt.Sprintf("namespace %s: registered (retention 24h0m0s)\n", cfg.TemporalNamespace)+
		"search attribute SalonID (Keyword): registered\n"+
		"search attribute InstallStatus (Keyword): registered\n"+
		"search attribute WhatsAppState (Keyword): registered\n"+
		"running installations with the owner's priority: 0 given now, 0 had it\n", out.String())

	// An installation started before the owner's priority existed (no worker needed: it stays
	// running with its first workflow task waiting) gets it; one that had it is left alone.
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: cfg.TemporalNamespace})
	require.NoError(t, err)
	defer c.Close()
	start := func(id string, p temporal.Priority) {
		_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "setup-test", Priority: p},
			workflows.InstallationWorkflowName, workflows.InstallationInput{SalonID: 1})
		require.NoError(t, err)
	}
	start("installation-1", temporal.Priority{})
	start("installation-2", workflows.OwnerWaiting)
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "booking-1-1", TaskQueue: "setup-test"}, workflows.BookingWorkflowName)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		n, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: cfg.TemporalNamespace})
		return err == nil && n.GetCount() == 3
	}, 20*time.Second, 100*time.Millisecond, "the workflows are visible")
	priority := func(id string) int32 {
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		require.NoError(t, err)
		return desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey()
	}
	require.Zero(t, priority("installation-1"))

	out.Reset()
	require.NoError(t, Exec(ctx, cfg, []string{"setup-temporal", "--json"}, &out))
	var rep setupReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Equal(t, setupReport{Namespace: cfg.TemporalNamespace, Registered: []string{}, Present: app.SearchAttributes,
		PriorityRaised: 1, PriorityAlready: 1}, rep)
	require.EqualValues(t, workflows.OwnerWaiting.PriorityKey, priority("installation-1"))
	require.EqualValues(t, workflows.OwnerWaiting.PriorityKey, priority("installation-2"))
	require.Zero(t, priority("booking-1-1"), "the clients' messages keep the default")

	out.Reset()
	require.NoError(t, Exec(ctx, cfg, []string{"setup-temporal"}, &out))
	require.Contains(t, out.String(), "running installations with the owner's priority: 0 given now, 2 had it\n")
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: cfg.TemporalNamespace})
	require.NoError(t, err)
	for _, name := range app.SearchAttributes {
		require.Contains(t, resp.GetCustomAttributes(), name)
	}
}
