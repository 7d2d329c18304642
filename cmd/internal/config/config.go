// Package config reads AI Admin's configuration from the environment, once, into one struct;
// only the mains call it. README.md lists every variable.
package config

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/cmd/internal/dispatcher"
	"github.com/aiadmin/aiadmin/cmd/internal/shard"
	"github.com/aiadmin/aiadmin/db/secretbox"
	"github.com/aiadmin/aiadmin/workflows"
)

// Config is every setting of the process, read from the environment once in main. The README
// lists each variable.
type Config struct {
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	// TemporalCompression is how requests to Temporal and its answers are compressed
	// (TEMPORAL_GRPC_COMPRESSION): "none" or "gzip"; empty: DefaultTemporalCompression.
	TemporalCompression string

	HTTPAddr  string
	PublicURL string
	// OpsAddr is the worker's ops listener (OPS_ADDR): /metrics, /healthz and /readyz;
	// empty: none (a Config built in code).
	OpsAddr string
	// PProfAddr serves Go's CPU, heap and goroutine profiles (net/http/pprof) on a listener of
	// their own (PPROF_ADDR), in any role; empty (the default): none. Only a loopback or
	// private address is accepted: a profile shows the process's internals.
	PProfAddr string

	YClientsBaseURL       string
	YClientsPartnerToken  string
	YClientsUserToken     string
	YClientsApplicationID int64
	RequireSignedUserData bool

	SecretKey []byte // AES-256 key: seals api keys and pairing codes at rest and clients' data in Temporal
	// PreviousSecretKeys open what older keys sealed (SECRET_KEYS after the first, newest
	// first): key rotation.
	PreviousSecretKeys [][]byte
	SessionSecret      []byte // HS256 key for connect-page session tokens
	AdminToken         string
	OpsWebhookURL      string
	// OwnerWebhookURL receives owner notices (the re-link link).
	OwnerWebhookURL string
	// WebhookHMACSecret optionally requires a signature header on entity webhooks.
	WebhookHMACSecret string
	// SupportURL is the support contact the owner's pages link to (https: or mailto:).
	SupportURL string
	// TemporalUIOrigin is the Temporal Web UI's origin (TEMPORAL_UI_ORIGIN), allowed by CORS
	// to call the payload codec endpoint; empty: only callers without an Origin (the CLI).
	TemporalUIOrigin string

	WhatsAppMode string // sim, simserver or whatsmeow
	Demo         bool
	FakeAddr     string
	DataDir      string

	// WhatsAppShards is the number of WhatsApp shards (WHATSAPP_SHARDS, the same on every
	// worker); ShardRetry how often a worker retries the shards it does not own.
	WhatsAppShards int
	ShardRetry     time.Duration
	WhatsAppSimURL string // WHATSAPP_MODE=simserver: the fake WhatsApp server

	// InboxRetention is how long a handed-on webhook keeps its body (INBOX_RETENTION).
	InboxRetention time.Duration
	// InboxRowRetention is how long a handed-on webhook's row is kept, its body purged, before
	// it is deleted (INBOX_ROW_RETENTION; dead rows stay).
	InboxRowRetention time.Duration
	// MessageRetention is how long an ended message keeps its recipient's number and its text
	// after it was written, ended and visited (MESSAGE_RETENTION).
	MessageRetention time.Duration
	// MessageRowRetention is how long a visit's message row is kept, emptied, before it is
	// deleted (MESSAGE_ROW_RETENTION; messages about no visit keep their row).
	MessageRowRetention time.Duration
	// WorkflowCache is how many workflows a worker keeps in memory between their tasks
	// (WORKFLOW_CACHE_SIZE, default 2,000; the SDK's own default is 10,000): a booking waiting
	// weeks for its reminder costs ≈46 KB while cached, and one evicted replays its short
	// history when its timer fires.
	WorkflowCache int

	Timings workflows.Timings
	// NoticeMerge is how long a change or cancellation notice waits for more changes of the
	// record (NOTICE_MERGE_WINDOW; default 2 min, demo mode 5 s).
	NoticeMerge time.Duration
	// ReviewDelay, when set (REVIEW_DELAY; demo mode: 30 s), replaces every salon's review
	// delay: a review request goes that long after YClients marks a visit attended.
	ReviewDelay time.Duration
	// IPRateLimit is how many marketplace redirects and websockets one client IP may open per
	// minute (IP_RATE_LIMIT, default 30; 0 turns the limit off); TrustedProxies are the load
	// balancers whose X-Forwarded-For names the client (TRUSTED_PROXIES, comma-separated).
	IPRateLimit    int
	TrustedProxies []string
	// RequestQREvery is how often a salon may ask for a new QR code (zero: 10 s). Not read from
	// the environment: tests that shorten the simulated phone's pairing timings shorten it.
	RequestQREvery time.Duration
	// CodePatience is how long the connect page waits for a code it asked for before it asks
	// again (zero: 20 s). Not read from the environment, as RequestQREvery.
	CodePatience time.Duration
	// RegisterTimeout bounds the register page's request, after which an owner whose
	// registration Temporal has not finished gets the page that opens itself again (zero and
	// at most: 30 s). Not read from the environment, as RequestQREvery.
	RegisterTimeout time.Duration
	LogLevel        string
	LogJSON         bool

	TemporalDevBin    string
	TemporalDevConfig string

	// Problems are what Load found wrong: the errors (also returned by Load) and the warnings.
	Problems []Problem
	// publicURLSet says PUBLIC_URL was set rather than defaulted.
	publicURLSet bool
}

