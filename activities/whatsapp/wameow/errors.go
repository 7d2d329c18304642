package wameow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// Errors of this adapter beyond the whatsapp package's.
var (
	// ErrLocalOnly is wrapped by Unlink when the logout could not reach WhatsApp: the credentials
	// and the mapping are deleted here, but the phone still lists the device under Linked
	// devices until the owner removes it there.
	ErrLocalOnly = errors.New("wameow: device deleted locally only; remove it on the phone under Linked devices")
	// ErrPasskeyUnsupported ends a pairing attempt when the phone asks for a passkey, which a
	// salon's web page cannot provide: the owner should link with the pairing code instead.
	ErrPasskeyUnsupported = errors.New("wameow: the phone asked for a passkey; link with the pairing code (Link with phone number) instead")
	// ErrClientOutdated means WhatsApp rejected this whatsmeow version (405): upgrade it.
	ErrClientOutdated = errors.New("wameow: WhatsApp rejected the client as outdated; upgrade whatsmeow")
	// ErrTooManyPairings is returned by PairQR and PairPhone when the salon has used up its
	// batches of codes for the last hour (Options.MaxBatchesPerHour).
	ErrTooManyPairings = errors.New("wameow: too many pairing attempts for this salon in the last hour")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("wameow: adapter closed")
)

// unreachable wraps a failed connect as whatsapp.ErrUnreachable, keeping the cause.
func unreachable(op string, err error) error {
	return fmt.Errorf("wameow: %s: %w: %w", op, whatsapp.ErrUnreachable, err)
}

// reachoutCode is the server error for the reach-out timelock: new-contact sends refused.
const reachoutCode = 463

// sendError maps a whatsmeow error from IsOnWhatsApp or SendMessage to the typed errors of the
// whatsapp package. Connection trouble is ErrNotConnected (retry later); 463 is
// ErrReachoutLimited (final for this message); anything else is returned wrapped.
func sendError(op string, err error) error {
	var disc *whatsmeow.DisconnectedError
	switch {
	case isServerError(err, reachoutCode):
		return fmt.Errorf("wameow: %s: %w: %w", op, whatsapp.ErrReachoutLimited, err)
	case errors.Is(err, whatsmeow.ErrNotConnected), errors.As(err, &disc),
		errors.Is(err, whatsmeow.ErrNotLoggedIn), errors.Is(err, whatsmeow.ErrIQTimedOut),
		errors.Is(err, whatsmeow.ErrMessageTimedOut), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("wameow: %s: %w: %w", op, whatsapp.ErrNotConnected, err)
	}
	return fmt.Errorf("wameow: %s: %w", op, err)
}

// isServerError reports whether err is whatsmeow's "server returned error <code>", which it
// builds with fmt.Errorf("%w %d", ErrServerReturnedError, code).
func isServerError(err error, code int) bool {
	return errors.Is(err, whatsmeow.ErrServerReturnedError) &&
		strings.HasSuffix(err.Error(), fmt.Sprintf("%s %d", whatsmeow.ErrServerReturnedError.Error(), code))
}

// pairPhoneError maps an error from whatsmeow's PairPhone.
func pairPhoneError(err error) error {
	switch {
	case errors.Is(err, whatsmeow.ErrPhoneNumberTooShort), errors.Is(err, whatsmeow.ErrPhoneNumberIsNotInternational):
		return fmt.Errorf("wameow: pairing code: %w: %w", whatsapp.ErrInvalidPhone, err)
	case errors.Is(err, whatsmeow.ErrIQRateOverLimit):
		return fmt.Errorf("wameow: pairing code: rate limited by WhatsApp, try again later: %w", err)
	case errors.Is(err, whatsmeow.ErrIQBadRequest):
		return fmt.Errorf("wameow: pairing code: request rejected: %w", err)
	}
	return sendError("pairing code", err)
}

// hold is a time-limited account sanction (temporary ban or reach-out timelock). A zero until
// means the end is unknown.
type hold struct {
	reason string
	until  time.Time
}

func (h *hold) active(now time.Time) bool {
	return h != nil && (h.until.IsZero() || now.Before(h.until))
}

// banText describes a temporary ban for an error message.
func banText(h *hold) string {
	if h == nil {
		return whatsapp.BanText(time.Time{}, "")
	}
	return whatsapp.BanText(h.until, h.reason)
}
