package activities

import (
	"errors"
	"net/http"

	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
)

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
			return temporal.NewApplicationErrorWithOptions(api.Error(), ErrTypeRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: api.RetryAfter})
		case api.StatusCode == http.StatusNotFound:
			return temporal.NewNonRetryableApplicationError(api.Error(), ErrTypeNotFound, nil)
		case api.StatusCode == http.StatusUnauthorized:
			return temporal.NewNonRetryableApplicationError(api.Error(), ErrTypeUnauthorized, nil)
		case api.StatusCode == http.StatusForbidden:
			return temporal.NewNonRetryableApplicationError(api.Error(), ErrTypeForbidden, nil)
		case api.StatusCode >= 400 && api.StatusCode < 500:
			return temporal.NewNonRetryableApplicationError(api.Error(), ErrTypeInvalid, nil)
		}
		return temporal.NewApplicationError(api.Error(), "YClientsUnavailable")
	}
	switch {
	case errors.Is(err, whatsapp.ErrNotLinked):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNotLinked, nil)
	case errors.Is(err, whatsapp.ErrInvalidPhone), errors.Is(err, whatsapp.ErrNotOnWhatsApp),
		errors.Is(err, whatsapp.ErrReachoutLimited):
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalid, nil)
	}
	return err
}
