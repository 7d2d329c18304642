package httpapi

import (
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
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// maxEntityBody bounds an entity webhook's body; a record with its client and services is a
// few kilobytes.
const maxEntityBody = 1 << 20

// ErrMalformedWebhook is returned (wrapped) by an EntityInbox for a body that is not a
// webhook envelope: answered 400.
var ErrMalformedWebhook = yclients.ErrMalformedWebhook

// EntityInbox makes YClients entity webhooks durable.
type EntityInbox interface {
	// VerifySecret checks the per-salon URL secret (constant time).
	VerifySecret(ctx context.Context, salonID int64, secret string) (bool, error)
	// Save stores the raw body; once it returns nil the webhook is durable. A body that is
	// not an envelope gives an error wrapping ErrMalformedWebhook.
	Save(ctx context.Context, salonID int64, headers map[string]string, body []byte) (int64, error)
}

// StoreInbox is the EntityInbox on the webhook_inbox table: the raw body and the envelope's
// routing fields are stored in one INSERT; the inbox dispatcher hands the rows to Temporal.
type StoreInbox struct {
	Store *db.Store
}

// VerifySecret implements EntityInbox.
func (s StoreInbox) VerifySecret(ctx context.Context, salonID int64, secret string) (bool, error) {
	return s.Store.VerifyWebhookSecret(ctx, salonID, secret)
}

// Save implements EntityInbox.
func (s StoreInbox) Save(ctx context.Context, salonID int64, headers map[string]string, body []byte) (int64, error) {
	wh, resourceID, err := yclients.ParseWebhook(body)
	if err != nil {
		return 0, err
	}
	h, _ := json.Marshal(headers)
	return s.Store.InsertInbox(ctx, sqlc.InsertInboxParams{SalonID: salonID, Headers: h, Body: body,
		Resource: wh.Resource, ResourceID: resourceID, EventStatus: wh.Status})
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
	ctx := c.Request.Context()
	valid, err := h.inbox.VerifySecret(ctx, salonID, c.Param("secret"))
	if err != nil {
		abort(c, fail(kindUnavailable, "storage unavailable").because(err))
		return
	}
	if !valid {
		abort(c, fail(kindForbidden, "forbidden"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxEntityBody))
	if err != nil {
		abort(c, fail(kindBadRequest, "body too large or unreadable").because(err))
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
	// The request's reference ID (the sender's X-Request-Id when sane, else ours): the
	// dispatcher carries it into the booking workflow it signals.
	if id := RequestID(ctx); id != "" {
		headers[RequestIDHeader] = id
	}
	id, err := h.inbox.Save(ctx, salonID, headers, body)
	switch {
	case errors.Is(err, ErrMalformedWebhook):
		abort(c, fail(kindBadRequest, "malformed webhook: "+err.Error()))
		return
	case err != nil:
		abort(c, fail(kindUnavailable, "storage unavailable").because(err))
		return
	}
	c.JSON(http.StatusOK, gin.H{"success": true, "id": id})
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
