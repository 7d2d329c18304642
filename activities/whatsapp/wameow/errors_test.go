package wameow

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.mau.fi/whatsmeow"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

func TestSendErrorMapping(t *testing.T) {
	// Built the way whatsmeow builds them (send.go, request.go).
	server := func(code int) error { return fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, code) }
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"463 reach-out timelock", server(463), whatsapp.ErrReachoutLimited},
		{"not connected", fmt.Errorf("failed to get device list: %w", whatsmeow.ErrNotConnected), whatsapp.ErrNotConnected},
		{"disconnected during request", whatsmeow.ErrIQDisconnected, whatsapp.ErrNotConnected},
		{"iq timed out", whatsmeow.ErrIQTimedOut, whatsapp.ErrNotConnected},
		{"message timed out", whatsmeow.ErrMessageTimedOut, whatsapp.ErrNotConnected},
		{"deadline", context.DeadlineExceeded, whatsapp.ErrNotConnected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, sendError("send", tc.err), tc.want)
		})
	}
	// Other server errors are neither 463 nor a connection problem.
	err := sendError("send", server(4630))
	require.False(t, errors.Is(err, whatsapp.ErrReachoutLimited), "got %v", err)
	require.False(t, errors.Is(err, whatsapp.ErrNotConnected), "got %v", err)

	require.ErrorIs(t, pairPhoneError(whatsmeow.ErrPhoneNumberIsNotInternational), whatsapp.ErrInvalidPhone)
	require.ErrorIs(t, pairPhoneError(fmt.Errorf("x: %w", whatsmeow.ErrNotConnected)), whatsapp.ErrNotConnected)
}
