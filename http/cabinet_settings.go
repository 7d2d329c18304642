package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities/texts"
)

// CabinetSettings is a salon's settings as the cabinet shows and edits them: the JSON of GET
// and PUT /cabinet/api/settings. They are read when each message goes out, so a change counts
// from the next message on.
type CabinetSettings struct {
	SendConfirmation      bool `json:"send_confirmation"`
	SendChange            bool `json:"send_change"`
	SendCancellation      bool `json:"send_cancellation"`
	SendReminderDay       bool `json:"send_reminder_day"`
	ReminderDayBeforeHour int  `json:"reminder_day_before_hour"` // 0..23, salon time
	SendReminderBefore    bool `json:"send_reminder_before"`
	ReminderHoursBefore   int  `json:"reminder_hours_before"` // 1..24
	ClientWelcome         bool `json:"client_welcome"`
	ReviewRequests        bool `json:"review_requests"`
	ReviewDelayMinutes    int  `json:"review_delay_minutes"` // 30..10080 after the visit
	// ReviewURL is the salon's public reviews (Yandex Maps, 2GIS, Google): "" or https://….
	ReviewURL string `json:"review_url"`
	// ConfirmByReply: the day-before reminder asks the client to answer 1 or 2.
	ConfirmByReply bool `json:"confirm_by_reply"`
	// ConfirmOnBooking: the booking confirmation asks too (with ConfirmByReply).
	ConfirmOnBooking bool `json:"confirm_on_booking"`
	// DeclineCancels: a client's «2» cancels the visit in YClients instead of only telling the salon.
	DeclineCancels bool              `json:"decline_cancels"`
	QuietHours     QuietWindow       `json:"quiet_hours"`
	PerMinute      int               `json:"per_minute"` // 1..20
	DailyCap       int               `json:"daily_cap"`  // 1..1000
	Templates      map[string]string `json:"templates"`  // kind → the owner's text; absent or "": the standard one
}

// QuietWindow is the daily time, salon time, when no message goes out ("HH:MM"); the same
// from and to mean none.
type QuietWindow struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Safe bounds of the settings.
const (
	maxPerMinute       = 20
	maxDailyCap        = 1000
	minReviewDelay     = 30
	maxReviewDelay     = 7 * 24 * 60
	maxReviewURLLen    = 300
	maxSettingsBodyLen = 256 << 10
)

// Russian errors of the settings, per field.
const (
	errHour        = "Час напоминания накануне — целое число от 0 до 23."
	errHoursBefore = "Напоминание перед визитом — за 1–24 часа."
	errReviewDelay = "Просьбу оценить визит можно отправить через 30 минут — 7 суток после него (от 30 до 10080 минут)."
	errReviewURL   = "Ссылка на отзывы должна начинаться с https:// — например, страница салона в Яндекс Картах, 2ГИС или Google Картах."
	errClock       = "Время — в формате ЧЧ:ММ, например 21:00."
	errPerMinute   = "Сообщений в минуту — от 1 до 20: чаще WhatsApp может заблокировать номер."
	errDailyCap    = "Сообщений в день — от 1 до 1000."
	errUnknownKind = "Такого сообщения нет."
	errUnknownSet  = "Такой настройки нет."
)

// getSettings answers the salon's settings.
func (h *cabinetHandler) getSettings(c *gin.Context) {
	_, s, err := h.store.Settings(c.Request.Context(), sessionOf(c).claims.SalonID)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, s)
}

// putSettings applies the fields the body names over the salon's settings, checks every
// changed value and saves them all at once: 400 with Russian errors per field, and nothing
// saved, when one is wrong.
func (h *cabinetHandler) putSettings(c *gin.Context) {
	salonID := sessionOf(c).claims.SalonID
	_, cur, err := h.store.Settings(c.Request.Context(), salonID)
	if err != nil {
		abort(c, err)
		return
	}
	next := cur
	next.Templates = maps.Clone(cur.Templates)
	dec := json.NewDecoder(io.LimitReader(c.Request.Body, maxSettingsBodyLen))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		abort(c, decodeFailure(err))
		return
	}
	if next.Templates == nil { // "templates": null changes no text
		next.Templates = maps.Clone(cur.Templates)
	}
	if fields := validateSettings(cur, next); len(fields) > 0 {
		abort(c, fail(kindBadRequest, "invalid settings").withFields(fields).
			saying("Настройки не сохранены: исправьте отмеченные поля."))
		return
	}
	if err := h.store.SaveSettings(c.Request.Context(), salonID, next); err != nil {
		abort(c, err)
		return
	}
	_, saved, err := h.store.Settings(c.Request.Context(), salonID)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, saved)
}

