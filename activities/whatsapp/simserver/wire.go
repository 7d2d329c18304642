package simserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

// The wire format: JSON bodies, NDJSON streams (one JSON object per line), and errors as
// {"error": code, "message": text} with the codes below.

// Error codes on the wire, one per whatsapp error, plus the server's own.
const (
	codeNotLinked       = "not_linked"
	codeNotConnected    = "not_connected"
	codeNotOnWhatsApp   = "not_on_whatsapp"
	codeReachoutLimited = "reachout_limited"
	codeInvalidPhone    = "invalid_phone"
	codeUnreachable     = "unreachable"
	codePairingBusy     = "pairing_busy"
	codeAlreadyLinked   = "already_linked"
	codeNoStream        = "no_stream"    // the client has no open session stream
	codeNoAttempt       = "no_attempt"   // scan: no pairing attempt waits for a scan
	codeCodeExpired     = "code_expired" // scan: the code on screen has expired
	codePhoneMismatch   = "phone_mismatch"
	codeBadRequest      = "bad_request"
	codeInternal        = "internal"
)

// ErrNoStream is returned when a client connects or pairs without its session stream.
var ErrNoStream = errors.New("simserver: the client's session stream is not open")

var codeErrors = []struct {
	code string
	err  error
}{
	{codeNotLinked, whatsapp.ErrNotLinked},
	{codeNotOnWhatsApp, whatsapp.ErrNotOnWhatsApp},
	{codeReachoutLimited, whatsapp.ErrReachoutLimited},
	{codeInvalidPhone, whatsapp.ErrInvalidPhone},
	{codeNotConnected, whatsapp.ErrNotConnected},
	{codeUnreachable, whatsapp.ErrUnreachable},
	{codePairingBusy, whatsapp.ErrPairingBusy},
	{codeAlreadyLinked, whatsapp.ErrAlreadyLinked},
	{codeNoStream, ErrNoStream},
	{codeNoAttempt, simphone.ErrNoAttempt},
	{codeCodeExpired, simphone.ErrCodeExpired},
	{codePhoneMismatch, simphone.ErrPhoneMismatch},
	{codeBadRequest, errBadRequest},
}

var errBadRequest = errors.New("simserver: bad request")

// codeOf maps an error to its wire code; the first match wins (a send while offline wraps
// both ErrNotConnected and ErrUnreachable and travels as not_connected, which is what a
// sender acts on).
func codeOf(err error) string {
	for _, c := range codeErrors {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return codeInternal
}

// errorOf rebuilds the typed error from a wire error.
func errorOf(e wireError) error {
	for _, c := range codeErrors {
		if c.code == e.Code {
			return fmt.Errorf("simserver: %w: %s", c.err, e.Message)
		}
	}
	return fmt.Errorf("simserver: %s: %s", e.Code, e.Message)
}

// wireError is an error response.
type wireError struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e wireError) Error() string { return e.Code + ": " + e.Message }

func statusOf(code string) int {
	switch code {
	case codeNotLinked:
		return http.StatusNotFound
	case codeInvalidPhone, codeBadRequest:
		return http.StatusBadRequest
	case codeInternal:
		return http.StatusInternalServerError
	case codeUnreachable:
		return http.StatusServiceUnavailable
	}
	return http.StatusConflict
}

// wireStatus is a whatsapp.Status on the wire.
type wireStatus struct {
	State  whatsapp.LinkState `json:"state"`
	Phone  string             `json:"phone,omitempty"`
	Name   string             `json:"name,omitempty"`
	Reason string             `json:"reason,omitempty"`
	Until  time.Time          `json:"until,omitzero"`
}

func toWireStatus(st whatsapp.Status) wireStatus {
	return wireStatus{State: st.State, Phone: st.Phone, Name: st.Name, Reason: st.Reason, Until: st.Until}
}

func (w wireStatus) status() whatsapp.Status {
	return whatsapp.Status{State: w.State, Phone: w.Phone, Name: w.Name, Reason: w.Reason, Until: w.Until}
}

// salonRequest names a client and a salon.
type salonRequest struct {
	Client  string `json:"client"`
	SalonID int64  `json:"salon_id"`
}

// disconnectRequest closes a client's connection: "freeze" remembers that the salon is
// deliberately disconnected, "release" (a shard handed over) does not.
type disconnectRequest struct {
	Client  string `json:"client"`
	SalonID int64  `json:"salon_id"`
	Mode    string `json:"mode"`
}

const (
	modeFreeze  = "freeze"
	modeRelease = "release"
)

// sendRequest sends one message over the client's connection.
type sendRequest struct {
	Client  string `json:"client"`
	SalonID int64  `json:"salon_id"`
	ID      string `json:"id"`
	Phone   string `json:"phone"`
	Text    string `json:"text"`
}

type sendResponse struct {
	ID string `json:"id"`
}

// event is one line of a session or pairing stream.
type event struct {
	Type    string      `json:"type"` // hello, ping, status, incoming; pair: qr, code, success, timeout, error
	SalonID int64       `json:"salon_id,omitempty"`
	Status  *wireStatus `json:"status,omitempty"`
	// Pairing items.
	Code      string     `json:"code,omitempty"`
	ExpiresMs int64      `json:"expires_ms,omitempty"`
	Phone     string     `json:"phone,omitempty"`
	Name      string     `json:"name,omitempty"`
	JID       string     `json:"jid,omitempty"`
	Err       *wireError `json:"err,omitempty"`
	// Incoming messages.
	Incoming *wireIncoming `json:"incoming,omitempty"`
}

type wireIncoming struct {
	ID   string    `json:"id"`
	From string    `json:"from"`
	Name string    `json:"name,omitempty"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Device is a salon with a linked device, as the session store lists it.
type Device struct {
	SalonID int64  `json:"salon_id"`
	Phone   string `json:"phone"`
	Name    string `json:"name"`
	// Frozen is set while the salon is deliberately disconnected (freeze): a worker taking
	// over the salon's shard does not connect it.
	Frozen bool `json:"frozen"`
}

// Message is one message the server delivered.
type Message struct {
	ID    string    `json:"id"`
	Phone string    `json:"phone"`
	Text  string    `json:"text"`
	At    time.Time `json:"at"`
}

// Connection is a salon's live connection.
type Connection struct {
	SalonID int64     `json:"salon_id"`
	Client  string    `json:"client"`
	Since   time.Time `json:"since"`
}

// Stats counts what a faithful server must never see in a healthy deployment.
type Stats struct {
	// Replaced counts connections kicked because another client connected the same device
	// (WhatsApp's «stream replaced»).
	Replaced int `json:"replaced"`
	// DuplicateSends counts sends of a message ID that had already been delivered (answered
	// with the same ID, recorded once).
	DuplicateSends int `json:"duplicate_sends"`
}

type scanRequest struct {
	SalonID int64  `json:"salon_id"`
	Phone   string `json:"phone"`
	Name    string `json:"name"`
}

type receiveRequest struct {
	SalonID int64  `json:"salon_id"`
	From    string `json:"from"`
	Text    string `json:"text"`
}

type emitRequest struct {
	SalonID int64      `json:"salon_id"`
	Status  wireStatus `json:"status"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	code := codeOf(err)
	writeJSON(w, statusOf(code), wireError{Code: code, Message: err.Error()})
}
