package wameow

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// With WhatsApp unreachable every operation fails fast and clearly; nothing hangs. The bounds
// are generous on purpose: they catch hangs, not slowness (the failures take milliseconds).

func TestPairOfflineFailsFast(t *testing.T) {
	f := newFixture(t)

	for _, tc := range []struct {
		name string
		pair func() (<-chan whatsapp.PairEvent, error)
	}{
		{"qr", func() (<-chan whatsapp.PairEvent, error) { return f.a.PairQR(t.Context(), salonA) }},
		{"phone", func() (<-chan whatsapp.PairEvent, error) {
			return f.a.PairPhone(t.Context(), salonA, "8 (999) 000-11-22")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dials := f.dialer.dials.Load()
			start := time.Now()
			ch, err := tc.pair()
			require.NoError(t, err)
			evs := drain(t, ch)
			took := time.Since(start)
			require.Len(t, evs, 1, "got %d items, want exactly one terminal item", len(evs))
			require.Equal(t, whatsapp.PairError, evs[0].Kind, "got %q", evs[0].Kind)
			require.ErrorIs(t, evs[0].Err, whatsapp.ErrUnreachable, "got %v", evs[0].Err)
			require.Less(t, took, hangLimit, "took %s", took)
			t.Logf("pairing failed after %s: %v", took, evs[0].Err)
			require.Greater(t, f.dialer.dials.Load(), dials, "the injected dialer was not used")

			st := f.status(t, salonA)
			require.Equal(t, whatsapp.StateUnlinked, st.State, "got %q after a failed attempt", st.State)
			require.False(t, f.mappingExists(t, salonA))
		})
	}

	// A failed connect hands out no codes, so it does not use up the hourly batches.
	f.a.mu.Lock()
	batches := len(f.a.salons[salonA].batches)
	f.a.mu.Unlock()
	require.Zero(t, batches, "got %d counted batches, want 0", batches)
}

func TestPairPhoneInvalid(t *testing.T) {
	f := newFixture(t)
	_, err := f.a.PairPhone(t.Context(), salonA, "12345")
	require.ErrorIs(t, err, whatsapp.ErrInvalidPhone)
	require.Zero(t, f.dialer.dials.Load(), "an invalid phone must fail before any connect")
}

func TestPairBatchLimit(t *testing.T) {
	f := newFixture(t)
	f.a.mu.Lock()
	s := f.a.salonLocked(salonA)
	for range f.a.opts.MaxBatchesPerHour {
		s.batches = append(s.batches, time.Now().Add(-30*time.Minute))
	}
	s.batches[0] = time.Now().Add(-2 * time.Hour) // outside the window: does not count
	f.a.mu.Unlock()

	ch, err := f.a.PairQR(t.Context(), salonA)
	require.NoError(t, err, "5 batches in the last hour leave room for a sixth")
	drain(t, ch)
	f.a.mu.Lock()
	s.batches = append(s.batches, time.Now())
	f.a.mu.Unlock()
	_, err = f.a.PairQR(t.Context(), salonA)
	require.ErrorIs(t, err, ErrTooManyPairings)
}

func TestPairDeadContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := f.a.PairQR(ctx, salonA)
	require.ErrorIs(t, err, context.Canceled, "a dead context must not start an attempt")
	require.Zero(t, f.dialer.dials.Load())
}

func TestReconnectOfflineFailsFast(t *testing.T) {
	f := newFixture(t)
	require.ErrorIs(t, f.a.Reconnect(t.Context(), salonA), whatsapp.ErrNotLinked)

	jid := f.linkOffline(t, salonB, 7)
	start := time.Now()
	err := f.a.Reconnect(t.Context(), salonB)
	took := time.Since(start)
	require.ErrorIs(t, err, whatsapp.ErrUnreachable, "got %v", err)
	require.Less(t, took, hangLimit, "took %s", took)
	t.Logf("reconnect failed after %s: %v", took, err)

	st := f.status(t, salonB)
	require.Equal(t, whatsapp.StateDisconnected, st.State, "got %q", st.State)
	require.Equal(t, ownerDigits, st.Phone)
	require.True(t, f.deviceExists(t, jid), "a failed reconnect must keep the credentials")
	require.True(t, f.mappingExists(t, salonB))
}

func TestSendErrors(t *testing.T) {
	f := newFixture(t)
	msg := whatsapp.Message{ID: "3EB0AAAA", Phone: clientPhone, Text: "Здравствуйте"}

	_, err := f.a.Send(t.Context(), salonA, msg)
	require.ErrorIs(t, err, whatsapp.ErrNotLinked, "before linking")

	_, err = f.a.Send(t.Context(), salonA, whatsapp.Message{ID: "x", Phone: "12345"})
	require.ErrorIs(t, err, whatsapp.ErrInvalidPhone)

	f.linkOffline(t, salonB, 3)
	_, err = f.a.Send(t.Context(), salonB, msg)
	require.ErrorIs(t, err, whatsapp.ErrNotConnected, "linked but not connected: got %v", err)
}