// decodeFailure words a body that is not settings: a value of the wrong type, a setting that
// does not exist, or no JSON at all.
func decodeFailure(err error) *apiError {
	bad := fail(kindBadRequest, "invalid settings")
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return bad.withFields(map[string]string{typeErr.Field: wantType(typeErr.Type)}).
			saying("Настройки не сохранены: исправьте отмеченные поля.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return bad.withFields(map[string]string{name: errUnknownSet}).saying("Настройки не сохранены: " + errUnknownSet)
	}
	return bad.because(err).saying("Настройки не сохранены: запрос не разобран.")
}

func wantType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "Нужно «да» или «нет» (true или false)."
	case reflect.Int:
		return "Нужно целое число."
	case reflect.String:
		return "Нужен текст."
	}
	return "Неверное значение."
}

// validateSettings checks every value that differs from the saved one (a value an operator
// set outside the cabinet's bounds may stay) and returns the Russian errors per field.
func validateSettings(cur, next CabinetSettings) map[string]string {
	errs := map[string]string{}
	check := func(field string, changed, ok bool, msg string) {
		if changed && !ok {
			errs[field] = msg
		}
	}
	check("reminder_day_before_hour", next.ReminderDayBeforeHour != cur.ReminderDayBeforeHour,
		between(next.ReminderDayBeforeHour, 0, 23), errHour)
	check("reminder_hours_before", next.ReminderHoursBefore != cur.ReminderHoursBefore,
		between(next.ReminderHoursBefore, 1, 24), errHoursBefore)
	check("review_delay_minutes", next.ReviewDelayMinutes != cur.ReviewDelayMinutes,
		between(next.ReviewDelayMinutes, minReviewDelay, maxReviewDelay), errReviewDelay)
	check("review_url", next.ReviewURL != cur.ReviewURL, validReviewURL(next.ReviewURL), errReviewURL)
	_, fromErr := minuteOf(next.QuietHours.From)
	check("quiet_hours.from", next.QuietHours.From != cur.QuietHours.From, fromErr == nil, errClock)
	_, toErr := minuteOf(next.QuietHours.To)
	check("quiet_hours.to", next.QuietHours.To != cur.QuietHours.To, toErr == nil, errClock)
	check("per_minute", next.PerMinute != cur.PerMinute, between(next.PerMinute, 1, maxPerMinute), errPerMinute)
	check("daily_cap", next.DailyCap != cur.DailyCap, between(next.DailyCap, 1, maxDailyCap), errDailyCap)
	for kind, text := range next.Templates {
		if text == cur.Templates[kind] {
			continue
		}
		field := "templates." + kind
		if !texts.Editable(texts.Kind(kind)) {
			errs[field] = errUnknownKind
		} else if err := texts.ValidateTemplate(text); err != nil {
			errs[field] = err.Error()
		}
	}
	return errs
}

func between(v, lo, hi int) bool { return v >= lo && v <= hi }

// validReviewURL accepts "" (no link) or an https link to a real host, short enough for texts
// to keep whole.
func validReviewURL(s string) bool {
	if s == "" {
		return true
	}
	if len([]rune(s)) > maxReviewURLLen || strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.User == nil && strings.Contains(u.Hostname(), ".") &&
		!strings.HasSuffix(u.Hostname(), ".")
}

// minuteOf reads "HH:MM" (00:00 to 23:59) as minutes after midnight.
func minuteOf(s string) (int, error) {
	digit := func(i int) (int, bool) { return int(s[i] - '0'), s[i] >= '0' && s[i] <= '9' }
	if len(s) == 5 && s[2] == ':' {
		h1, ok1 := digit(0)
		h2, ok2 := digit(1)
		m1, ok3 := digit(3)
		m2, ok4 := digit(4)
		h, m := h1*10+h2, m1*10+m2
		if ok1 && ok2 && ok3 && ok4 && h <= 23 && m <= 59 {
			return h*60 + m, nil
		}
	}
	return 0, fmt.Errorf("clock %q: want HH:MM", s)
}

// clockOf writes minutes after midnight as "HH:MM".
func clockOf(minute int) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }

func blank(s string) bool { return strings.TrimSpace(s) == "" }
