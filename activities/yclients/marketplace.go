package yclients

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Integration (connection) statuses of an application in a salon. Note YClients' spelling
// "freezed".
const (
	StatusPending     = "pending"
	StatusActive      = "active"
	StatusFreezed     = "freezed"
	StatusUninstalled = "uninstalled"
)

// IntegrationStatus is the state of our application in one salon.
type IntegrationStatus struct {
	// Status is pending, active, freezed or uninstalled.
	Status string
	// CreatedAt is when the application-salon link was created.
	CreatedAt time.Time
	// Logs are the status transitions, oldest first as YClients sends them.
	Logs []StatusLog
}

// StatusLog is one status transition of the application-salon link.
type StatusLog struct {
	ChangedAt  time.Time
	StatusFrom string
	StatusTo   string
	Source     string // "marketplace" (owner or YClients) or "partner_api" (us)
}

// CallbackRequest activates the integration after the owner registered with us.
type CallbackRequest struct {
	// SalonID is the salon (branch) the owner connected.
	SalonID int64
	// APIKey is the key YClients uses for our notification channel. Secret: never logged.
	APIKey string
	// WebhookURLs receive entity events (records, clients, ...). Always sent as a JSON array.
	WebhookURLs []string
}

// CallbackResult is YClients' answer to a successful activation callback.
type CallbackResult struct {
	// StatusCode is 301 or 302 (documented), 200 or 201.
	StatusCode int
	// Location is where YClients wanted to send the browser; the redirect is never followed.
	Location string
}

// IntegrationStatus returns the connection status of our application in the salon:
// GET /marketplace/salon/{salon_id}/application/{application_id}.
func (c *Client) IntegrationStatus(ctx context.Context, salonID int64) (IntegrationStatus, error) {
	var w struct {
		Logs []struct {
			ChangedAt  FlexTime   `json:"changed_at"`
			StatusFrom FlexString `json:"status_from"`
			StatusTo   FlexString `json:"status_to"`
			Source     FlexString `json:"source"`
		} `json:"logs"`
		ConnectionStatus json.RawMessage `json:"connection_status"`
	}
	path := fmt.Sprintf("/marketplace/salon/%d/application/%d", salonID, c.appID)
	if err := c.getData(ctx, path, nil, &w); err != nil {
		return IntegrationStatus{}, err
	}
	var st IntegrationStatus
	// connection_status is documented as an object; accept a bare string too.
	var conn struct {
		Status    FlexString `json:"status"`
		CreatedAt FlexTime   `json:"created_at"`
	}
	if ok, err := decodeObject(w.ConnectionStatus, &conn); err != nil {
		return IntegrationStatus{}, fmt.Errorf("yclients: GET %s: connection_status: %w", path, err)
	} else if ok {
		st.Status, st.CreatedAt = string(conn.Status), conn.CreatedAt.Time
	} else {
		var s FlexString
		if err := s.UnmarshalJSON(w.ConnectionStatus); err == nil {
			st.Status = string(s)
		}
	}
	for _, l := range w.Logs {
		st.Logs = append(st.Logs, StatusLog{
			ChangedAt: l.ChangedAt.Time, StatusFrom: string(l.StatusFrom),
			StatusTo: string(l.StatusTo), Source: string(l.Source),
		})
	}
	return st, nil
}

// ActivationCallback activates the integration in the salon:
// POST /marketplace/partner/callback/redirect. 301, 302, 200 and 201 are success; the 301 is
// never followed (following it POST→GET lands on an HTML page and looked like a failure to
// others). A repeated call for an active integration fails with IsAlreadyInstalled; callers
// check IntegrationStatus first and treat "already installed" as success.
func (c *Client) ActivationCallback(ctx context.Context, req CallbackRequest) (CallbackResult, error) {
	const path = "/marketplace/partner/callback/redirect"
	if req.SalonID <= 0 {
		return CallbackResult{}, fmt.Errorf("yclients: POST %s: salon id %d is not positive", path, req.SalonID)
	}
	if req.APIKey == "" {
		return CallbackResult{}, fmt.Errorf("yclients: POST %s: api_key is required", path)
	}
	urls := req.WebhookURLs
	if urls == nil {
		urls = []string{} // must be an array, never null or {}
	}
	body := struct {
		SalonID       int64    `json:"salon_id"`
		ApplicationID int64    `json:"application_id"`
		APIKey        string   `json:"api_key"`
		WebhookURLs   []string `json:"webhook_urls"`
	}{req.SalonID, c.appID, req.APIKey, urls}
	success := func(s int) bool {
		switch s {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusOK, http.StatusCreated:
			return true
		}
		return false
	}
	cl := call{method: http.MethodPost, path: path, body: body, ok: success, secrets: []string{req.APIKey}}
	resp, err := c.send(ctx, cl)
	if err != nil {
		return CallbackResult{}, err
	}
	if !success(resp.status) {
		return CallbackResult{}, fmt.Errorf("yclients: POST %s: %w", path, c.apiError(resp, req.APIKey))
	}
	return CallbackResult{StatusCode: resp.status, Location: resp.header.Get("Location")}, nil
}
