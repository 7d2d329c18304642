// Package config reads AI Admin's configuration from the environment, once, into one struct;
// only the mains call it. README.md lists every variable.
package config

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

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

	HTTPAddr  string
	PublicURL string
	// OpsAddr is the worker's ops listener (OPS_ADDR): /metrics, /healthz and /readyz;
	// empty: none (a Config built in code).
	OpsAddr string

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

	Timings workflows.Timings
	// IPRateLimit is how many marketplace redirects and websockets one client IP may open per
	// minute (IP_RATE_LIMIT, default 30; 0 turns the limit off); TrustedProxies are the load
	// balancers whose X-Forwarded-For names the client (TRUSTED_PROXIES, comma-separated).
	IPRateLimit    int
	TrustedProxies []string
	// RequestQREvery is how often a salon may ask for a new QR code (zero: 10 s). Not read from
	// the environment: tests that shorten the simulated phone's pairing timings shorten it.
	RequestQREvery time.Duration
	LogLevel       string
	LogJSON        bool

	TemporalDevBin    string
	TemporalDevConfig string
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// Load reads the configuration; dev is true for the development binary's `dev` command, whose
// defaults are demo mode without YClients credentials.
func Load(dev bool) (*Config, error) {
	c := &Config{
		DatabaseURL:          env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/aiadmin?sslmode=disable"),
		TemporalAddress:      env("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace:    env("TEMPORAL_NAMESPACE", "default"),
		TaskQueue:            env("TEMPORAL_TASK_QUEUE", workflows.TaskQueue),
		HTTPAddr:             env("HTTP_ADDR", "127.0.0.1:8080"),
		OpsAddr:              env("OPS_ADDR", "127.0.0.1:9090"),
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
		InboxRetention:       7 * 24 * time.Hour,
	}
	c.PublicURL = strings.TrimRight(env("PUBLIC_URL", "http://"+c.HTTPAddr), "/")
	if err := c.parse(dev); err != nil {
		return nil, err
	}
	if c.Demo {
		c.demoDefaults()
	}
	c.WhatsAppMode = env("WHATSAPP_MODE", map[bool]string{true: "sim", false: "whatsmeow"}[c.Demo])
	var err error
	if err := c.secretKeys(); err != nil {
		return nil, err
	}
	if c.SessionSecret, err = c.key("SESSION_SECRET", "session.key"); err != nil {
		return nil, err
	}
	return c, c.check()
}

// parse reads the numbers, switches and durations.
func (c *Config) parse(dev bool) error {
	var err error
	if c.YClientsApplicationID, err = strconv.ParseInt(env("YCLIENTS_APPLICATION_ID", "0"), 10, 64); err != nil {
		return fmt.Errorf("YCLIENTS_APPLICATION_ID: %w", err)
	}
	if c.RequireSignedUserData, err = strconv.ParseBool(env("REQUIRE_SIGNED_USER_DATA", "true")); err != nil {
		return fmt.Errorf("REQUIRE_SIGNED_USER_DATA: %w", err)
	}
	// Demo mode: no YClients credentials → the fake YClients and the simulated phone.
	if c.Demo, err = strconv.ParseBool(env("DEMO", strconv.FormatBool(dev && c.YClientsPartnerToken == ""))); err != nil {
		return fmt.Errorf("DEMO: %w", err)
	}
	if c.IPRateLimit, err = strconv.Atoi(env("IP_RATE_LIMIT", "30")); err != nil || c.IPRateLimit < 0 {
		return fmt.Errorf("IP_RATE_LIMIT: want a number of requests per minute, 0 for none")
	}
	for _, p := range strings.Split(os.Getenv("TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	if c.WhatsAppShards, err = strconv.Atoi(env("WHATSAPP_SHARDS", strconv.Itoa(workflows.DefaultWhatsAppShards))); err != nil ||
		c.WhatsAppShards < 1 || c.WhatsAppShards > shard.MaxShards {
		return fmt.Errorf("WHATSAPP_SHARDS: want 1..%d, got %q", shard.MaxShards, os.Getenv("WHATSAPP_SHARDS"))
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
	} {
		if v := os.Getenv(d.name); v != "" {
			if *d.dst, err = time.ParseDuration(v); err != nil {
				return fmt.Errorf("%s: %w", d.name, err)
			}
		}
	}
	if c.InboxRetention <= 0 {
		return fmt.Errorf("INBOX_RETENTION: want a positive duration, got %s", c.InboxRetention)
	}
	return nil
}

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
}

// check refuses a configuration that cannot work.
func (c *Config) check() error {
	if c.WhatsAppMode == "simserver" && c.WhatsAppSimURL == "" {
		return errors.New("WHATSAPP_MODE=simserver needs WHATSAPP_SIM_URL")
	}
	if err := checkSupportURL(c.SupportURL); err != nil {
		return err
	}
	if c.Demo {
		return nil
	}
	if !c.RequireSignedUserData {
		return errors.New("REQUIRE_SIGNED_USER_DATA=false is allowed in demo mode only: unsigned redirects would let anyone open any salon's connect page")
	}
	if c.YClientsPartnerToken == "" || c.YClientsApplicationID == 0 {
		return errors.New("YCLIENTS_PARTNER_TOKEN and YCLIENTS_APPLICATION_ID are required outside demo mode")
	}
	if c.AdminToken == "" {
		return errors.New("ADMIN_TOKEN is required outside demo mode")
	}
	return nil
}

// checkSupportURL accepts an empty SUPPORT_URL, an absolute http(s) URL or a mailto: address:
// the links a browser opens from the owner's pages (html/template would blank anything else).
func checkSupportURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("SUPPORT_URL: %w", err)
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "":
		return nil
	case u.Scheme == "mailto" && strings.Contains(u.Opaque, "@"):
		return nil
	}
	return fmt.Errorf("SUPPORT_URL: want an https:// link or a mailto: address, got %q", raw)
}

