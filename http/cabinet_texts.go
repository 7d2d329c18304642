package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/salontime"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients"
)

// kindView is one message kind in the cabinet's text editor.
type kindView struct {
	Kind         string            `json:"kind"`
	Title        string            `json:"title"`
	Sent         string            `json:"sent"`         // when it goes out
	ConfirmLine  bool              `json:"confirm_line"` // the confirmation question is added after the owner's text
	Placeholders []placeholderView `json:"placeholders"`
	Standard     string            `json:"standard"` // the standard text as a template to start from
	Text         string            `json:"text"`     // the salon's own text; "": the standard one is sent
}

type placeholderView struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// texts lists the kinds the owner may edit, with their fields in Russian and the salon's own
// texts.
func (h *cabinetHandler) texts(c *gin.Context) {
	_, set, err := h.store.Settings(c.Request.Context(), sessionOf(c).claims.SalonID)
	if err != nil {
		abort(c, err)
		return
	}
	var out []kindView
	for _, k := range texts.Kinds() {
		v := kindView{Kind: string(k.Kind), Title: k.Title, Sent: k.Sent, ConfirmLine: k.ConfirmLine,
			Standard: starters[k.Kind], Text: set.Templates[string(k.Kind)], Placeholders: []placeholderView{}}
		if k.Kind == texts.Reminder2h { // the kind keeps its name; the hours are the salon's
			n := strconv.Itoa(set.ReminderHoursBefore)
			v.Title, v.Sent = "Напоминание за "+n+" ч", "Примерно за "+n+" ч до визита."
		}
		for _, p := range texts.Placeholders(k.Kind) {
			v.Placeholders = append(v.Placeholders, placeholderView{Name: p.Name, Description: p.Description})
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"kinds": out})
}

// textRequest is a draft of the editor: the preview and the example to oneself render it.
type textRequest struct {
	Kind string `json:"kind"`
	Text string `json:"text"` // "": the standard text
}

// previewAnswer is a message as the client would get it.
type previewAnswer struct {
	Text   string `json:"text"`
	Error  string `json:"error,omitempty"` // Russian: why the owner's text cannot be used
	Source string `json:"source"`          // "booking": the salon's nearest booking; "sample": an example visit
	About  string `json:"about"`           // Russian: what the preview is made from
}

const maxTextBody = 32 << 10

func readTextRequest(c *gin.Context) (textRequest, error) {
	var r textRequest
	if err := json.NewDecoder(io.LimitReader(c.Request.Body, maxTextBody)).Decode(&r); err != nil {
		return r, fail(kindBadRequest, "invalid request").because(err).saying("Запрос не разобран.")
	}
	if !texts.Editable(texts.Kind(r.Kind)) {
		return r, fail(kindBadRequest, "unknown message kind").withFields(map[string]string{"kind": errUnknownKind}).
			saying(errUnknownKind)
	}
	return r, nil
}

