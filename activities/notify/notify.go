// Package notify delivers what people must hear about: operator alerts (stored in ops_alerts for
// the health endpoint, logged, and optionally posted to an ops webhook) and notices for salon
// owners on their second channel (a webhook in front of SMS or e-mail), which still works when
// the salon's WhatsApp is exactly what broke.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Levels of an alert.
const (
	Info  = "info"
	Warn  = "warn"
	Error = "error"
)

// Alert is an operator alert. It is also the notify-ops activity's input.
type Alert struct {
	SalonID int64
	Level   string // Info, Warn or Error
	Kind    string
	Message string
}

// OwnerNotice is a message for a salon's owner. URL may carry a signed token: it is posted to
// the owner channel only, never logged.
type OwnerNotice struct {
	SalonID int64
	Kind    string
	Message string
	URL     string
}

// Config configures a Notifier.
type Config struct {
	Store  *db.Store
	Logger *slog.Logger // nil: slog.Default()
	// WebhookURL optionally receives every operator alert as JSON.
	WebhookURL string
	// OwnerWebhookURL receives owner notices as JSON; without it they are only logged (without
	// their URL).
	OwnerWebhookURL string
	HTTP            *http.Client // nil: a client with a 10 s timeout
}

// Notifier delivers alerts and owner notices.
type Notifier struct {
	store      *db.Store
	log        *slog.Logger
	webhook    string
	ownerHook  string
	httpClient *http.Client
}

// New returns a Notifier.
func New(cfg Config) *Notifier {
	n := &Notifier{store: cfg.Store, log: cfg.Logger, webhook: cfg.WebhookURL, ownerHook: cfg.OwnerWebhookURL, httpClient: cfg.HTTP}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.httpClient == nil {
		n.httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	return n
}

// Notify records an operator alert, logs it and posts it to the ops webhook when one is set.
func (n *Notifier) Notify(ctx context.Context, in Alert) error {
	level := slog.LevelInfo
	switch in.Level {
	case Warn:
		level = slog.LevelWarn
	case Error:
		level = slog.LevelError
	}
	n.log.Log(ctx, level, "ops alert", "salonID", in.SalonID, "kind", in.Kind, "message", in.Message)
	salon := in.SalonID
	if _, err := n.store.InsertOpsAlert(ctx, sqlc.InsertOpsAlertParams{
		SalonID: &salon, Level: in.Level, Kind: in.Kind, Message: in.Message,
	}); err != nil {
		return fmt.Errorf("store ops alert: %w", err)
	}
	if n.webhook == "" {
		return nil
	}
	return n.post(ctx, n.webhook, map[string]any{
		"salon_id": in.SalonID, "level": in.Level, "kind": in.Kind, "message": in.Message,
		"at": time.Now().UTC().Format(time.RFC3339),
	})
}

// NotifyOwner delivers a notice to the salon's owner through the owner webhook, and logs that
// it did (without the URL).
func (n *Notifier) NotifyOwner(ctx context.Context, in OwnerNotice) error {
	n.log.InfoContext(ctx, "owner notice", "salonID", in.SalonID, "kind", in.Kind, "delivered", n.ownerHook != "")
	if n.ownerHook == "" {
		return nil
	}
	return n.post(ctx, n.ownerHook, map[string]any{
		"salon_id": in.SalonID, "kind": in.Kind, "message": in.Message, "url": in.URL,
		"at": time.Now().UTC().Format(time.RFC3339),
	})
}

func (n *Notifier) post(ctx context.Context, url string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("notify webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("notify webhook answered %d", resp.StatusCode)
	}
	return nil
}
