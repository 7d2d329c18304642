package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aiadmin/aiadmin/cmd/internal/shard"
	"github.com/aiadmin/aiadmin/workflows"
)

// Setting is one effective setting, as `check-config` shows it.
type Setting struct {
	Name    string // the environment variable
	Value   string // the effective value, unmasked: show Masked()
	FromEnv bool   // set in the environment (otherwise a default)
}

// Settings lists the effective configuration, one row per environment variable. Show the
// rows with Masked: secrets are recognised by their names, so a row added here later is
// masked without being marked.
func (c *Config) Settings() []Setting {
	b64 := base64.StdEncoding.EncodeToString
	rows := []struct{ name, value string }{
		{"DEMO", strconv.FormatBool(c.Demo)},
		{"DATABASE_URL", c.DatabaseURL},
		{"TEMPORAL_ADDRESS", c.TemporalAddress},
		{"TEMPORAL_NAMESPACE", c.TemporalNamespace},
		{"TEMPORAL_TASK_QUEUE", c.TaskQueue},
		{"TEMPORAL_GRPC_COMPRESSION", c.Compression()},
		{"TEMPORAL_UI_ORIGIN", c.TemporalUIOrigin},
		{"HTTP_ADDR", c.HTTPAddr},
		{"PUBLIC_URL", c.PublicURL},
		{"YCLIENTS_BASE_URL", c.YClientsBaseURL},
		{"YCLIENTS_PARTNER_TOKEN", c.YClientsPartnerToken},
		{"YCLIENTS_USER_TOKEN", c.YClientsUserToken},
		{"YCLIENTS_APPLICATION_ID", strconv.FormatInt(c.YClientsApplicationID, 10)},
		{"REQUIRE_SIGNED_USER_DATA", strconv.FormatBool(c.RequireSignedUserData)},
		{"SECRET_KEY", b64(c.SecretKey)},
		{"SECRET_KEYS", joinKeys(c.SecretKeys(), b64)},
		{"OPS_ADDR", c.OpsAddr},
		{"PPROF_ADDR", c.PProfAddr},
		{"NOTICE_MERGE_WINDOW", c.NoticeMerge.String()},
		{"SESSION_SECRET", b64(c.SessionSecret)},
		{"ADMIN_TOKEN", c.AdminToken},
		{"OPS_WEBHOOK_URL", c.OpsWebhookURL},
		{"OWNER_WEBHOOK_URL", c.OwnerWebhookURL},
		{"WEBHOOK_HMAC_SECRET", c.WebhookHMACSecret},
		{"SUPPORT_URL", c.SupportURL},
		{"WHATSAPP_MODE", c.WhatsAppMode},
		{"WHATSAPP_SIM_URL", c.WhatsAppSimURL},
		{"WHATSAPP_SHARDS", strconv.Itoa(c.ShardCount())},
		{"WHATSAPP_SHARD_RETRY", orDefault(c.ShardRetry, shard.DefaultRetry)},
		{"INBOX_RETENTION", c.InboxRetention.String()},
		{"INBOX_ROW_RETENTION", c.InboxRowRetention.String()},
		{"MESSAGE_RETENTION", c.MessageRetention.String()},
		{"MESSAGE_ROW_RETENTION", c.MessageRowRetention.String()},
		{"WORKFLOW_CACHE_SIZE", strconv.Itoa(c.WorkflowCache)},
		{"IP_RATE_LIMIT", strconv.Itoa(c.IPRateLimit)},
		{"TRUSTED_PROXIES", strings.Join(c.TrustedProxies, ",")},
		{"ACTIVATION_DEADLINE", orDefault(c.Timings.ActivationDeadline, workflows.DefaultActivationDeadline)},
		{"RESYNC_EVERY", orDefault(c.Timings.ResyncEvery, workflows.DefaultResyncEvery)},
		{"FROZEN_POLL_EVERY", orDefault(c.Timings.FrozenPollEvery, workflows.DefaultFrozenPollEvery)},
		{"REVIEW_DELAY", map[bool]string{true: c.ReviewDelay.String(), false: "each salon's setting"}[c.ReviewDelay > 0]},
		{"FAKE_YCLIENTS_ADDR", c.FakeAddr},
		{"DATA_DIR", c.DataDir},
		{"LOG_LEVEL", c.LogLevel},
		{"LOG_FORMAT", map[bool]string{true: "json", false: "text"}[c.LogJSON]},
	}
	out := make([]Setting, len(rows))
	for i, r := range rows {
		out[i] = Setting{Name: r.name, Value: r.value, FromEnv: os.Getenv(r.name) != ""}
	}
	return out
}

// orDefault is d, or def when d is zero (the component applies its default).
func orDefault(d, def time.Duration) string {
	if d <= 0 {
		d = def
	}
	return d.String()
}

// secretWords mark a variable whose value is a secret (SECRET_KEY, SECRET_KEYS, SESSION_SECRET,
// ADMIN_TOKEN, YCLIENTS_PARTNER_TOKEN, WEBHOOK_HMAC_SECRET, …).
var secretWords = []string{"SECRET", "TOKEN", "KEY", "PASSWORD", "PASSPHRASE", "CREDENTIAL"}

// Secret reports whether a variable's value is a secret, by its name.
func Secret(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Masked is the value as it may be shown: a secret as "set" with a short fingerprint (so that
// operators can compare two processes' keys without seeing them), a webhook URL as its origin
// (its path often is the secret, as in chat webhooks), any other URL without its password,
// query or fragment.
func (s Setting) Masked() string {
	switch {
	case s.Value == "" || s.Value == "0" && Secret(s.Name):
		return ""
	case Secret(s.Name):
		sum := sha256.Sum256([]byte(s.Value))
		return "set (sha256 " + hex.EncodeToString(sum[:4]) + ")"
	}
	u, err := url.Parse(s.Value)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if strings.Contains(s.Value, "://") {
			return "(not a valid URL; hidden)"
		}
		return maskPairs(s.Value) // e.g. a key=value DSN
	}
	if strings.HasSuffix(strings.ToUpper(s.Name), "WEBHOOK_URL") && (u.Path != "" && u.Path != "/" || u.RawQuery != "") {
		return u.Scheme + "://" + u.Host + "/…"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			if Secret(k) {
				q.Set(k, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment = ""
	return u.String()
}

// maskPairs masks the secret-named values of "key=value key=value" text (a libpq DSN).
func maskPairs(v string) string {
	fields := strings.Fields(v)
	for i, f := range fields {
		if k, _, ok := strings.Cut(f, "="); ok && Secret(k) {
			fields[i] = k + "=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// joinKeys writes the keys as SECRET_KEYS holds them, newest first.
func joinKeys(keys [][]byte, enc func([]byte) string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = enc(k)
	}
	return strings.Join(out, ",")
}