// preview renders a draft with the salon's nearest upcoming booking (or an example visit when
// there is none) and the saved settings.
func (h *cabinetHandler) preview(c *gin.Context) {
	r, err := readTextRequest(c)
	if err != nil {
		abort(c, err)
		return
	}
	out, err := h.render(c.Request.Context(), sessionOf(c).claims.SalonID, r, true)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// render renders a draft. With real set, the visit is the salon's nearest upcoming booking
// when YClients has one; otherwise, and always for what leaves the server (the example to
// oneself), an example visit: no client's data.
func (h *cabinetHandler) render(ctx context.Context, salonID int64, r textRequest, real bool) (previewAnswer, error) {
	profile, set, err := h.store.Settings(ctx, salonID)
	if err != nil {
		return previewAnswer{}, err
	}
	loc, _ := salontime.Location(profile.Timezone)
	now := h.now()
	sampleSalon, v := texts.Sample(now)
	salon := texts.Salon{Name: profile.Title, Address: profile.Address, Phone: profile.Phone, ReviewURL: set.ReviewURL, Location: loc}
	if salon.Name == "" {
		salon = sampleSalon
	}
	d := now.In(loc)
	v.Start = time.Date(d.Year(), d.Month(), d.Day()+1, 14, 30, 0, 0, loc)
	v.PreviousStart = v.Start.AddDate(0, 0, -2)
	out := previewAnswer{Source: "sample", About: "Пример: записи на ближайшие две недели не нашлось, поэтому показан вымышленный визит."}
	if !real {
		out.About = "Пример на вымышленном визите."
	} else if rec, ok := h.bookings.next(ctx, salonID, now); ok {
		v = visitOf(rec, v)
		out.Source = "booking"
		out.About = "По ближайшей записи салона: " + firstNonEmpty(v.ClientName, "клиент без имени") + ", " +
			humanTime(v.Start, now, loc) + "."
	}
	kind := texts.Kind(r.Kind)
	v.Now = previewNow(kind, v.Start, set, loc, now)
	v.AskConfirm = activities.AsksConfirm(kind, set.ConfirmByReply, set.ConfirmOnBooking)
	var o texts.Overrides
	if !blank(r.Text) {
		if err := texts.ValidateTemplate(r.Text); err != nil {
			out.Error = err.Error()
			return out, nil
		}
		o = texts.Overrides{kind: r.Text}
	}
	text, err := texts.Render(kind, salon, v, o)
	if errors.Is(err, texts.ErrBadOverride) {
		out.Error = err.Error()
		return out, nil
	}
	if err != nil {
		return previewAnswer{}, err
	}
	out.Text = text
	return out, nil
}

// previewNow is when the message would go out: reminders the moment they are due (so they
// say «завтра» as they would), the review request after its delay, the others now.
func previewNow(kind texts.Kind, start time.Time, set CabinetSettings, loc *time.Location, now time.Time) time.Time {
	switch kind {
	case texts.ReminderDay:
		ls := start.In(loc)
		return time.Date(ls.Year(), ls.Month(), ls.Day()-1, set.ReminderDayBeforeHour, 0, 0, 0, loc)
	case texts.Reminder2h:
		return start.Add(-time.Duration(set.ReminderHoursBefore) * time.Hour)
	case texts.ReviewRequest, texts.ReviewThanks, texts.ReviewSorry:
		return start.Add(time.Duration(set.ReviewDelayMinutes) * time.Minute)
	}
	return now
}

// visitOf is a YClients record as a message visit; the example's previous time is kept for
// the change notice.
func visitOf(r yclients.Record, example texts.Visit) texts.Visit {
	v := texts.Visit{Start: r.Datetime, StaffName: r.Staff.Name, PreviousStart: r.Datetime.AddDate(0, 0, -2)}
	if r.Client != nil {
		v.ClientName = r.Client.Name
	}
	for _, s := range r.Services {
		v.Services = append(v.Services, s.Title)
	}
	if v.Start.IsZero() {
		return example
	}
	return v
}

// Preview bookings: how far ahead the nearest one is looked for, how long a lookup (or its
// failure) serves, and how long YClients may take.
const (
	previewHorizon = 14 * 24 * time.Hour
	previewTTL     = time.Minute
	previewTimeout = 3 * time.Second
)

// nextBookings finds a salon's nearest upcoming booking in YClients, with a short cache: the
// preview follows the owner's typing, YClients is asked at most once a minute per salon.
type nextBookings struct {
	src UpcomingBookings // nil: previews use an example visit

	mu    sync.Mutex
	cache map[int64]cachedBooking
}

type cachedBooking struct {
	rec yclients.Record
	ok  bool
	at  time.Time
}

func newNextBookings(src UpcomingBookings) *nextBookings {
	return &nextBookings{src: src, cache: map[int64]cachedBooking{}}
}

// next returns the salon's nearest booking that is neither deleted nor cancelled.
func (n *nextBookings) next(ctx context.Context, salonID int64, now time.Time) (yclients.Record, bool) {
	if n.src == nil {
		return yclients.Record{}, false
	}
	n.mu.Lock()
	c, hit := n.cache[salonID]
	n.mu.Unlock()
	if hit && now.Sub(c.at) < previewTTL && (!c.ok || c.rec.Datetime.After(now)) {
		return c.rec, c.ok
	}
	ctx, cancel := context.WithTimeout(ctx, previewTimeout)
	defer cancel()
	recs, err := n.src.Records(ctx, salonID, now, now.Add(previewHorizon))
	c = cachedBooking{at: now}
	if err == nil {
		for _, r := range recs {
			if r.Deleted || r.Attendance == -1 || !r.Datetime.After(now) {
				continue
			}
			if !c.ok || r.Datetime.Before(c.rec.Datetime) {
				c.rec, c.ok = r, true
			}
		}
	}
	n.mu.Lock()
	if len(n.cache) > 10_000 {
		clear(n.cache) // a bound, not an eviction policy: entries live a minute anyway
	}
	n.cache[salonID] = c
	n.mu.Unlock()
	return c.rec, c.ok
}
