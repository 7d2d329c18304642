// Package inbox makes YClients entity webhooks durable and hands them to Temporal: Intake
// stores the raw body before the HTTP answer; Dispatcher moves stored rows, in order, into
// the per-record booking workflows.
package inbox

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Envelope is the entity webhook as YClients sends it.
type Envelope struct {
	CompanyID  json.Number     `json:"company_id"`
	Resource   string          `json:"resource"`
	ResourceID json.Number     `json:"resource_id"`
	Status     string          `json:"status"`
	Data       json.RawMessage `json:"data"`
}

// ErrMalformed marks a body that is not a webhook envelope.
var ErrMalformed = errors.New("malformed webhook")

// ParseEnvelope validates the envelope of an entity webhook.
func ParseEnvelope(body []byte) (Envelope, int64, error) {
	var env Envelope
	dec := json.NewDecoder(bytesReader(body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return env, 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if env.Resource == "" {
		return env, 0, fmt.Errorf("%w: no resource", ErrMalformed)
	}
	var id int64
	if env.ResourceID != "" {
		v, err := env.ResourceID.Int64()
		if err != nil {
			return env, 0, fmt.Errorf("%w: resource_id %q", ErrMalformed, env.ResourceID)
		}
		id = v
	}
	switch env.Status {
	case "create", "update", "delete":
	default:
		return env, 0, fmt.Errorf("%w: status %q", ErrMalformed, env.Status)
	}
	return env, id, nil
}

// Intake verifies the per-salon URL secret and stores webhooks.
type Intake struct {
	Store *db.Store
}

// VerifySecret compares the URL secret with the stored hash in constant time.
func (in *Intake) VerifySecret(ctx context.Context, salonID int64, secret string) (bool, error) {
	if secret == "" {
		return false, nil
	}
	s, err := in.Store.GetSalonSecrets(ctx, salonID)
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256([]byte(secret))
	return len(s.WebhookSecretHash) == len(sum) && subtle.ConstantTimeCompare(sum[:], s.WebhookSecretHash) == 1, nil
}

// Save stores the raw body (and the envelope's routing fields) in the inbox; once it
// returns, the webhook is durable.
func (in *Intake) Save(ctx context.Context, salonID int64, headers map[string]string, body []byte) (int64, error) {
	env, resourceID, err := ParseEnvelope(body)
	if err != nil {
		return 0, err
	}
	h, _ := json.Marshal(headers)
	return in.Store.InsertInbox(ctx, sqlc.InsertInboxParams{SalonID: salonID, Headers: h, Body: body,
		Resource: env.Resource, ResourceID: resourceID, EventStatus: env.Status})
}
