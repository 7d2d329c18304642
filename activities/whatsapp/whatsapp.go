// Package whatsapp defines the small interface through which the rest of AI Admin talks to a
// salon's linked WhatsApp number. Live connections belong to the worker process; the interface
// has three implementations: the real adapter over go.mau.fi/whatsmeow (package wameow), and,
// for development and tests only, the in-process simulated phone (package simphone) and the
// client of the fake WhatsApp server that several processes share (package simserver).
package whatsapp

import (
	"context"
	"errors"
	"time"
)

// PairKind is the kind of one item on a pairing stream.
type PairKind string

// Pairing stream items. A stream yields zero or more PairQR (QR mode) or exactly one PairCode
// (phone mode) items, then exactly one terminal item (PairSuccess, PairTimeout or PairError),
// then it is closed. Cancelling the context closes the stream without a terminal item.
const (
	PairQR      PairKind = "qr"      // a new QR payload in Code, valid for ExpiresIn
	PairCode    PairKind = "code"    // an 8-character pairing code "ABCD-EFGH" in Code, valid for ExpiresIn
	PairSuccess PairKind = "success" // paired and connected: Phone, Name, JID are set
	PairTimeout PairKind = "timeout" // the batch of codes ran out without a scan
	PairError   PairKind = "error"   // pairing failed: Err is set (e.g. ErrUnreachable)
)

// PairEvent is one item on a pairing stream. Code is a secret: never log it, never put it in
// workflow history.
type PairEvent struct {
	Kind      PairKind
	Code      string
	ExpiresIn time.Duration
	Phone     string // digits only, e.g. 79990001122
	Name      string // push name of the linked account
	JID       string // full device JID, e.g. 79990001122:12@s.whatsapp.net
	Err       error
}

// Terminal reports whether the item ends the stream.
func (e PairEvent) Terminal() bool {
	return e.Kind == PairSuccess || e.Kind == PairTimeout || e.Kind == PairError
}

// LinkState is the state of a salon's WhatsApp link.
type LinkState string

// Link states.
const (
	StateUnlinked     LinkState = "unlinked"     // no device for this salon
	StatePairing      LinkState = "pairing"      // a pairing attempt is running
	StateConnecting   LinkState = "connecting"   // device known, connecting
	StateLinked       LinkState = "linked"       // connected and able to send
	StateDisconnected LinkState = "disconnected" // device kept, deliberately disconnected (freeze)
	StateDegraded     LinkState = "degraded"     // keep-alive timeouts; may recover
	StateLoggedOut    LinkState = "logged_out"   // removed on the phone: re-link needed
	StateReplaced     LinkState = "replaced"     // stream replaced by another client
	StateTempBanned   LinkState = "temp_banned"  // temporary ban until Status.Until
	StateRestricted   LinkState = "restricted"   // reach-out timelock (error 463)
)

// Status is a salon's link state with its details.
type Status struct {
	State  LinkState
	Phone  string
	Name   string
	Reason string
	Until  time.Time
}

// Message is one outgoing text. ID is generated and stored by the caller before sending, so a
// retry with the same ID cannot deliver twice.
type Message struct {
	ID    string
	Phone string
	Text  string
}

// Client is everything AI Admin needs from WhatsApp. Salons are identified by their YClients
// salon ID.
type Client interface {
	// PairQR starts a QR pairing attempt. The attempt lives as long as ctx; it must be a context
	// owned by the pairing attempt (an activity), never an HTTP request's.
	PairQR(ctx context.Context, salonID int64) (<-chan PairEvent, error)
	// PairPhone starts a pairing attempt by an 8-character code entered on the phone.
	PairPhone(ctx context.Context, salonID int64, phone string) (<-chan PairEvent, error)
	// Status reports the salon's link state.
	Status(ctx context.Context, salonID int64) (Status, error)
	// Send delivers one text message and returns the ID it was sent under.
	Send(ctx context.Context, salonID int64, msg Message) (string, error)
	// Disconnect closes the live connection but keeps the credentials (freeze).
	Disconnect(ctx context.Context, salonID int64) error
	// Reconnect connects again with the kept credentials, without a new scan (unfreeze).
	Reconnect(ctx context.Context, salonID int64) error
	// Unlink logs the device out and deletes its credentials (uninstall, expiry).
	Unlink(ctx context.Context, salonID int64) error
	// SetIncomingHandler registers the function that receives every text message a client
	// sends to any linked salon number (one handler per Client; nil removes it). The handler
	// runs on the client's goroutine and must return quickly.
	SetIncomingHandler(h IncomingHandler)
}

// Incoming is a text message a client sent to a salon's linked number.
type Incoming struct {
	SalonID int64
	ID      string // WhatsApp message ID
	From    string // sender's phone, digits only, e.g. 79990001122
	Name    string // sender's push name, may be empty
	Text    string
	At      time.Time
}

// IncomingHandler receives incoming messages.
type IncomingHandler func(ctx context.Context, m Incoming)

// Errors returned by Client implementations. ErrNotConnected and ErrUnreachable are
// temporary; the rest are final for that message.
var (
	ErrNotLinked    = errors.New("whatsapp: salon has no linked device")
	ErrNotConnected = errors.New("whatsapp: device not connected")
	// ErrElsewhere: the salon's connection is held by another worker process (its shard moved,
	// or is moving): the call goes again, on the shard's queue, rather than wait for the salon.
	ErrElsewhere       = errors.New("whatsapp: the salon's connection is held by another worker process")
	ErrNotOnWhatsApp   = errors.New("whatsapp: recipient is not on WhatsApp")
	ErrReachoutLimited = errors.New("whatsapp: reach-out limited (463)")
	ErrInvalidPhone    = errors.New("whatsapp: invalid phone number")
	ErrUnreachable     = errors.New("whatsapp: servers cannot be reached")
	ErrPairingBusy     = errors.New("whatsapp: a pairing attempt is already running")
	ErrAlreadyLinked   = errors.New("whatsapp: salon already has a linked device")
)

// BanText describes a temporary ban for error messages: until is zero when unknown.
func BanText(until time.Time, reason string) string {
	text := "temporarily banned"
	if !until.IsZero() {
		text += " until " + until.UTC().Format(time.RFC3339)
	}
	if reason != "" {
		text += " (" + reason + ")"
	}
	return text
}
