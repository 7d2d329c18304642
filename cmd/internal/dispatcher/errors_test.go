package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
)

// Only an error about the row itself counts against it; everything that would refuse any row
// makes the dispatcher wait instead.
func TestUnreachable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{serviceerror.NewInvalidArgument("Blob data size exceeds limit."), false},
		{serviceerror.NewFailedPrecondition("x"), false},
		{&pgconn.PgError{Code: "22021"}, false}, // invalid byte sequence
		{&pgconn.PgError{Code: "23505"}, false},
		{serviceerror.NewUnavailable("connection refused"), true},
		{serviceerror.NewDeadlineExceeded("x"), true},
		{serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "x"), true},
		{serviceerror.NewPermissionDenied("x", ""), true},
		{serviceerror.NewNamespaceNotFound("default"), true},
		{context.DeadlineExceeded, true},
		{&pgconn.PgError{Code: "57P01"}, true}, // admin shutdown
		{&pgconn.PgError{Code: "40001"}, true},
		{&pgconn.PgError{Code: "53300"}, true}, // too many connections
	}
	for _, tc := range cases {
		wrapped := fmt.Errorf("signal booking-1-2: %w", tc.err)
		require.Equal(t, tc.want, unreachable(wrapped), "%T %v", tc.err, tc.err)
	}
	require.False(t, unreachable(errors.New("payload converter failed")))
}

func TestBackoff(t *testing.T) {
	d := New(Options{})
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		9: 256 * time.Second, 10: 5 * time.Minute, 100: 5 * time.Minute} {
		require.Equal(t, want, d.backoff(attempts), "attempt %d", attempts)
	}
	d = New(Options{RetryBase: 2 * time.Hour, RetryMax: 3 * time.Hour})
	require.Equal(t, 3*time.Hour, d.backoff(1000), "no overflow")
}

func TestErrText(t *testing.T) {
	require.Equal(t, "ab", errText("a\x00b"))
	long := errText("a" + strings.Repeat("я", maxErrorLen)) // cut inside a two-byte letter
	require.LessOrEqual(t, len(long), maxErrorLen+len("…"))
	require.True(t, utf8.ValidString(long), "got %q", long)
}
