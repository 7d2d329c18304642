package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// SalonProfile is what we know of a salon from YClients: its texts are signed with it.
type SalonProfile struct {
	Title    string
	Address  string
	Phone    string
	Timezone string
}

// SendActivity is a salon's sending since the start of its day.
type SendActivity struct {
	SentToday     int64
	LastMessageAt *time.Time // the last message sent to a client (or the salon), ever
}

// LoggedMessage is one row of the cabinet's message log. Phone is the recipient's digits:
// mask it before it leaves the server.
type LoggedMessage struct {
	Kind      string
	Status    string // queued, sent, skipped, failed
	Reason    string
	Phone     string
	VisitTime time.Time // zero for messages about no visit
	At        time.Time // when it was sent, or last decided on
}

// CabinetStore is the salon owner's cabinet's data.
type CabinetStore interface {
	// Settings returns the salon's profile and settings (defaults for a salon that never saved
	// any), or an error wrapping ErrUnknownSalon.
	Settings(ctx context.Context, salonID int64) (SalonProfile, CabinetSettings, error)
	// SaveSettings stores every setting; the next message uses them.
	SaveSettings(ctx context.Context, salonID int64, s CabinetSettings) error
	// Activity reports the salon's sending since dayStart.
	Activity(ctx context.Context, salonID int64, dayStart time.Time) (SendActivity, error)
	// Messages returns the salon's newest messages, newest first.
	Messages(ctx context.Context, salonID int64, limit int) ([]LoggedMessage, error)
}

// UpcomingBookings reads a salon's records from YClients (*yclients.Client): the cabinet
// previews texts with the nearest one.
type UpcomingBookings interface {
	Records(ctx context.Context, salonID int64, from, to time.Time) ([]yclients.Record, error)
}

// OwnerChannel delivers notices to a salon owner's second channel (*notify.Notifier).
type OwnerChannel interface {
	NotifyOwner(ctx context.Context, in notify.OwnerNotice) error
}

// StoreCabinet is the CabinetStore on PostgreSQL: salon_settings (with the companies row
// for the defaults) and the messages ledger.
type StoreCabinet struct {
	Store *db.Store
}

// Settings implements CabinetStore.
func (s StoreCabinet) Settings(ctx context.Context, salonID int64) (SalonProfile, CabinetSettings, error) {
	row, err := s.Store.GetSalonSettings(ctx, salonID)
	if db.IsNotFound(err) {
		return SalonProfile{}, CabinetSettings{}, fmt.Errorf("salon %d: %w", salonID, ErrUnknownSalon)
	}
	if err != nil {
		return SalonProfile{}, CabinetSettings{}, err
	}
	out := CabinetSettings{
		SendConfirmation: row.SendConfirmation, SendChange: row.SendChange, SendCancellation: row.SendCancellation,
		SendReminderDay: row.SendReminderDay, ReminderDayBeforeHour: int(row.ReminderDayHour),
		SendReminderBefore: row.SendReminderBefore, ReminderHoursBefore: int(row.ReminderHoursBefore),
		ClientWelcome: row.ClientWelcome, ReviewRequests: row.ReviewRequests,
		ReviewDelayMinutes: int(row.ReviewDelayMinutes), ReviewURL: row.ReviewURL,
		ConfirmByReply: row.ConfirmByReply, ConfirmOnBooking: row.ConfirmOnBooking, DeclineCancels: row.DeclineCancels,
		QuietHours: QuietWindow{From: clockOf(int(row.QuietFromMinute)), To: clockOf(int(row.QuietToMinute))},
		PerMinute:  int(row.PerMinute), DailyCap: int(row.DailyCap), Templates: map[string]string{},
	}
	if len(row.Templates) > 2 {
		if err := json.Unmarshal(row.Templates, &out.Templates); err != nil {
			return SalonProfile{}, CabinetSettings{}, fmt.Errorf("salon %d templates: %w", salonID, err)
		}
	}
	return SalonProfile{Title: row.Title, Address: row.Address, Phone: row.Phone, Timezone: row.Timezone}, out, nil
}

// SaveSettings implements CabinetStore. Blank texts are left out: they mean the standard one.
func (s StoreCabinet) SaveSettings(ctx context.Context, salonID int64, in CabinetSettings) error {
	tmpl := map[string]string{}
	for k, v := range in.Templates {
		if !blank(v) {
			tmpl[k] = v
		}
	}
	raw, err := json.Marshal(tmpl)
	if err != nil {
		return err
	}
	from, _ := minuteOf(in.QuietHours.From)
	to, _ := minuteOf(in.QuietHours.To)
	return s.Store.UpsertCabinetSettings(ctx, sqlc.UpsertCabinetSettingsParams{
		SalonID: salonID, ReminderDayHour: int32(in.ReminderDayBeforeHour), QuietFromMinute: int32(from),
		QuietToMinute: int32(to), PerMinute: int32(in.PerMinute), DailyCap: int32(in.DailyCap),
		ClientWelcome: in.ClientWelcome, Templates: raw, SendConfirmation: in.SendConfirmation,
		SendChange: in.SendChange, SendCancellation: in.SendCancellation, SendReminderDay: in.SendReminderDay,
		SendReminderBefore: in.SendReminderBefore, ReminderHoursBefore: int32(in.ReminderHoursBefore),
		ReviewRequests: in.ReviewRequests, ReviewDelayMinutes: int32(in.ReviewDelayMinutes), ReviewURL: in.ReviewURL,
		ConfirmByReply: in.ConfirmByReply, ConfirmOnBooking: in.ConfirmOnBooking, DeclineCancels: in.DeclineCancels,
	})
}

// Activity implements CabinetStore.
func (s StoreCabinet) Activity(ctx context.Context, salonID int64, dayStart time.Time) (SendActivity, error) {
	n, err := s.Store.CountSentSince(ctx, sqlc.CountSentSinceParams{SalonID: salonID, Since: &dayStart})
	if err != nil {
		return SendActivity{}, err
	}
	out := SendActivity{SentToday: n}
	m, err := s.Store.LastSentMessage(ctx, salonID)
	switch {
	case err == nil:
		out.LastMessageAt = m.SentAt
	case !db.IsNotFound(err):
		return SendActivity{}, err
	}
	return out, nil
}

// Messages implements CabinetStore.
func (s StoreCabinet) Messages(ctx context.Context, salonID int64, limit int) ([]LoggedMessage, error) {
	rows, err := s.Store.ListRecentMessages(ctx, sqlc.ListRecentMessagesParams{SalonID: salonID, MaxRows: int32(limit)})
	if err != nil {
		return nil, err
	}
	out := make([]LoggedMessage, 0, len(rows))
	for _, r := range rows {
		m := LoggedMessage{Kind: r.Kind, Status: r.Status, Reason: r.Reason, Phone: r.Phone, At: r.UpdatedAt}
		if r.SentAt != nil {
			m.At = *r.SentAt
		}
		if r.VisitTime.Unix() != 0 {
			m.VisitTime = r.VisitTime
		}
		out = append(out, m)
	}
	return out, nil
}
