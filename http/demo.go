package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

// demoHandler lets a demo play the salon owner's phone and its clients: scan the code on the
// connect page, read what AI Admin sent, and write to the salon as a client. The routes exist
// only with Config.Demo.
type demoHandler struct {
	phone DemoPhone
}

// scanRequest is the body of the scan endpoint.
type scanRequest struct {
	Phone string `json:"phone"`
	Name  string `json:"name"`
}

const maxDemoName = 100

func (h *demoHandler) scan(c *gin.Context) {
	var req scanRequest
	salonID, ok := h.demoRequest(c, &req, `{"phone":"79990001122","name":"…"}`)
	if !ok {
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if _, err := whatsapp.NormalizePhone(req.Phone); err != nil {
		abort(c, fail(kindBadRequest, "phone is not a valid phone number"))
		return
	}
	if utf8.RuneCountInString(req.Name) > maxDemoName {
		abort(c, fail(kindBadRequest, "name is too long"))
		return
	}
	err := h.phone.Scan(salonID, req.Phone, req.Name)
	switch {
	case err == nil:
		c.JSON(http.StatusOK, gin.H{"success": true})
	case errors.Is(err, whatsapp.ErrInvalidPhone):
		abort(c, fail(kindBadRequest, "phone is not a valid phone number"))
	case errors.Is(err, simphone.ErrNoAttempt):
		abort(c, fail(kindConflict, "no pairing attempt is running: open the connect page first"))
	case errors.Is(err, simphone.ErrCodeExpired):
		abort(c, fail(kindConflict, "the code on the connect page has expired: show a new one"))
	case errors.Is(err, simphone.ErrPhoneMismatch):
		abort(c, fail(kindConflict, "the pairing code was requested for another phone number"))
	default:
		abort(c, fail(kindConflict, "scan failed").because(err))
	}
}

// demoMessage is one delivered message in the demo list.
type demoMessage struct {
	ID    string    `json:"id"`
	Phone string    `json:"phone"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"`
}

func (h *demoHandler) messages(c *gin.Context) {
	if h.phone == nil {
		abort(c, fail(kindUnavailable, "demo phone not configured"))
		return
	}
	salonID, err := parseSalonID(c.Param("salon_id"))
	if err != nil {
		abort(c, err)
		return
	}
	sent := h.phone.Messages(salonID)
	out := make([]demoMessage, 0, len(sent))
	for _, m := range sent {
		out = append(out, demoMessage{ID: m.ID, Phone: m.Phone, Text: m.Text, At: m.At})
	}
	c.JSON(http.StatusOK, out)
}

// incomingRequest is the body of the incoming endpoint: a client's message to the salon.
type incomingRequest struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// maxDemoText bounds a simulated client message (WhatsApp allows far more; a demo needs less).
const maxDemoText = 4096

// incoming plays a client writing to the salon's linked number, e.g. «стоп» to opt out.
func (h *demoHandler) incoming(c *gin.Context) {
	var req incomingRequest
	salonID, ok := h.demoRequest(c, &req, `{"from":"79990001122","text":"…"}`)
	if !ok {
		return
	}
	if strings.TrimSpace(req.Text) == "" || utf8.RuneCountInString(req.Text) > maxDemoText {
		abort(c, fail(kindBadRequest, "text must be 1 to 4096 characters"))
		return
	}
	err := h.phone.Receive(salonID, req.From, req.Text)
	switch {
	case err == nil:
		c.JSON(http.StatusOK, gin.H{"ok": true})
	case errors.Is(err, whatsapp.ErrInvalidPhone):
		abort(c, fail(kindBadRequest, "from is not a valid phone number"))
	case errors.Is(err, whatsapp.ErrNotLinked):
		abort(c, fail(kindConflict, "the salon has no linked WhatsApp device: link the phone first"))
	default:
		abort(c, fail(kindInternal, "receive failed").because(err))
	}
}

// demoEvents are the link events the demo may play.
var demoEvents = map[string]whatsapp.LinkState{
	"logged_out": whatsapp.StateLoggedOut, "temp_banned": whatsapp.StateTempBanned,
	"restricted": whatsapp.StateRestricted, "replaced": whatsapp.StateReplaced,
	"degraded": whatsapp.StateDegraded, "linked": whatsapp.StateLinked,
}

type eventRequest struct {
	State   string `json:"state"`
	Reason  string `json:"reason"`
	Minutes int    `json:"minutes"` // temp_banned / restricted: how long
}

// event plays a WhatsApp link event on the simulated phone, e.g. {"state":"logged_out"}: the
// owner removed the device on the phone.
func (h *demoHandler) event(c *gin.Context) {
	var req eventRequest
	salonID, ok := h.demoRequest(c, &req, `{"state":"logged_out"}`)
	if !ok {
		return
	}
	state, ok := demoEvents[req.State]
	if !ok {
		abort(c, fail(kindBadRequest, "state must be one of logged_out, temp_banned, restricted, replaced, degraded, linked"))
		return
	}
	st := whatsapp.Status{State: state, Reason: req.Reason}
	if req.Minutes > 0 {
		st.Until = time.Now().Add(time.Duration(req.Minutes) * time.Minute)
	}
	h.phone.Emit(salonID, st)
	c.JSON(http.StatusOK, gin.H{"ok": true})
}

// demoRequest reads a demo call's salon and JSON body; it answers the error itself and
// reports false when the call cannot go on.
func (h *demoHandler) demoRequest(c *gin.Context, body any, usage string) (int64, bool) {
	if h.phone == nil {
		abort(c, fail(kindUnavailable, "demo phone not configured"))
		return 0, false
	}
	salonID, err := parseSalonID(c.Param("salon_id"))
	if err != nil {
		abort(c, err)
		return 0, false
	}
	if err := c.ShouldBindJSON(body); err != nil {
		abort(c, fail(kindBadRequest, "body must be JSON "+usage).because(err))
		return 0, false
	}
	return salonID, true
}
