package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/salontime"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// messageLogSize is how many of a salon's newest messages the log shows.
const messageLogSize = 200

// loggedView is one message of the log as the page shows it: no text, the phone masked.
type loggedView struct {
	Kind       string    `json:"kind"`
	Title      string    `json:"title"`
	At         time.Time `json:"at"`
	AtText     string    `json:"at_text"`     // «сегодня, 14:30», salon time
	Visit      string    `json:"visit"`       // the visit it is about, «12.12, 14:30»; "" for none
	Status     string    `json:"status"`      // queued, sent, skipped, failed
	StatusText string    `json:"status_text"` // Russian
	Reason     string    `json:"reason"`      // as recorded: opted_out, turned_off, …
	ReasonText string    `json:"reason_text"` // Russian
	Phone      string    `json:"phone"`       // «+7 916 •••-••-67»
}

// messages answers the salon's last messageLogSize messages, newest first.
func (h *cabinetHandler) messages(c *gin.Context) {
	salonID := sessionOf(c).claims.SalonID
	profile, _, err := h.store.Settings(c.Request.Context(), salonID)
	if err != nil {
		abort(c, err)
		return
	}
	rows, err := h.store.Messages(c.Request.Context(), salonID, messageLogSize)
	if err != nil {
		abort(c, err)
		return
	}
	loc, _ := salontime.Location(profile.Timezone)
	now := h.now()
	out := make([]loggedView, 0, len(rows))
	for _, m := range rows {
		v := loggedView{Kind: m.Kind, Title: kindTitle(m.Kind), At: m.At.UTC(), AtText: humanTime(m.At, now, loc),
			Status: m.Status, StatusText: statusTexts[m.Status], Reason: m.Reason, ReasonText: reasonText(m.Reason),
			Phone: MaskPhone(m.Phone)}
		if !m.VisitTime.IsZero() {
			v.Visit = shortTime(m.VisitTime, loc)
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"messages": out})
}

var statusTexts = map[string]string{
	"queued":  "отправляется",
	"sent":    "отправлено",
	"skipped": "не отправлено",
	"failed":  "ошибка",
}

// kindTitle names a message kind in the log.
func kindTitle(kind string) string {
	for _, k := range texts.Kinds() {
		if string(k.Kind) == kind {
			if k.Kind == texts.Reminder2h {
				return "Напоминание перед визитом"
			}
			return k.Title
		}
	}
	switch texts.Kind(kind) {
	case texts.Welcome:
		return "Приветствие салону"
	case texts.OptOutAck:
		return "Ответ на «стоп»"
	case texts.StartAck:
		return "Ответ на «старт»"
	case activities.KindSample:
		return "Пример себе"
	}
	return kind
}

// reasons words the ledger's reasons for the owner; reasonText falls back on the recorded one.
var reasons = map[string]string{
	activities.ReasonTurnedOff: "сообщение выключено в настройках",
	"opted_out":                "клиент отписался («стоп»)",
	"expired":                  "время отправки прошло",
	"daily_cap":                "достигнут дневной лимит",
	"quiet_hours":              "тихие часы",
	"record cancelled":         "запись отменена",
	"record rescheduled":       "запись перенесена",
	"record changed again":     "запись снова изменилась",
	"record is not cancelled":  "запись не отменена",
	"no valid client phone":    "у клиента нет номера",
	"no linked number":         "WhatsApp салона не подключён",
	"empty text":               "пустой текст",
	"reviewed_recently":        "клиента уже просили об отзыве в последние 30 дней",
	"not attended":             "визит больше не отмечен как состоявшийся",
}

func reasonText(reason string) string {
	if reason == "" {
		return ""
	}
	if t, ok := reasons[reason]; ok {
		return t
	}
	low := strings.ToLower(reason)
	switch {
	case strings.Contains(low, "not on whatsapp"):
		return "номера нет в WhatsApp"
	case strings.Contains(low, "invalid phone"):
		return "неверный номер"
	case strings.Contains(low, "not connected"), strings.Contains(low, "not linked"):
		return "WhatsApp салона не был на связи"
	case strings.HasPrefix(low, "already "):
		return ""
	}
	return "другая причина: " + reason
}

// MaskPhone writes a recipient's number for the log with its middle hidden: «+7 916
// •••-••-67». The country code and the first group stay (where in the world, which operator),
// and the last two digits (whose it is, for the salon that knows the client).
func MaskPhone(raw string) string {
	if raw == "" {
		return ""
	}
	if strings.Trim(raw, "0123456789") == "" {
		raw = "+" + raw // the ledger keeps E.164 digits without the '+'
	}
	display, err := whatsapp.DisplayPhone(raw)
	if err != nil {
		display = "+" + strings.TrimPrefix(raw, "+")
	}
	digits := 0
	for _, r := range display {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	b := []rune(display)
	kept, group := 0, 0
	for i, r := range b {
		switch {
		case r == ' ':
			group++
		case r >= '0' && r <= '9':
			kept++
			if group >= 2 && kept <= digits-2 {
				b[i] = '•'
			}
		}
	}
	if err != nil || group < 2 { // not a number we can format: all but the last two digits
		b = []rune(display)
		kept = 0
		for i, r := range b {
			if r >= '0' && r <= '9' {
				if kept++; kept <= digits-2 {
					b[i] = '•'
				}
			}
		}
	}
	return string(b)
}

// humanTime is a moment for the owner, in the salon's zone: «сегодня, 14:30», «вчера, 09:05»,
// «завтра, 10:00» or «12.12, 14:30» (with the year when it is another one).
func humanTime(t, now time.Time, loc *time.Location) string {
	lt, ln := t.In(loc), now.In(loc)
	day := func(x time.Time) time.Time { return time.Date(x.Year(), x.Month(), x.Day(), 12, 0, 0, 0, time.UTC) }
	switch day(lt).Sub(day(ln)) {
	case 0:
		return "сегодня, " + lt.Format("15:04")
	case -24 * time.Hour:
		return "вчера, " + lt.Format("15:04")
	case 24 * time.Hour:
		return "завтра, " + lt.Format("15:04")
	}
	if lt.Year() != ln.Year() {
		return lt.Format("02.01.2006, 15:04")
	}
	return shortTime(t, loc)
}

// shortTime is «12.12, 14:30» in the salon's zone.
func shortTime(t time.Time, loc *time.Location) string { return t.In(loc).Format("02.01, 15:04") }
