package activities

import (
	"errors"
	"net/http"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
)

// Application error types raised by activities. Workflows branch on them (errType); the
// retry policies list the non-retryable ones.
const (
	ErrTypeNotFound            = "NotFound"
	ErrTypeUnauthorized        = "Unauthorized"
	ErrTypeInvalid             = "Invalid"
	ErrTypeForbidden           = "Forbidden"
	ErrTypeRateLimited         = "RateLimited"
	ErrTypeNotLinked           = "NotLinked"
	ErrTypeYClientsUnavailable = "YClientsUnavailable"
)

// NonRetryable lists the error types that retrying cannot fix.
var NonRetryable = []string{ErrTypeNotFound, ErrTypeUnauthorized, ErrTypeInvalid, ErrTypeForbidden, ErrTypeNotLinked}

func errNotFound(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeNotFound, nil)
}
func errUnauthorized(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeUnauthorized, nil)
}
func errForbidden(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeForbidden, nil)
}
func errInvalid(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeInvalid, nil)
}
func errNotLinked(msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeNotLinked, nil)
}

// errRateLimited is retried after retryAfter (YClients' Retry-After), or the policy's backoff.
func errRateLimited(msg string, retryAfter time.Duration) error {
	return temporal.NewApplicationErrorWithOptions(msg, ErrTypeRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: retryAfter})
}

func errYClientsUnavailable(msg string) error {
	return temporal.NewApplicationError(msg, ErrTypeYClientsUnavailable)
}

// classify turns an external error into a Temporal application error in one place: bad input
// and auth are non-retryable; 429 waits for Retry-After; 5xx and network errors retry with
// the activity's backoff. Messages never carry secrets (the clients redact them).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var api *yclients.APIError
	if errors.As(err, &api) {
		switch {
		case api.StatusCode == http.StatusTooManyRequests:
			return errRateLimited(api.Error(), api.RetryAfter)
		case api.StatusCode == http.StatusNotFound:
			return errNotFound(api.Error())
		case api.StatusCode == http.StatusUnauthorized:
			return errUnauthorized(api.Error())
		case api.StatusCode == http.StatusForbidden:
			return errForbidden(api.Error())
		case api.StatusCode >= 400 && api.StatusCode < 500:
			return errInvalid(api.Error())
		}
		return errYClientsUnavailable(api.Error())
	}
	switch {
	case errors.Is(err, whatsapp.ErrNotLinked):
		return errNotLinked(err.Error())
	case errors.Is(err, whatsapp.ErrInvalidPhone), errors.Is(err, whatsapp.ErrNotOnWhatsApp),
		errors.Is(err, whatsapp.ErrReachoutLimited):
		return errInvalid(err.Error())
	}
	return err
}
