// Package demo serves the simulated phone's endpoints in development (`make dev`): scan the code
// on the connect page, read what AI Admin sent, write to the salon as a client, and play link
// events. Only the development binary registers these routes; the production binary does not
// link this package. Errors are JSON: {"error": "..."}.
package demo

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

// Routes adds the demo endpoints for phone to e.
func Routes(e *gin.Engine, phone *simphone.Phone) {
	h := &handler{phone: phone}
	e.POST("/demo/whatsapp/:salon_id/scan", h.scan)
	e.GET("/demo/whatsapp/:salon_id/messages", h.messages)
	e.POST("/demo/whatsapp/:salon_id/incoming", h.incoming)
	e.POST("/demo/whatsapp/:salon_id/event", h.event)
}

type handler struct {
	phone *simphone.Phone
}

func fail(c *gin.Context, status int, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}

// scanRequest is the body of the scan endpoint.
type scanRequest struct {
	Phone string `json:"phone"`
	Name  string `json:"name"`
}

const maxName = 100

// scan plays the owner scanning the QR on the connect page (or entering the pairing code).
func (h *handler) scan(c *gin.Context) {
	var req scanRequest
	salonID, ok := request(c, &req, `{"phone":"79990001122","name":"…"}`)
	if !ok {
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if _, err := whatsapp.NormalizePhone(req.Phone); err != nil {
		fail(c, http.StatusBadRequest, "phone is not a valid phone number")
		return
	}
	if utf8.RuneCountInString(req.Name) > maxName {
		fail(c, http.StatusBadRequest, "name is too long")
		return
	}
	err := h.phone.Scan(salonID, req.Phone, req.Name)
	switch {
	case err == nil:
		c.JSON(http.StatusOK, gin.H{"success": true})
	case errors.Is(err, whatsapp.ErrInvalidPhone):
		fail(c, http.StatusBadRequest, "phone is not a valid phone number")
	case errors.Is(err, simphone.ErrNoAttempt):
		fail(c, http.StatusConflict, "no pairing attempt is running: open the connect page first")
	case errors.Is(err, simphone.ErrCodeExpired):
		fail(c, http.StatusConflict, "the code on the connect page has expired: show a new one")
	case errors.Is(err, simphone.ErrPhoneMismatch):
		fail(c, http.StatusConflict, "the pairing code was requested for another phone number")
	default:
		fail(c, http.StatusConflict, "scan failed")
	}
}

// message is one delivered message in the list.
type message struct {
	ID    string    `json:"id"`
	Phone string    `json:"phone"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"`
}

// messages lists what the simulated phone delivered for the salon.
func (h *handler) messages(c *gin.Context) {
	salonID, ok := salon(c)
	if !ok {
		return
	}
	sent := h.phone.Messages(salonID)
	out := make([]message, 0, len(sent))
	for _, m := range sent {
		out = append(out, message{ID: m.ID, Phone: m.Phone, Text: m.Text, At: m.At})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// incomingRequest is the body of the incoming endpoint: a client's message to the salon.
type incomingRequest struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// maxText bounds a simulated client message (WhatsApp allows far more; a demo needs less).
const maxText = 4096

// incoming plays a client writing to the salon's linked number, e.g. «стоп» to opt out.
func (h *handler) incoming(c *gin.Context) {
	var req incomingRequest
	salonID, ok := request(c, &req, `{"from":"79990001122","text":"…"}`)
	if !ok {
		return
	}
	if strings.TrimSpace(req.Text) == "" || utf8.RuneCountInString(req.Text) > maxText {
		fail(c, http.StatusBadRequest, "text must be 1 to 4096 characters")
		return
	}
	err := h.phone.Receive(salonID, req.From, req.Text)
	switch {
	case err == nil:
		c.JSON(http.StatusOK, gin.H{"ok": true})
	case errors.Is(err, whatsapp.ErrInvalidPhone):
		fail(c, http.StatusBadRequest, "from is not a valid phone number")
	case errors.Is(err, whatsapp.ErrNotLinked):
		fail(c, http.StatusConflict, "the salon has no linked WhatsApp device: link the phone first")
	default:
		fail(c, http.StatusInternalServerError, "receive failed")
	}
}

// events are the link events the demo may play.
var events = map[string]whatsapp.LinkState{
	"logged_out": whatsapp.StateLoggedOut, "temp_banned": whatsapp.StateTempBanned,
	"restricted": whatsapp.StateRestricted, "replaced": whatsapp.StateReplaced,
	"degraded": whatsapp.StateDegraded, "linked": whatsapp.StateLinked,
}

type eventRequest struct {
	State   string `json:"state"`
	Reason  string `json:"reason"`
	Minutes int    `json:"minutes"` // temp_banned / restricted: how long
}

// event plays a WhatsApp link event, e.g. {"state":"logged_out"}: the owner removed the
// device on the phone.
func (h *handler) event(c *gin.Context) {
	var req eventRequest
	salonID, ok := request(c, &req, `{"state":"logged_out"}`)
	if !ok {
		return
	}
	state, ok := events[req.State]
	if !ok {
		fail(c, http.StatusBadRequest, "state must be one of logged_out, temp_banned, restricted, replaced, degraded, linked")
		return
	}
	st := whatsapp.Status{State: state, Reason: req.Reason}
	if req.Minutes > 0 {
		st.Until = time.Now().Add(time.Duration(req.Minutes) * time.Minute)
	}
	h.phone.Emit(salonID, st)
	c.JSON(http.StatusOK, gin.H{"ok": true})
}

// salon reads the salon ID from the path; it answers 400 itself.
func salon(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("salon_id"), 10, 64)
	if err != nil || id <= 0 {
		fail(c, http.StatusBadRequest, "salon_id must be a positive integer")
		return 0, false
	}
	return id, true
}

// request reads a call's salon and JSON body; it answers the error itself and reports false
// when the call cannot go on.
func request(c *gin.Context, body any, usage string) (int64, bool) {
	salonID, ok := salon(c)
	if !ok {
		return 0, false
	}
	if err := c.ShouldBindJSON(body); err != nil {
		fail(c, http.StatusBadRequest, "body must be JSON "+usage)
		return 0, false
	}
	return salonID, true
}
