package wameow

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mau.fi/util/jsontime"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

func TestTranslate(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	lockEnd := now.Add(72 * time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name   string
		evt    any
		want   whatsapp.LinkState
		reason string // substring of the reason
		until  time.Time
	}{
		{"connected", &events.Connected{}, whatsapp.StateLinked, "", time.Time{}},
		{"keep-alive restored", &events.KeepAliveRestored{}, whatsapp.StateLinked, "", time.Time{}},
		{"disconnected", &events.Disconnected{}, whatsapp.StateConnecting, "reconnecting", time.Time{}},
		{"keep-alive timeout", &events.KeepAliveTimeout{ErrorCount: 3, LastSuccess: now}, whatsapp.StateDegraded, "3 failed pings", time.Time{}},
		{"logged out on connect", &events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureLoggedOut}, whatsapp.StateLoggedOut, "401", time.Time{}},
		{"main device gone", &events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureMainDeviceGone}, whatsapp.StateLoggedOut, "403", time.Time{}},
		{"device removed", &events.LoggedOut{OnConnect: false}, whatsapp.StateLoggedOut, "device removed", time.Time{}},
		{"stream replaced", &events.StreamReplaced{}, whatsapp.StateReplaced, "same device keys", time.Time{}},
		{"temporary ban", &events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: 3 * time.Hour}, whatsapp.StateTempBanned, "101", now.Add(3 * time.Hour)},
		{"temporary ban, end unknown", &events.TemporaryBan{Code: events.TempBanBlockedByUsers}, whatsapp.StateTempBanned, "102", time.Time{}},
		{"reach-out timelock", &events.NotifyAccountReachoutTimelock{IsActive: true, EnforcementType: "RESTRICT_ALL_COMPANIONS",
			TimeEnforcementEnds: jsontime.UnixString{Time: lockEnd}}, whatsapp.StateRestricted, "RESTRICT_ALL_COMPANIONS", lockEnd},
		{"timelock lifted", &events.NotifyAccountReachoutTimelock{IsActive: false}, whatsapp.StateLinked, "", time.Time{}},
		{"client outdated", &events.ClientOutdated{}, whatsapp.StateDisconnected, "upgrade", time.Time{}},
		{"connect failure", &events.ConnectFailure{Reason: events.ConnectFailureBadUserAgent, Message: "nope"}, whatsapp.StateDisconnected, "409", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, ok := translateAt(tc.evt, now)
			require.True(t, ok, "got ok=false for %T", tc.evt)
			require.Equal(t, tc.want, st.State, "got state %q want %q", st.State, tc.want)
			require.Contains(t, st.Reason, tc.reason)
			require.True(t, st.Until.Equal(tc.until), "got until %v want %v", st.Until, tc.until)
		})
	}

	for _, evt := range []any{&events.Message{}, &events.Receipt{}, &events.PairSuccess{}, &events.QR{}, &events.StreamError{Code: "999"}, nil} {
		_, ok := Translate(evt)
		require.False(t, ok, "got ok=true for %T, want no state change", evt)
	}

	// Translate stamps a ban's end from the real clock.
	st, ok := Translate(&events.TemporaryBan{Code: events.TempBanSentToTooManyPeople, Expire: time.Hour})
	require.True(t, ok)
	require.WithinDuration(t, time.Now().Add(time.Hour), st.Until, time.Minute)
}
