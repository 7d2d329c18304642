package yclients

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Webhook is an entity webhook as YClients posts it to the webhook_urls given at activation:
// {"company_id":…,"resource":"record","resource_id":…,"status":"create","data":{…}}.
type Webhook struct {
	Envelope
	Data json.RawMessage `json:"data"`
}

// ErrMalformedWebhook marks a body that is not an entity webhook.
var ErrMalformedWebhook = errors.New("malformed webhook")

// Envelope is an entity webhook's routing part: the Webhook without its data.
type Envelope struct {
	CompanyID  json.Number `json:"company_id"`
	Resource   string      `json:"resource"`
	ResourceID json.Number `json:"resource_id"`
	Status     string      `json:"status"`
}

// ParseWebhook validates an entity webhook's envelope and returns it with its resource ID (0
// when absent). IDs may be numbers or strings, as YClients sends both. A NUL character in the
// routing fields is refused: PostgreSQL's text columns cannot hold it, and a body that cannot
// be stored must be answered 400, not retried forever.
func ParseWebhook(body []byte) (Webhook, int64, error) {
	wh, err := scanWebhook(body, true)
	if err != nil {
		if wh, err = decodeWebhook(body); err != nil {
			return wh, 0, err
		}
	}
	id, err := wh.check()
	return wh, id, err
}

// decodeWebhook is encoding/json's reading of a webhook, which defines what ParseWebhook
// takes: scanWebhook reads the plain bodies faster, the same way.
func decodeWebhook(body []byte) (Webhook, error) { return decodeStrict[Webhook](body) }

// decodeEnvelope is encoding/json's reading of an envelope (see decodeWebhook).
func decodeEnvelope(body []byte) (Envelope, error) { return decodeStrict[Envelope](body) }

// decodeStrict decodes body with encoding/json; any error is a malformed webhook.
func decodeStrict[T any](body []byte) (T, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("%w: %v", ErrMalformedWebhook, err)
	}
	return v, nil
}

// ParseEnvelope is ParseWebhook for a caller that needs only the routing fields (the intake,
// which stores the raw body): it accepts and refuses exactly the same bodies, and copies no
// data out of them.
func ParseEnvelope(body []byte) (Envelope, int64, error) {
	wh, err := scanWebhook(body, false)
	env := wh.Envelope
	if err != nil {
		if env, err = decodeEnvelope(body); err != nil {
			return env, 0, err
		}
	}
	id, err := env.check()
	return env, id, err
}

// check validates the routing fields and returns the resource ID (0 when absent).
func (wh Envelope) check() (int64, error) {
	if wh.Resource == "" {
		return 0, fmt.Errorf("%w: no resource", ErrMalformedWebhook)
	}
	if strings.ContainsRune(wh.Resource, 0) {
		return 0, fmt.Errorf("%w: NUL in resource", ErrMalformedWebhook)
	}
	if !resourceName(wh.Resource) {
		return 0, fmt.Errorf("%w: resource %q", ErrMalformedWebhook, truncate(wh.Resource, 40))
	}
	var id int64
	if wh.ResourceID != "" {
		v, err := wh.ResourceID.Int64()
		if err != nil {
			return 0, fmt.Errorf("%w: resource_id %q", ErrMalformedWebhook, wh.ResourceID)
		}
		id = v
	}
	switch wh.Status {
	case "create", "update", "delete":
	default:
		return 0, fmt.Errorf("%w: status %q", ErrMalformedWebhook, wh.Status)
	}
	if (wh.Resource == "record" || wh.Resource == "client") && id <= 0 {
		return 0, fmt.Errorf("%w: %s without a resource_id", ErrMalformedWebhook, wh.Resource)
	}
	return id, nil
}

// WebhookClient is the part of a client webhook's data that AI Admin keeps.
type WebhookClient struct {
	ID    int64
	Name  string
	Phone string
}

// ErrNoClient is returned by DecodeClient for data without a client ID.
var ErrNoClient = errors.New("no client in webhook")

// DecodeClient decodes the data of a client webhook.
func DecodeClient(data []byte) (WebhookClient, error) {
	var w struct {
		ID    FlexInt    `json:"id"`
		Name  FlexString `json:"name"`
		Phone FlexString `json:"phone"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return WebhookClient{}, err
	}
	if w.ID == 0 {
		return WebhookClient{}, ErrNoClient
	}
	return WebhookClient{ID: int64(w.ID), Name: string(w.Name), Phone: string(w.Phone)}, nil
}

// resourceName reports a YClients resource name: lowercase latin words joined by underscores
// (record, client, goods_operations_sale, ...), at most 64 bytes.
func resourceName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '_' {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}