// DemoReviewDelay is the review delay of demo mode (REVIEW_DELAY unset).
const DemoReviewDelay = 30 * time.Second

// Options say how a binary reads the configuration.
type Options struct {
	// Dev is the development binary's `dev` command: demo mode without YClients credentials.
	Dev bool
	// Local is the development binary: outside demo mode it also runs production-like
	// clusters on this machine, so a loopback http PUBLIC_URL is a warning, not an error,
	// and WHATSAPP_MODE=simserver is allowed.
	Local bool
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// Load reads the configuration; dev is true for the development binary's `dev` command, whose
// defaults are demo mode without YClients credentials.
func Load(dev bool) (*Config, error) { return LoadWith(Options{Dev: dev}) }

// LoadWith reads the configuration and checks all of it: the error, an *Error, lists every
// problem at once. The Config is returned even then (check-config prints it), with its
// Problems, warnings included.
func LoadWith(o Options) (*Config, error) {
	c := &Config{
		DatabaseURL:          env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aiadmin?sslmode=disable"),
		TemporalAddress:      env("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace:    env("TEMPORAL_NAMESPACE", "default"),
		TaskQueue:            env("TEMPORAL_TASK_QUEUE", workflows.TaskQueue),
		TemporalCompression:  env("TEMPORAL_GRPC_COMPRESSION", DefaultTemporalCompression),
		HTTPAddr:             env("HTTP_ADDR", "127.0.0.1:8080"),
		OpsAddr:              env("OPS_ADDR", "127.0.0.1:9090"),
		PProfAddr:            strings.TrimSpace(os.Getenv("PPROF_ADDR")),
		YClientsBaseURL:      env("YCLIENTS_BASE_URL", "https://api.yclients.com"),
		YClientsPartnerToken: os.Getenv("YCLIENTS_PARTNER_TOKEN"),
		YClientsUserToken:    os.Getenv("YCLIENTS_USER_TOKEN"),
		AdminToken:           os.Getenv("ADMIN_TOKEN"),
		OpsWebhookURL:        os.Getenv("OPS_WEBHOOK_URL"),
		OwnerWebhookURL:      os.Getenv("OWNER_WEBHOOK_URL"),
		WebhookHMACSecret:    os.Getenv("WEBHOOK_HMAC_SECRET"),
		SupportURL:           strings.TrimSpace(os.Getenv("SUPPORT_URL")),
		WhatsAppSimURL:       os.Getenv("WHATSAPP_SIM_URL"),
		FakeAddr:             env("FAKE_YCLIENTS_ADDR", "127.0.0.1:8090"),
		DataDir:              env("DATA_DIR", ".data"),
		LogLevel:             env("LOG_LEVEL", "info"),
		LogJSON:              env("LOG_FORMAT", "text") == "json",
		TemporalDevBin:       env("TEMPORAL_DEV_BIN", "bin/temporal-dev"),
		TemporalDevConfig:    env("TEMPORAL_DEV_CONFIG", "temporal-dev.yaml"),
		InboxRetention:       dispatcher.DefaultRetention,
		InboxRowRetention:    dispatcher.DefaultRowRetention,
		MessageRetention:     ledger.DefaultRetention,
		MessageRowRetention:  ledger.DefaultRowRetention,
	}
	c.publicURLSet = os.Getenv("PUBLIC_URL") != ""
	c.PublicURL = strings.TrimRight(env("PUBLIC_URL", "http://"+c.HTTPAddr), "/")
	var p problems
	c.parse(o.Dev, &p)
	if c.Demo {
		c.demoDefaults()
	}
	c.WhatsAppMode = env("WHATSAPP_MODE", map[bool]string{true: "sim", false: "whatsmeow"}[c.Demo])
	c.secretKeys(&p)
	c.SessionSecret = c.key("SESSION_SECRET", "session.key", &p)
	c.check(o, &p)
	c.Problems = p
	if errs := p.errors(); len(errs) > 0 {
		return c, &Error{Problems: errs}
	}
	return c, nil
}

// parse reads the numbers, switches and durations; a value that does not parse is a problem.
func (c *Config) parse(dev bool, p *problems) {
	var err error
	if c.YClientsApplicationID, err = strconv.ParseInt(env("YCLIENTS_APPLICATION_ID", "0"), 10, 64); err != nil {
		p.errorf("YCLIENTS_APPLICATION_ID", "want a number, got %q", os.Getenv("YCLIENTS_APPLICATION_ID"))
	}
	if c.RequireSignedUserData, err = strconv.ParseBool(env("REQUIRE_SIGNED_USER_DATA", "true")); err != nil {
		p.errorf("REQUIRE_SIGNED_USER_DATA", "want true or false, got %q", os.Getenv("REQUIRE_SIGNED_USER_DATA"))
		c.RequireSignedUserData = true
	}
	// Demo mode: no YClients credentials → the fake YClients and the simulated phone.
	if c.Demo, err = strconv.ParseBool(env("DEMO", strconv.FormatBool(dev && c.YClientsPartnerToken == ""))); err != nil {
		p.errorf("DEMO", "want true or false, got %q", os.Getenv("DEMO"))
	}
	if c.IPRateLimit, err = strconv.Atoi(env("IP_RATE_LIMIT", "30")); err != nil || c.IPRateLimit < 0 {
		p.errorf("IP_RATE_LIMIT", "want a number of requests per minute, 0 for none")
	}
	for _, s := range strings.Split(os.Getenv("TRUSTED_PROXIES"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.TrustedProxies = append(c.TrustedProxies, s)
		}
	}
	if c.WhatsAppShards, err = strconv.Atoi(env("WHATSAPP_SHARDS", strconv.Itoa(workflows.DefaultWhatsAppShards))); err != nil ||
		c.WhatsAppShards < 1 || c.WhatsAppShards > shard.MaxShards {
		p.errorf("WHATSAPP_SHARDS", "want 1..%d, got %q", shard.MaxShards, os.Getenv("WHATSAPP_SHARDS"))
	}
	if c.WorkflowCache, err = strconv.Atoi(env("WORKFLOW_CACHE_SIZE", strconv.Itoa(DefaultWorkflowCache))); err != nil || c.WorkflowCache < 1 {
		p.errorf("WORKFLOW_CACHE_SIZE", "want a number of workflows ≥ 1, got %q", os.Getenv("WORKFLOW_CACHE_SIZE"))
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"ACTIVATION_DEADLINE", &c.Timings.ActivationDeadline},
		{"RESYNC_EVERY", &c.Timings.ResyncEvery},
		{"FROZEN_POLL_EVERY", &c.Timings.FrozenPollEvery},
		{"WHATSAPP_SHARD_RETRY", &c.ShardRetry},
		{"INBOX_RETENTION", &c.InboxRetention},
		{"INBOX_ROW_RETENTION", &c.InboxRowRetention},
		{"MESSAGE_RETENTION", &c.MessageRetention},
		{"MESSAGE_ROW_RETENTION", &c.MessageRowRetention},
		{"NOTICE_MERGE_WINDOW", &c.NoticeMerge},
		{"REVIEW_DELAY", &c.ReviewDelay},
	} {
		if v := os.Getenv(d.name); v != "" {
			if *d.dst, err = time.ParseDuration(v); err != nil {
				p.errorf(d.name, "want a Go duration such as 90s or 24h, got %q", v)
			}
		}
	}
	if c.InboxRetention <= 0 && !p.has("INBOX_RETENTION") {
		p.errorf("INBOX_RETENTION", "want a positive duration, got %s", c.InboxRetention)
	}
	if c.InboxRowRetention < c.InboxRetention && !p.has("INBOX_ROW_RETENTION") && !p.has("INBOX_RETENTION") {
		p.errorf("INBOX_ROW_RETENTION", "want at least INBOX_RETENTION (%s): a row is deleted only after its body was purged, got %s",
			c.InboxRetention, c.InboxRowRetention)
	}
	// A review request is sent once a month per client (activities.ReviewEvery): the ledger
	// keeps the numbers of that month to tell.
	if c.MessageRetention < activities.ReviewEvery && !p.has("MESSAGE_RETENTION") {
		p.errorf("MESSAGE_RETENTION", "want at least %s: a review request looks that far back at the numbers messages went to, got %s",
			activities.ReviewEvery, c.MessageRetention)
	}
	if c.MessageRowRetention < c.MessageRetention && !p.has("MESSAGE_ROW_RETENTION") && !p.has("MESSAGE_RETENTION") {
		p.errorf("MESSAGE_ROW_RETENTION", "want at least MESSAGE_RETENTION (%s): a message is deleted only after it was emptied, got %s",
			c.MessageRetention, c.MessageRowRetention)
	}
	if c.ReviewDelay == 0 && c.Demo && os.Getenv("REVIEW_DELAY") == "" {
		c.ReviewDelay = DemoReviewDelay // an owner trying it out sees the request within a minute
	}
	c.TemporalUIOrigin = strings.TrimRight(os.Getenv("TEMPORAL_UI_ORIGIN"), "/")
	if c.TemporalUIOrigin == "" && c.Demo {
		c.TemporalUIOrigin = "http://127.0.0.1:8233" // the dev server's Web UI (temporal-dev.yaml)
	}
}

// DefaultTemporalCompression is TEMPORAL_GRPC_COMPRESSION's default. The Temporal SDK's own
// default is gzip.
const DefaultTemporalCompression = "none"

// Compression is how requests to Temporal are compressed: TemporalCompression, or the default
// when it is empty (a Config built in code).
func (c *Config) Compression() string {
	if c.TemporalCompression == "" {
		return DefaultTemporalCompression
	}
	return c.TemporalCompression
}

// DefaultWorkflowCache is WORKFLOW_CACHE_SIZE's default.
const DefaultWorkflowCache = 2000

// demoDefaults points YClients at the fake and fills in its credentials.
func (c *Config) demoDefaults() {
	c.YClientsPartnerToken = env("YCLIENTS_PARTNER_TOKEN", "demo-partner-token")
	if c.YClientsApplicationID == 0 {
		c.YClientsApplicationID = 1
	}
	c.YClientsBaseURL = "http://" + c.FakeAddr
	if c.AdminToken == "" {
		c.AdminToken = "demo-admin-token"
	}
	if c.NoticeMerge == 0 {
		c.NoticeMerge = 5 * time.Second // an edit in the fake is told within seconds
	}
}

// secretKeys reads SECRET_KEYS (comma-separated, newest first: the first seals, all open) or
// SECRET_KEY; both may be set while a rotation rolls out (SECRET_KEY then joins the list).
func (c *Config) secretKeys(p *problems) {
	list := os.Getenv("SECRET_KEYS")
	if list == "" {
		c.SecretKey = c.key("SECRET_KEY", "secret.key", p)
		return
	}
	var keys [][]byte
	for i, part := range strings.Split(list, ",") {
		k, err := secretbox.KeyFromBase64(part)
		if err != nil {
			p.errorf("SECRET_KEYS", "key %d: want 32 random bytes, base64: %v", i+1, err)
			return
		}
		keys = append(keys, k)
	}
	if v := os.Getenv("SECRET_KEY"); v != "" {
		k, err := secretbox.KeyFromBase64(v)
		if err != nil {
			p.errorf("SECRET_KEY", "want 32 random bytes, base64: %v", err)
			return
		}
		if !slices.ContainsFunc(keys, func(x []byte) bool { return bytes.Equal(x, k) }) {
			keys = append(keys, k)
		}
	}
	c.SecretKey, c.PreviousSecretKeys = keys[0], keys[1:]
}

// SecretKeys are every key, newest first.
func (c *Config) SecretKeys() [][]byte {
	return append([][]byte{c.SecretKey}, c.PreviousSecretKeys...)
}

// key reads a base64 32-byte key from the environment; in demo mode a missing key is created
// once in the data folder so that a second `make dev` can still read what the first stored.
func (c *Config) key(name, file string, p *problems) []byte {
	if v := os.Getenv(name); v != "" {
		k, err := secretbox.KeyFromBase64(v)
		if err != nil {
			p.errorf(name, "want 32 random bytes, base64: %v", err)
			return nil
		}
		return k
	}
	if !c.Demo {
		p.errorf(name, "required outside demo mode (32 random bytes, base64: `openssl rand -base64 32`)")
		return nil
	}
	k, err := demoKey(filepath.Join(c.DataDir, file))
	if err != nil {
		p.errorf(name, "demo key in %s: %v", c.DataDir, err)
	}
	return k
}

// demoKey reads the demo key stored at path, or creates it.
func demoKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		return secretbox.KeyFromBase64(strings.TrimSpace(string(b)))
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(k)), 0o600); err != nil {
		return nil, err
	}
	return k, nil
}

// ShardCount is WHATSAPP_SHARDS, or the default for a Config built without it.
func (c *Config) ShardCount() int {
	if c.WhatsAppShards > 0 {
		return c.WhatsAppShards
	}
	return workflows.DefaultWhatsAppShards
}

// IPRequestEvery is the per-IP limit as the HTTP layer takes it: the interval between
// requests, negative for none.
func (c *Config) IPRequestEvery() time.Duration {
	if c.IPRateLimit <= 0 {
		return -1
	}
	return time.Minute / time.Duration(c.IPRateLimit)
}
