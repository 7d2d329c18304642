package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/inbox"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// maxEntityBody bounds an entity webhook's body; a record with its client and services is a
// few kilobytes.
const maxEntityBody = 1 << 20

// ErrMalformedWebhook is returned (wrapped) by an EntityInbox for a body that is not a
// webhook envelope: answered 400.
var ErrMalformedWebhook = yclients.ErrMalformedWebhook

// ErrWrongSecret is returned by an EntityInbox when the URL secret is not the salon's (or the
// salon has none: unknown, uninstalled): answered 403.
var ErrWrongSecret = inbox.ErrWrongSecret

// EntityInbox makes YClients entity webhooks durable.
type EntityInbox interface {
	// Receive checks the per-salon URL secret and stores the raw body, both in one
	// statement; once it returns nil the webhook is durable. A wrong secret gives
	// ErrWrongSecret, a body that is not an envelope an error wrapping ErrMalformedWebhook
	// (checked before anything goes to the database).
	Receive(ctx context.Context, salonID int64, secret string, headers map[string]string, body []byte) (int64, error)
	// VerifySecret checks the per-salon URL secret alone (against its stored hash, in
	// constant time): asked only when a body is refused, so that a caller without the secret
	// learns nothing about bodies.
	VerifySecret(ctx context.Context, salonID int64, secret string) (bool, error)
}

// StoreInbox is the EntityInbox on the webhook_inbox table: one statement checks the secret's
// hash against salon_secrets and stores the raw body with the envelope's routing fields; the
// inbox dispatcher hands the rows to Temporal.
type StoreInbox struct {
	Store *db.Store
	// Batch, when set, puts concurrent requests into one statement and one commit (group
	// commit); nil: each request runs the statement alone.
	Batch *inbox.Batcher
}

// Receive implements EntityInbox.
func (s StoreInbox) Receive(ctx context.Context, salonID int64, secret string, headers map[string]string, body []byte) (int64, error) {
	e, err := entry(salonID, headers, body)
	if err != nil {
		return 0, err
	}
	if secret == "" {
		return 0, ErrWrongSecret
	}
	e.SecretHash = inbox.SecretHash(secret)
	if s.Batch != nil {
		return s.Batch.Save(ctx, e)
	}
	return inbox.Receive(ctx, s.Store, e)
}

// VerifySecret implements EntityInbox.
func (s StoreInbox) VerifySecret(ctx context.Context, salonID int64, secret string) (bool, error) {
	return s.Store.VerifyWebhookSecret(ctx, salonID, secret)
}

// Save stores a body without any secret, for callers that have checked it themselves (tests
// and tools feeding the inbox); once it returns nil the webhook is durable.
func (s StoreInbox) Save(ctx context.Context, salonID int64, headers map[string]string, body []byte) (int64, error) {
	e, err := entry(salonID, headers, body)
	if err != nil {
		return 0, err
	}
	return s.Store.InsertInbox(ctx, sqlc.InsertInboxParams{SalonID: salonID, Headers: e.Headers, Body: body,
		Resource: e.Resource, ResourceID: e.ResourceID, EventStatus: e.EventStatus})
}

// entry parses the envelope into an inbox entry (without the secret).
func entry(salonID int64, headers map[string]string, body []byte) (inbox.Entry, error) {
	wh, resourceID, err := yclients.ParseEnvelope(body)
	if err != nil {
		return inbox.Entry{}, err
	}
	h, _ := json.Marshal(headers)
	return inbox.Entry{SalonID: salonID, Headers: h, Body: body, Resource: wh.Resource, ResourceID: resourceID,
		EventStatus: wh.Status}, nil
}

// entityHandler serves POST /webhook/yclients/:salon_id/:secret, the URL passed to YClients
// at activation. It calls no YClients API and does not need Temporal: the row in the inbox is
// the promise, the dispatcher hands it to Temporal later.
type entityHandler struct {
	inbox      EntityInbox
	hmacSecret []byte // optional: X-Webhook-Signature / X-Yclients-Signature = hex HMAC-SHA256 of the body
	log        *slog.Logger
}

func (h *entityHandler) receive(c *gin.Context) {
	salonID, err := parseSalonID(c.Param("salon_id"))
	if err != nil {
		abort(c, err)
		return
	}
	secret := c.Param("secret")
	body, err := readBody(c, maxEntityBody)
	if err != nil {
		h.refuse(c, salonID, secret, fail(kindBadRequest, "body too large or unreadable").because(err))
		return
	}
	if len(h.hmacSecret) > 0 && !h.signed(c.Request.Header, body) {
		abort(c, fail(kindForbidden, "bad signature"))
		return
	}
	headers := map[string]string{}
	for _, k := range []string{"Content-Type", "User-Agent"} {
		if v := c.GetHeader(k); v != "" {
			headers[k] = v
		}
	}
	ctx := c.Request.Context()
	// The request's reference ID (the sender's X-Request-Id when sane, else ours): the
	// dispatcher carries it into the booking workflow it signals.
	if id := RequestID(ctx); id != "" {
		headers[RequestIDHeader] = id
	}
	id, err := h.inbox.Receive(ctx, salonID, secret, headers, body)
	switch {
	case errors.Is(err, ErrWrongSecret):
		abort(c, fail(kindForbidden, "forbidden"))
		return
	case errors.Is(err, ErrMalformedWebhook):
		h.refuse(c, salonID, secret, fail(kindBadRequest, "malformed webhook: "+err.Error()))
		return
	case err != nil:
		abort(c, fail(kindUnavailable, "storage unavailable").because(err))
		return
	}
	c.JSON(http.StatusOK, webhookStored{Success: true, ID: id})
}

// webhookStored is the entity webhook's answer once the body is durable.
type webhookStored struct {
	Success bool  `json:"success"`
	ID      int64 `json:"id"`
}

// readBody reads a request's body of at most limit bytes into one buffer of the size the
// request announced (a webhook's Content-Length), instead of growing one as io.ReadAll does.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	r := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	n := c.Request.ContentLength
	if n < 0 || n > limit {
		return io.ReadAll(r)
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead)) // room to see the end without growing
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// refuse answers a request whose body is refused: 403 when its URL secret is wrong as well
// (a caller without the secret learns nothing about bodies), else the refusal.
func (h *entityHandler) refuse(c *gin.Context, salonID int64, secret string, refusal error) {
	valid, err := h.inbox.VerifySecret(c.Request.Context(), salonID, secret)
	switch {
	case err != nil:
		abort(c, fail(kindUnavailable, "storage unavailable").because(err))
	case !valid:
		abort(c, fail(kindForbidden, "forbidden"))
	default:
		abort(c, refusal)
	}
}

func (h *entityHandler) signed(hdr http.Header, body []byte) bool {
	got := hdr.Get("X-Webhook-Signature")
	if got == "" {
		got = hdr.Get("X-Yclients-Signature")
	}
	got = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(got)), "sha256=")
	want, err := hex.DecodeString(got)
	if err != nil || len(want) == 0 {
		return false
	}
	mac := hmac.New(sha256.New, h.hmacSecret)
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), want)
}
