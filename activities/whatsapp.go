package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/wameow"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Ledger kinds.
const (
	KindWelcome = "welcome"
)

// epoch is the ledger's visit_time for messages that belong to no visit.
var epoch = time.Unix(0, 0).UTC()

// SendWelcome sends the welcome message to the salon's linked number exactly once: the
// ledger row (salon, 0, welcome, epoch) is created with its WhatsApp message ID before the
// send, so a retry reuses the ID and a finished row is never sent again.
func (a *Activities) SendWelcome(ctx context.Context, in WelcomeInput) (WelcomeOutput, error) {
	text := WelcomeText(in.SalonName)
	row, err := a.Store.InsertMessage(ctx, sqlc.InsertMessageParams{
		SalonID: in.SalonID, Kind: KindWelcome, VisitTime: epoch, Phone: in.Phone,
		WAMessageID: NewMessageID(), Body: text,
	})
	if errors.Is(db.NotFound(err), db.ErrNotFound) {
		row, err = a.Store.GetMessageByKey(ctx, sqlc.GetMessageByKeyParams{
			SalonID: in.SalonID, Kind: KindWelcome, VisitTime: epoch,
		})
	}
	if err != nil {
		return WelcomeOutput{}, fmt.Errorf("welcome ledger: %w", err)
	}
	if row.Status == "sent" || row.Status == "failed" || row.Status == "skipped" {
		return WelcomeOutput{Already: true}, nil
	}
	if _, err := a.WhatsApp.Send(ctx, in.SalonID, whatsapp.Message{ID: row.WAMessageID, Phone: row.Phone, Text: row.Body}); err != nil {
		cerr := classify(err)
		if errors.Is(err, whatsapp.ErrInvalidPhone) || errors.Is(err, whatsapp.ErrNotOnWhatsApp) ||
			errors.Is(err, whatsapp.ErrReachoutLimited) || errors.Is(err, whatsapp.ErrNotLinked) {
			_, _ = a.Store.MarkMessageFailed(ctx, sqlc.MarkMessageFailedParams{ID: row.ID, Reason: err.Error()})
		}
		return WelcomeOutput{}, cerr
	}
	now := a.now()
	if err := a.Store.MarkMessageSent(context.WithoutCancel(ctx), sqlc.MarkMessageSentParams{ID: row.ID, SentAt: &now}); err != nil {
		return WelcomeOutput{}, fmt.Errorf("mark welcome sent: %w", err)
	}
	return WelcomeOutput{Sent: true}, nil
}

// WelcomeText is the message the salon's own number receives after activation.
func WelcomeText(salonName string) string {
	name := texts.SalonName(salonName)
	if name == "" {
		return "Здравствуйте! AI Admin подключён. С этого номера клиенты салона будут получать " +
			"подтверждения записей, напоминания и уведомления об изменениях. Отвечать на это сообщение не нужно."
	}
	return fmt.Sprintf("Здравствуйте! AI Admin подключён к салону «%s». С этого номера клиенты будут получать "+
		"подтверждения записей, напоминания и уведомления об изменениях. Отвечать на это сообщение не нужно.", name)
}

// NewMessageID generates a WhatsApp message ID in the format WhatsApp Web uses (hex, 3EB0
// prefix), stored in the ledger before sending.
func NewMessageID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "3EB0" + strings.ToUpper(hex.EncodeToString(b))
}

// Disconnect closes the salon's live WhatsApp connection and keeps its credentials (freeze).
func (a *Activities) Disconnect(ctx context.Context, in SalonRef) error {
	err := a.WhatsApp.Disconnect(ctx, in.SalonID)
	if errors.Is(err, whatsapp.ErrNotLinked) {
		return nil
	}
	return classify(err)
}

// Reconnect connects again with the kept credentials, without a new scan (unfreeze).
func (a *Activities) Reconnect(ctx context.Context, in SalonRef) error {
	return classify(a.WhatsApp.Reconnect(ctx, in.SalonID))
}

// Unlink logs the salon's device out and forgets its pairing events (uninstall, expiry).
func (a *Activities) Unlink(ctx context.Context, in SalonRef) error {
	if _, err := a.Store.DeletePairingEvents(ctx, in.SalonID); err != nil {
		return err
	}
	err := a.WhatsApp.Unlink(ctx, in.SalonID)
	switch {
	case errors.Is(err, whatsapp.ErrNotLinked):
		return nil
	case errors.Is(err, wameow.ErrLocalOnly):
		// WhatsApp could not be told: our copy of the device is deleted, but the phone keeps
		// listing it until the owner removes it there.
		_ = a.Notifier.NotifyOwner(ctx, OwnerNotice{SalonID: in.SalonID, Kind: "remove_device",
			Message: "AI Admin отключён от WhatsApp салона. Удалите устройство «AI Admin» на телефоне: " +
				"WhatsApp → Настройки → Связанные устройства."})
		a.log().WarnContext(ctx, "device deleted locally only; owner asked to remove it on the phone", "salonID", in.SalonID)
		return nil
	}
	return classify(err)
}

// KindOptOutAck is the ledger kind of the one acknowledgement of an opt-out.
const KindOptOutAck = "opt_out_ack"

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

// HandleIncoming processes a message a client wrote to a salon's number: an opt-out word
// marks the client opted out for that salon and is answered by one short acknowledgement.
func (a *Activities) HandleIncoming(ctx context.Context, m whatsapp.Incoming) error {
	if !IsOptOut(m.Text) {
		return nil
	}
	phone, err := whatsapp.NormalizePhone(m.From)
	if err != nil {
		return err
	}
	if _, err := a.Store.InsertOptOut(ctx, sqlc.InsertOptOutParams{SalonID: m.SalonID, Phone: phone, Text: m.Text}); err != nil &&
		!errors.Is(db.NotFound(err), db.ErrNotFound) {
		return fmt.Errorf("store opt-out: %w", err)
	}
	a.log().InfoContext(ctx, "client opted out", "salonID", m.SalonID)
	recordKey, _ := strconv.ParseInt(phone, 10, 64) // one acknowledgement per client and salon
	text, _ := texts.Render(texts.OptOutAck, texts.Salon{}, texts.Visit{}, nil)
	row, err := a.ledger(ctx, sqlc.GetMessageByKeyParams{SalonID: m.SalonID, RecordID: recordKey, Kind: KindOptOutAck, VisitTime: epoch}, phone, text)
	if err != nil || row.Status != "queued" {
		return err
	}
	if _, err := a.WhatsApp.Send(ctx, m.SalonID, whatsapp.Message{ID: row.WAMessageID, Phone: phone, Text: row.Body}); err != nil {
		_, _ = a.Store.MarkMessageFailed(ctx, sqlc.MarkMessageFailedParams{ID: row.ID, Reason: err.Error()})
		return err
	}
	now := a.now()
	return a.Store.MarkMessageSent(ctx, sqlc.MarkMessageSentParams{ID: row.ID, SentAt: &now})
}
