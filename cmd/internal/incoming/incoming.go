// Package incoming handles the messages clients write to a salon's linked WhatsApp number. The
// worker that owns the salon's connection receives them; an opt-out word («стоп»,
// «отписаться», STOP) marks the client opted out for that salon and is answered once.
package incoming

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Handler handles incoming client messages.
type Handler struct {
	store  *db.Store
	ledger *ledger.Ledger
	log    *slog.Logger
}

// New returns a Handler that records opt-outs in store and answers through l.
func New(store *db.Store, l *ledger.Ledger, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{store: store, ledger: l, log: log}
}

// IsOptOut reports whether a client's message asks to stop messages («стоп», «отписаться»,
// "STOP"), ignoring case, spaces and punctuation around the word.
func IsOptOut(text string) bool {
	w := strings.ToLower(strings.Trim(strings.TrimSpace(text), ".!,;:-—«»\"' \n\t"))
	switch w {
	case "стоп", "отписаться", "stop", "отписка", "unsubscribe":
		return true
	}
	return false
}

// Handle processes one message: an opt-out is stored and acknowledged once per client and
// salon; anything else is left to the salon, which sees the chat on its own phone.
func (h *Handler) Handle(ctx context.Context, m whatsapp.Incoming) error {
	if !IsOptOut(m.Text) {
		return nil
	}
	phone, err := whatsapp.NormalizePhone(m.From)
	if err != nil {
		return err
	}
	_, err = h.store.InsertOptOut(ctx, sqlc.InsertOptOutParams{SalonID: m.SalonID, Phone: phone, Text: m.Text})
	if _, err := db.Inserted(err); err != nil {
		return fmt.Errorf("store opt-out: %w", err)
	}
	h.log.InfoContext(ctx, "client opted out", "salonID", m.SalonID)
	recordKey, _ := strconv.ParseInt(phone, 10, 64) // one acknowledgement per client and salon
	key := ledger.Key{SalonID: m.SalonID, RecordID: recordKey, Kind: texts.OptOutAck, VisitTime: ledger.Epoch}
	text, _ := texts.Render(texts.OptOutAck, texts.Salon{}, texts.Visit{}, nil)
	res, err := h.ledger.Send(ctx, key, phone, text)
	if err != nil {
		_, _ = h.ledger.Fail(ctx, key, phone, err)
		return err
	}
	if res.Outcome == ledger.Paused {
		// The acknowledgement is a courtesy: it is not tried again later.
		_, _ = h.ledger.Fail(ctx, key, phone, res.Cause)
		return res.Cause
	}
	return nil
}