// secretKeys reads SECRET_KEYS (comma-separated, newest first: the first seals, all open) or
// SECRET_KEY; both may be set while a rotation rolls out (SECRET_KEY then joins the list).
func (c *Config) secretKeys() error {
	list := os.Getenv("SECRET_KEYS")
	if list == "" {
		var err error
		c.SecretKey, err = c.key("SECRET_KEY", "secret.key")
		return err
	}
	var keys [][]byte
	for i, part := range strings.Split(list, ",") {
		k, err := secretbox.KeyFromBase64(part)
		if err != nil {
			return fmt.Errorf("SECRET_KEYS: key %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if v := os.Getenv("SECRET_KEY"); v != "" {
		k, err := secretbox.KeyFromBase64(v)
		if err != nil {
			return fmt.Errorf("SECRET_KEY: %w", err)
		}
		if !slices.ContainsFunc(keys, func(x []byte) bool { return bytes.Equal(x, k) }) {
			keys = append(keys, k)
		}
	}
	c.SecretKey, c.PreviousSecretKeys = keys[0], keys[1:]
	return nil
}

// SecretKeys are every key, newest first.
func (c *Config) SecretKeys() [][]byte {
	return append([][]byte{c.SecretKey}, c.PreviousSecretKeys...)
}

// key reads a base64 32-byte key from the environment; in demo mode a missing key is created
// once in the data folder so that a second `make dev` can still read what the first stored.
func (c *Config) key(name, file string) ([]byte, error) {
	if v := os.Getenv(name); v != "" {
		k, err := secretbox.KeyFromBase64(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return k, nil
	}
	if !c.Demo {
		return nil, fmt.Errorf("%s is required outside demo mode (32 random bytes, base64)", name)
	}
	path := filepath.Join(c.DataDir, file)
	if b, err := os.ReadFile(path); err == nil {
		return secretbox.KeyFromBase64(strings.TrimSpace(string(b)))
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
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