func TestStartUnreachableReturnsPromptly(t *testing.T) {
	f := newFixture(t)
	f.linkOffline(t, salonA, 4)

	start := time.Now()
	require.NoError(t, f.a.Start(t.Context(), []int64{salonA, salonB}))
	took := time.Since(start)
	require.Less(t, took, 2*time.Second, "Start took %s", took)

	require.Eventually(t, func() bool { return f.dialer.dials.Load() > 0 }, hangLimit, 10*time.Millisecond,
		"no connect attempt after Start")
	st := f.status(t, salonA)
	require.Equal(t, whatsapp.StateConnecting, st.State, "got %q", st.State)
	require.Equal(t, whatsapp.StateUnlinked, f.status(t, salonB).State, "an unmapped salon is skipped")
	require.Eventually(t, func() bool {
		return slices.Contains(f.events.states(), whatsapp.StateConnecting)
	}, hangLimit, 10*time.Millisecond, "Events never reported connecting")

	// A second Start leaves the running client alone.
	require.NoError(t, f.a.Start(t.Context(), []int64{salonA}))

	closed := make(chan struct{})
	go func() {
		f.a.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(hangLimit):
		t.Fatal("Close hung with a reconnecting client")
	}
	_, err := f.a.Status(t.Context(), salonA)
	require.ErrorIs(t, err, ErrClosed)
}

func TestUnlinkOfflineDeletesLocally(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.a.Unlink(t.Context(), salonA), "unlinking an unlinked salon is not an error")

	jid := f.linkOffline(t, salonB, 9)
	require.NoError(t, f.a.Start(t.Context(), []int64{salonB}))
	err := f.a.Unlink(t.Context(), salonB)
	require.ErrorIs(t, err, ErrLocalOnly, "got %v", err)
	require.False(t, f.deviceExists(t, jid), "credentials must be deleted")
	require.False(t, f.mappingExists(t, salonB), "mapping must be deleted")
	st := f.status(t, salonB)
	require.Equal(t, whatsapp.StateUnlinked, st.State, "got %q", st.State)
	require.Empty(t, st.Phone)

	_, err = f.a.Send(t.Context(), salonB, whatsapp.Message{ID: "y", Phone: clientPhone, Text: "hi"})
	require.ErrorIs(t, err, whatsapp.ErrNotLinked)
}

func TestDisconnectKeepsCredentials(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.a.Disconnect(t.Context(), salonA), "nothing to disconnect is not an error")

	jid := f.linkOffline(t, salonB, 5)
	require.NoError(t, f.a.Start(t.Context(), []int64{salonB}))
	require.NoError(t, f.a.Disconnect(t.Context(), salonB))
	require.Equal(t, whatsapp.StateDisconnected, f.status(t, salonB).State)
	require.True(t, f.deviceExists(t, jid))
	require.True(t, f.mappingExists(t, salonB))
	require.Eventually(t, func() bool {
		row, err := f.store.GetWhatsAppDevice(t.Context(), salonB)
		return err == nil && row.State == string(whatsapp.StateDisconnected)
	}, hangLimit, 10*time.Millisecond, "the frozen state is stored")
}

// A network that swallows packets instead of refusing them: the attempt ends after
// ConnectTimeout with ErrUnreachable instead of hanging for whatsmeow's 20-30 s.
func TestPairHangingNetworkTimesOut(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.DialContext = hangingDial
		o.ConnectTimeout = 300 * time.Millisecond
	})
	start := time.Now()
	ch, err := f.a.PairQR(t.Context(), salonA)
	require.NoError(t, err)
	evs := drain(t, ch)
	took := time.Since(start)
	require.Len(t, evs, 1)
	require.Equal(t, whatsapp.PairError, evs[0].Kind)
	require.ErrorIs(t, evs[0].Err, whatsapp.ErrUnreachable, "got %v", evs[0].Err)
	require.GreaterOrEqual(t, took, 300*time.Millisecond)
	require.Less(t, took, hangLimit, "took %s", took)
}

// Cancelling the attempt's context, or starting another attempt, closes the stream without a
// terminal item, like simphone.
func TestPairCancelAndSupersede(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DialContext = hangingDial })

	ctx, cancel := context.WithCancel(t.Context())
	ch, err := f.a.PairQR(ctx, salonA)
	require.NoError(t, err)
	require.Equal(t, whatsapp.StatePairing, f.status(t, salonA).State)
	cancel()
	require.Empty(t, drain(t, ch), "a cancelled attempt yields no terminal item")
	require.Eventually(t, func() bool { return f.status(t, salonA).State == whatsapp.StateUnlinked },
		hangLimit, 10*time.Millisecond)

	first, err := f.a.PairQR(t.Context(), salonB)
	require.NoError(t, err)
	second, err := f.a.PairPhone(t.Context(), salonB, "+7 999 000-11-22")
	require.NoError(t, err)
	require.Empty(t, drain(t, first), "a superseded attempt yields no terminal item")
	require.Equal(t, whatsapp.StatePairing, f.status(t, salonB).State)
	require.NoError(t, f.a.Unlink(t.Context(), salonB), "Unlink ends the running attempt")
	require.Empty(t, drain(t, second))
	require.Equal(t, whatsapp.StateUnlinked, f.status(t, salonB).State)
}
