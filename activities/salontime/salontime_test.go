package salontime

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLocationFallsBackToMoscow(t *testing.T) {
	loc, err := Location("Asia/Vladivostok")
	require.NoError(t, err)
	require.Equal(t, "Asia/Vladivostok", loc.String())

	loc, err = Location("")
	require.NoError(t, err, "no zone given is not an error")
	require.Equal(t, Fallback, loc.String())

	loc, err = Location("Mars/Olympus")
	require.ErrorIs(t, err, ErrUnknownZone)
	require.NotNil(t, loc)
	require.Equal(t, Fallback, loc.String())
}

func TestDayStartIsSalonMidnight(t *testing.T) {
	vlad, _ := Location("Asia/Vladivostok")
	// 20:30 UTC on 1 Dec is already 06:30 on 2 Dec in Vladivostok (UTC+10).
	at := time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC)
	got := DayStart(at, vlad)
	require.Equal(t, time.Date(2026, 12, 2, 0, 0, 0, 0, vlad), got)
	require.Equal(t, time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC), got.UTC())
}
