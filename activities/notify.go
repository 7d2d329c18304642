package activities

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

// OpsNotifier records operator alerts in ops_alerts (shown by the health endpoint), logs
// them, and, when WebhookURL is set, posts them as JSON there.
type OpsNotifier struct {
	Store      *db.Store
	Logger     *slog.Logger
	WebhookURL string
	// OwnerWebhookURL receives messages for salon owners (the re-link link) as JSON; it is
	// the second channel beside WhatsApp, which is exactly what broke when a phone unlinks.
	OwnerWebhookURL string
	HTTP            *http.Client
}

// OwnerNotice is a message for a salon's owner. URL carries a signed token: it is posted
// to the owner channel only, never logged.
type OwnerNotice struct {
	SalonID int64
	Kind    string
	Message string
	URL     string
}

// NotifyOwner delivers a notice to the salon's owner through the owner webhook, and logs
// that it did (without the URL).
func (n *OpsNotifier) NotifyOwner(ctx context.Context, in OwnerNotice) error {
	log := n.Logger
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "owner notice", "salonID", in.SalonID, "kind", in.Kind, "delivered", n.OwnerWebhookURL != "")
	if n.OwnerWebhookURL == "" {
		return nil
	}
	return n.post(ctx, n.OwnerWebhookURL, map[string]any{
		"salon_id": in.SalonID, "kind": in.Kind, "message": in.Message, "url": in.URL,
		"at": time.Now().UTC().Format(time.RFC3339),
	})
}

// Notify implements Notifier.
func (n *OpsNotifier) Notify(ctx context.Context, in NotifyInput) error {
	log := n.Logger
	if log == nil {
		log = slog.Default()
	}
	level := slog.LevelInfo
	switch in.Level {
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	log.Log(ctx, level, "ops alert", "salonID", in.SalonID, "kind", in.Kind, "message", in.Message)
	salon := in.SalonID
	if _, err := n.Store.InsertOpsAlert(ctx, sqlc.InsertOpsAlertParams{
		SalonID: &salon, Level: in.Level, Kind: in.Kind, Message: in.Message,
	}); err != nil {
		return fmt.Errorf("store ops alert: %w", err)
	}
	if n.WebhookURL == "" {
		return nil
	}
	return n.post(ctx, n.WebhookURL, map[string]any{
		"salon_id": in.SalonID, "level": in.Level, "kind": in.Kind, "message": in.Message,
		"at": time.Now().UTC().Format(time.RFC3339),
	})
}

func (n *OpsNotifier) post(ctx context.Context, url string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	hc := n.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("notify webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("notify webhook answered %d", resp.StatusCode)
	}
	return nil
}
