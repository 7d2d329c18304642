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
	HTTP       *http.Client
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
	body, _ := json.Marshal(map[string]any{
		"salon_id": in.SalonID, "level": in.Level, "kind": in.Kind, "message": in.Message,
		"at": time.Now().UTC().Format(time.RFC3339),
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.WebhookURL, bytes.NewReader(body))
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
		return fmt.Errorf("ops webhook: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("ops webhook answered %d", resp.StatusCode)
	}
	return nil
}
