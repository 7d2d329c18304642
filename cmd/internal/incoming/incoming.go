// Package incoming handles the messages clients write to a salon's linked WhatsApp number. The
// worker that owns the salon's connection receives them. An opt-out word («стоп»,
// «отписаться», STOP) marks the client opted out for that salon and «старт» (START) takes it
// back, each answered once; a reply texts.ParseReply recognises («1», «да», «не смогу», a
// score) goes to the client's client-reply workflow, which matches it to what we asked.
// Anything else is left to the salon, which sees the chat on its own phone.
package incoming

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"github.com/aiadmin/aiadmin/workflows"
)

// callTimeout bounds the hand-over of a reply to Temporal: the handler runs on the WhatsApp
// client's goroutine.
const callTimeout = 10 * time.Second

// Workflows is the part of the Temporal client that hands replies on.
type Workflows interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID string, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
}

// Options configure a Handler.
type Options struct {
	Store  *db.Store
	Ledger *ledger.Ledger // answers «стоп» and «старт»
	// Temporal and TaskQueue start the client-reply workflows; without Temporal, replies other
	// than «стоп» and «старт» are left to the salon.
	Temporal  Workflows
	TaskQueue string
	// RefKey keys ClientRef, which names a client in workflow IDs without their phone.
	RefKey []byte
	Logger *slog.Logger // nil: slog.Default()
}

// Handler handles incoming client messages.
type Handler struct {
	o Options
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Handler{o: o}
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

// ClientRef names a client of a salon in workflow IDs: a keyed hash of the salon and phone,
// the same for every process with the same key, from which the phone cannot be read back.
func ClientRef(key []byte, salonID int64, phone string) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "aiadmin-client-ref\x00%d\x00%s", salonID, phone)
	return hex.EncodeToString(mac.Sum(nil))[:20]
}

// Handle processes one message: «стоп» and «старт» are stored and answered once per change;
// a recognised reply is handed to the client-reply workflow; anything else is left alone.
func (h *Handler) Handle(ctx context.Context, m whatsapp.Incoming) error {
	r := texts.ParseReply(m.Text)
	switch {
	case IsOptOut(m.Text) || r.Kind == texts.ReplyStop:
		return h.optOut(ctx, m)
	case r.Kind == texts.ReplyStart:
		return h.optIn(ctx, m)
	case r.Kind == texts.ReplyConfirm, r.Kind == texts.ReplyDecline, r.Kind == texts.ReplyNumber:
		return h.reply(ctx, m, r)
	}
	return nil
}

// optOut stores the opt-out and answers it once per opt-out (its time is the ledger key).
func (h *Handler) optOut(ctx context.Context, m whatsapp.Incoming) error {
	phone, err := whatsapp.NormalizePhone(m.From)
	if err != nil {
		return err
	}
	since, err := h.o.Store.InsertOptOut(ctx, sqlc.InsertOptOutParams{SalonID: m.SalonID, Phone: phone, Text: m.Text})
	if db.IsNotFound(err) { // opted out before: the same answer, which the ledger sends once
		since, err = h.o.Store.OptOutSince(ctx, sqlc.OptOutSinceParams{SalonID: m.SalonID, Phone: phone})
	}
	if err != nil {
		return fmt.Errorf("store opt-out: %w", err)
	}
	h.o.Logger.InfoContext(ctx, "client opted out", "salonID", m.SalonID)
	return h.answer(ctx, m.SalonID, phone, texts.OptOutAck, since)
}

// optIn takes back an opt-out («старт») and answers it once; from a client who had not opted
// out it is left to the salon.
func (h *Handler) optIn(ctx context.Context, m whatsapp.Incoming) error {
	phone, err := whatsapp.NormalizePhone(m.From)
	if err != nil {
		return err
	}
	since, err := h.o.Store.DeleteOptOut(ctx, sqlc.DeleteOptOutParams{SalonID: m.SalonID, Phone: phone})
	if db.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove opt-out: %w", err)
	}
	h.o.Logger.InfoContext(ctx, "client opted back in", "salonID", m.SalonID)
	return h.answer(ctx, m.SalonID, phone, texts.StartAck, since)
}

// answer sends the acknowledgement of an opt-out or opt-in once: the ledger key is the
// client (their number as the record) and the opt-out's time.
func (h *Handler) answer(ctx context.Context, salonID int64, phone string, kind texts.Kind, since time.Time) error {
	recordKey, _ := strconv.ParseInt(phone, 10, 64)
	key := ledger.Key{SalonID: salonID, RecordID: recordKey, Kind: kind, VisitTime: since}
	var salon texts.Salon
	if c, err := h.o.Store.GetCompany(ctx, salonID); err == nil {
		salon.Name = c.Title
	}
	text, _ := texts.Render(kind, salon, texts.Visit{}, nil)
	res, err := h.o.Ledger.Send(ctx, key, phone, text)
	if err != nil {
		_, _ = h.o.Ledger.Fail(ctx, key, phone, err)
		return err
	}
	if res.Outcome == ledger.Paused {
		// The acknowledgement is a courtesy: it is not tried again later.
		_, _ = h.o.Ledger.Fail(ctx, key, phone, res.Cause)
		return res.Cause
	}
	return nil
}

// reply hands a recognised reply to the client's client-reply workflow, starting it when it
// is not running. Neither the phone nor the text is logged or put in the workflow ID.
func (h *Handler) reply(ctx context.Context, m whatsapp.Incoming, r texts.Reply) error {
	if h.o.Temporal == nil {
		return nil
	}
	phone, err := whatsapp.NormalizePhone(m.From)
	if err != nil {
		return err
	}
	id := workflows.ReplyID(m.SalonID, ClientRef(h.o.RefKey, m.SalonID, phone))
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err = h.o.Temporal.SignalWithStartWorkflow(cctx, id, workflows.SignalClientReply,
		workflows.ClientReply{MessageID: m.ID, Kind: r.Kind, Number: r.Number, At: m.At},
		client.StartWorkflowOptions{ID: id, TaskQueue: h.o.TaskQueue,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.SearchAttrSalonID.ValueSet(strconv.FormatInt(m.SalonID, 10)))},
		workflows.ClientReplyWorkflowName, workflows.ClientReplyInput{SalonID: m.SalonID, Phone: phone})
	if err != nil {
		return fmt.Errorf("hand reply to %s: %w", id, err)
	}
	h.o.Logger.InfoContext(ctx, "client reply handed on", "salonID", m.SalonID, "reply", r.Kind, "workflowID", id)
	return nil
}
