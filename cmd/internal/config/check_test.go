package config

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// allVars are the variables Load reads; each test starts with all of them unset.
var allVars = []string{
	"DEMO", "DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "TEMPORAL_UI_ORIGIN",
	"TEMPORAL_GRPC_COMPRESSION",
	"HTTP_ADDR", "PUBLIC_URL", "YCLIENTS_BASE_URL", "YCLIENTS_PARTNER_TOKEN", "YCLIENTS_USER_TOKEN",
	"YCLIENTS_APPLICATION_ID", "REQUIRE_SIGNED_USER_DATA", "SECRET_KEY", "SESSION_SECRET", "ADMIN_TOKEN",
	"OPS_WEBHOOK_URL", "OWNER_WEBHOOK_URL", "WEBHOOK_HMAC_SECRET", "SUPPORT_URL", "WHATSAPP_MODE",
	"WHATSAPP_SIM_URL", "WHATSAPP_SHARDS", "WHATSAPP_SHARD_RETRY", "INBOX_RETENTION", "INBOX_ROW_RETENTION",
	"MESSAGE_RETENTION", "MESSAGE_ROW_RETENTION", "IP_RATE_LIMIT", "WORKFLOW_CACHE_SIZE",
	"TRUSTED_PROXIES", "ACTIVATION_DEADLINE", "RESYNC_EVERY", "FROZEN_POLL_EVERY", "REVIEW_DELAY", "FAKE_YCLIENTS_ADDR",
	"DATA_DIR", "LOG_LEVEL", "LOG_FORMAT", "OPS_ADDR", "PPROF_ADDR",
}

func cleanEnv(t *testing.T) {
	t.Helper()
	for _, v := range allVars {
		t.Setenv(v, "")
	}
	t.Setenv("DATA_DIR", t.TempDir())
}

var (
	testKey     = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	testSession = base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
)

// production is a complete production configuration.
var production = map[string]string{
	"DEMO": "false", "PUBLIC_URL": "https://aiadmin.example.com", "YCLIENTS_PARTNER_TOKEN": "partner-token-value",
	"YCLIENTS_APPLICATION_ID": "4242", "SECRET_KEY": testKey, "SESSION_SECRET": testSession,
	"ADMIN_TOKEN": "admin-token-value", "OWNER_WEBHOOK_URL": "https://sms.example.com/hook/s3cr3t",
}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// names lists the variables of the problems, errors first, each once per problem.
func names(ps []Problem, warnings bool) []string {
	var out []string
	for _, p := range ps {
		if p.Warning == warnings {
			out = append(out, p.Var)
		}
	}
	slices.Sort(out)
	return out
}

func TestLoadListsEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      map[string]string
		local    bool
		errors   []string
		warnings []string
	}{
		{name: "nothing set, not demo", env: map[string]string{"DEMO": "false"},
			errors:   []string{"ADMIN_TOKEN", "PUBLIC_URL", "SECRET_KEY", "SESSION_SECRET", "YCLIENTS_APPLICATION_ID", "YCLIENTS_PARTNER_TOKEN"},
			warnings: []string{"OWNER_WEBHOOK_URL"}},
		{name: "complete production", env: production},
		{name: "owner webhook missing is a warning", env: with(production, "OWNER_WEBHOOK_URL", ""),
			warnings: []string{"OWNER_WEBHOOK_URL"}},
		{name: "http public URL", env: with(production, "PUBLIC_URL", "http://aiadmin.example.com"), errors: []string{"PUBLIC_URL"}},
		{name: "loopback public URL", env: with(production, "PUBLIC_URL", "https://127.0.0.1:8443"), errors: []string{"PUBLIC_URL"}},
		{name: "private public URL", env: with(production, "PUBLIC_URL", "https://10.1.2.3"), errors: []string{"PUBLIC_URL"}},
		{name: "localhost public URL", env: with(production, "PUBLIC_URL", "https://localhost"), errors: []string{"PUBLIC_URL"}},
		{name: "relative public URL", env: with(production, "PUBLIC_URL", "aiadmin.example.com"), errors: []string{"PUBLIC_URL"}},
		{name: "loopback http in the development binary", env: with(production, "PUBLIC_URL", "http://127.0.0.1:8180"),
			local: true, warnings: []string{"PUBLIC_URL"}},
		{name: "private http in the development binary", env: with(production, "PUBLIC_URL", "http://192.168.1.5"),
			local: true, errors: []string{"PUBLIC_URL"}},
		{name: "simulated phone outside demo", env: with(production, "WHATSAPP_MODE", "sim"), errors: []string{"WHATSAPP_MODE"}},
		{name: "fake WhatsApp server in production", env: with(production, "WHATSAPP_MODE", "simserver", "WHATSAPP_SIM_URL", "http://127.0.0.1:1"),
			errors: []string{"WHATSAPP_MODE"}},
		{name: "fake WhatsApp server in the development binary", local: true,
			env: with(production, "WHATSAPP_MODE", "simserver", "WHATSAPP_SIM_URL", "http://127.0.0.1:1")},
		{name: "unknown WhatsApp mode", env: with(production, "WHATSAPP_MODE", "telegram"), errors: []string{"WHATSAPP_MODE"}},
		{name: "unsigned redirects", env: with(production, "REQUIRE_SIGNED_USER_DATA", "false"), errors: []string{"REQUIRE_SIGNED_USER_DATA"}},
		{name: "bad values all at once", env: with(production, "SECRET_KEY", "c2hvcnQ=", "WHATSAPP_SHARDS", "x",
			"INBOX_RETENTION", "a week", "YCLIENTS_APPLICATION_ID", "abc", "TEMPORAL_UI_ORIGIN", "https://ui.example.com/path",
			"WORKFLOW_CACHE_SIZE", "0"),
			errors: []string{"INBOX_RETENTION", "SECRET_KEY", "TEMPORAL_UI_ORIGIN", "WHATSAPP_SHARDS", "WORKFLOW_CACHE_SIZE", "YCLIENTS_APPLICATION_ID"}},
		{name: "inbox rows kept shorter than their bodies", env: with(production, "INBOX_ROW_RETENTION", "24h"),
			errors: []string{"INBOX_ROW_RETENTION"}},
		{name: "inbox rows kept as long as their bodies", env: with(production, "INBOX_RETENTION", "720h", "INBOX_ROW_RETENTION", "720h")},
		{name: "inbox rows' retention not a duration", env: with(production, "INBOX_ROW_RETENTION", "90 days"),
			errors: []string{"INBOX_ROW_RETENTION"}},
		{name: "messages emptied sooner than a review request looks back", env: with(production, "MESSAGE_RETENTION", "240h"),
			errors: []string{"MESSAGE_RETENTION"}},
		{name: "message rows kept shorter than their texts", env: with(production, "MESSAGE_ROW_RETENTION", "720h"),
			errors: []string{"MESSAGE_ROW_RETENTION"}},
		{name: "messages kept a month, their rows as long", env: with(production, "MESSAGE_RETENTION", "720h", "MESSAGE_ROW_RETENTION", "720h")},
		{name: "message retention not a duration", env: with(production, "MESSAGE_RETENTION", "90 days"),
			errors: []string{"MESSAGE_RETENTION"}},
		{name: "Temporal's calls gzipped", env: with(production, "TEMPORAL_GRPC_COMPRESSION", "gzip")},
		{name: "an unknown compression", env: with(production, "TEMPORAL_GRPC_COMPRESSION", "zstd"),
			errors: []string{"TEMPORAL_GRPC_COMPRESSION"}},
		{name: "demo needs nothing", env: map[string]string{"DEMO": "true"}},
		{name: "demo may skip signatures and use the simulated phone", env: map[string]string{"DEMO": "true",
			"REQUIRE_SIGNED_USER_DATA": "false", "WHATSAPP_MODE": "sim"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := LoadWith(Options{Local: tc.local})
			require.NotNil(t, c, "the configuration comes back even when refused")
			require.Equal(t, tc.errors, names(c.Problems, false), "errors: %v", c.Problems)
			require.Equal(t, tc.warnings, names(c.Problems, true), "warnings: %v", c.Problems)
			if len(tc.errors) == 0 {
				require.NoError(t, err)
				return
			}
			var cerr *Error
			require.True(t, errors.As(err, &cerr), "got %v, want a *config.Error", err)
			require.Len(t, cerr.Problems, len(tc.errors))
			for _, name := range tc.errors {
				require.Contains(t, err.Error(), name+": ")
			}
		})
	}
}

func TestDemoUIOrigin(t *testing.T) {
	cleanEnv(t)
	c, err := Load(true)
	require.NoError(t, err)
	require.True(t, c.Demo)
	require.Equal(t, "http://127.0.0.1:8233", c.TemporalUIOrigin, "the dev server's Web UI")
	require.Equal(t, "http://127.0.0.1:8080", c.PublicURL)
}

func TestMaskedHidesSecrets(t *testing.T) {
	cleanEnv(t)
	secrets := map[string]string{
		"YCLIENTS_PARTNER_TOKEN": "partner-token-value", "YCLIENTS_USER_TOKEN": "user-token-value",
		"ADMIN_TOKEN": "admin-token-value", "WEBHOOK_HMAC_SECRET": "hmac-secret-value",
	}
	for k, v := range with(production, "DATABASE_URL", "postgres://app:db-password-value@db.example.com:5432/aiadmin?sslmode=require&password=other-password-value",
		"OPS_WEBHOOK_URL", "https://chat.example.com/hooks/T000/B000/ops-hook-secret-value") {
		t.Setenv(k, v)
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	c, err := LoadWith(Options{})
	require.NoError(t, err)
	var shown strings.Builder
	for _, s := range c.Settings() {
		shown.WriteString(s.Name + "=" + s.Masked() + "\n")
	}
	out := shown.String()
	for _, v := range append(mapValues(secrets), testKey, testSession, "db-password-value", "other-password-value", "ops-hook-secret-value", "s3cr3t") {
		require.NotContains(t, out, v)
	}
	require.Contains(t, out, "ADMIN_TOKEN=set (sha256 ")
	require.Contains(t, out, "DATABASE_URL=postgres://app:xxxxx@db.example.com:5432/aiadmin?password=xxxxx&sslmode=require\n")
	require.Contains(t, out, "OPS_WEBHOOK_URL=https://chat.example.com/…\n")
	require.Contains(t, out, "PUBLIC_URL=https://aiadmin.example.com\n")
	require.Equal(t, "host=db user=app password=xxxxx", Setting{Name: "DATABASE_URL", Value: "host=db user=app password=pw"}.Masked())
	require.True(t, Secret("SECRET_KEYS"), "a later key ring is masked by its name")
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
