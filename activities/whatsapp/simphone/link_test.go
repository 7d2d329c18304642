package simphone_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

func TestSendErrorsByState(t *testing.T) {
	banUntil := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		setup   func(t *testing.T, p *simphone.Phone)
		want    error
		wantMsg string
	}{
		{name: "never linked", setup: func(*testing.T, *simphone.Phone) {}, want: whatsapp.ErrNotLinked},
		{name: "linked", setup: linkA},
		{name: "disconnected", setup: func(t *testing.T, p *simphone.Phone) {
			linkA(t, p)
			require.NoError(t, p.Disconnect(t.Context(), salonA))
		}, want: whatsapp.ErrNotConnected},
		{name: "connecting", setup: emitAfterLink(whatsapp.Status{State: whatsapp.StateConnecting}), want: whatsapp.ErrNotConnected},
		{name: "degraded", setup: emitAfterLink(whatsapp.Status{State: whatsapp.StateDegraded}), want: whatsapp.ErrNotConnected},
		{name: "replaced", setup: emitAfterLink(whatsapp.Status{State: whatsapp.StateReplaced}), want: whatsapp.ErrNotConnected},
		{
			name:    "temp banned",
			setup:   emitAfterLink(whatsapp.Status{State: whatsapp.StateTempBanned, Until: banUntil, Reason: "101"}),
			want:    whatsapp.ErrNotConnected,
			wantMsg: "temporarily banned until 2026-12-01T12:00:00Z (101)",
		},
		{name: "restricted", setup: emitAfterLink(whatsapp.Status{State: whatsapp.StateRestricted}), want: whatsapp.ErrReachoutLimited},
		{name: "logged out", setup: emitAfterLink(whatsapp.Status{State: whatsapp.StateLoggedOut}), want: whatsapp.ErrNotLinked},
		{name: "unlinked", setup: func(t *testing.T, p *simphone.Phone) {
			linkA(t, p)
			require.NoError(t, p.Unlink(t.Context(), salonA))
		}, want: whatsapp.ErrNotLinked},
		{name: "not on whatsapp", setup: func(t *testing.T, p *simphone.Phone) {
			linkA(t, p)
			p.SetSendError(clientDigits, whatsapp.ErrNotOnWhatsApp)
		}, want: whatsapp.ErrNotOnWhatsApp},
		{name: "unreachable", setup: func(t *testing.T, p *simphone.Phone) {
			linkA(t, p)
			p.SetUnreachable(true)
		}, want: whatsapp.ErrNotConnected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := simphone.New(fastOptions())
			tc.setup(t, p)
			id, err := p.Send(t.Context(), salonA, whatsapp.Message{ID: "m-1", Phone: clientPhone, Text: "Запись подтверждена"})
			if tc.want == nil {
				require.NoError(t, err)
				require.Equal(t, "m-1", id)
				require.Len(t, p.Messages(salonA), 1)
				return
			}
			require.ErrorIs(t, err, tc.want, "got %v, want %v", err, tc.want)
			require.Empty(t, id)
			require.Empty(t, p.Messages(salonA), "a failed send records nothing")
			if tc.wantMsg != "" {
				require.Contains(t, err.Error(), tc.wantMsg)
			}
		})
	}
}

func TestSendValidatesPhone(t *testing.T) {
	p := simphone.New(fastOptions())
	linkA(t, p)
	_, err := p.Send(t.Context(), salonA, whatsapp.Message{ID: "m-1", Phone: "позвоните мне", Text: "x"})
	require.ErrorIs(t, err, whatsapp.ErrInvalidPhone)
}

func TestSendRecordsAndIsIdempotent(t *testing.T) {
	clk := newClock()
	opts := fastOptions()
	opts.Now = clk.Now
	p := simphone.New(opts)
	linkA(t, p)

	id, err := p.Send(t.Context(), salonA, whatsapp.Message{ID: "m-1", Phone: clientPhone, Text: "one"})
	require.NoError(t, err)
	require.Equal(t, "m-1", id)
	clk.Advance(time.Minute)
	id, err = p.Send(t.Context(), salonA, whatsapp.Message{ID: "m-1", Phone: clientPhone, Text: "one"})
	require.NoError(t, err)
	require.Equal(t, "m-1", id, "a retry returns the same ID")

	gen1, err := p.Send(t.Context(), salonA, whatsapp.Message{Phone: "8 916 123 45 67", Text: "two"})
	require.NoError(t, err)
	gen2, err := p.Send(t.Context(), salonA, whatsapp.Message{Phone: clientPhone, Text: "three"})
	require.NoError(t, err)
	require.NotEmpty(t, gen1)
	require.NotEqual(t, gen1, gen2)
	require.True(t, strings.HasPrefix(gen1, "3EB0"), "got ID %q", gen1)

	start := newClock().Now()
	require.Equal(t, []simphone.Sent{
		{ID: "m-1", Phone: clientDigits, Text: "one", At: start},
		{ID: gen1, Phone: clientDigits, Text: "two", At: start.Add(time.Minute)},
		{ID: gen2, Phone: clientDigits, Text: "three", At: start.Add(time.Minute)},
	}, p.Messages(salonA))
	require.Empty(t, p.Messages(salonB), "messages are per salon")

	t.Run("a failed send can be retried under the same ID", func(t *testing.T) {
		require.NoError(t, p.Disconnect(t.Context(), salonA))
		_, err := p.Send(t.Context(), salonA, whatsapp.Message{ID: "m-2", Phone: clientPhone, Text: "four"})
		require.ErrorIs(t, err, whatsapp.ErrNotConnected)
		require.NoError(t, p.Reconnect(t.Context(), salonA))
		for range 2 {
			id, err := p.Send(t.Context(), salonA, whatsapp.Message{ID: "m-2", Phone: clientPhone, Text: "four"})
			require.NoError(t, err)
			require.Equal(t, "m-2", id)
		}
		require.Len(t, p.Messages(salonA), 4)
	})

	t.Run("an injected error can be lifted", func(t *testing.T) {
		boom := errors.New("boom")
		p.SetSendError("+7 (916) 123-45-67", boom)
		_, err := p.Send(t.Context(), salonA, whatsapp.Message{ID: "m-3", Phone: "89161234567", Text: "five"})
		require.ErrorIs(t, err, boom)
		p.SetSendError(clientPhone, nil)
		_, err = p.Send(t.Context(), salonA, whatsapp.Message{ID: "m-3", Phone: "89161234567", Text: "five"})
		require.NoError(t, err)
	})
}

func TestDisconnectReconnectUnlink(t *testing.T) {
	p := simphone.New(fastOptions())
	ctx := t.Context()

	require.ErrorIs(t, p.Reconnect(ctx, salonA), whatsapp.ErrNotLinked)
	require.NoError(t, p.Disconnect(ctx, salonA), "nothing to disconnect is not an error")
	require.NoError(t, p.Unlink(ctx, salonA), "unlinking an unlinked salon is not an error")
	require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonA).State)

	linked := whatsapp.Status{State: whatsapp.StateLinked, Phone: ownerDigits, Name: ownerName}
	linkA(t, p)
	require.NoError(t, p.Disconnect(ctx, salonA))
	require.Equal(t, whatsapp.Status{State: whatsapp.StateDisconnected, Phone: ownerDigits, Name: ownerName}, status(t, p, salonA))
	require.NoError(t, p.Reconnect(ctx, salonA), "no new scan needed")
	require.Equal(t, linked, status(t, p, salonA))
	require.NoError(t, p.Reconnect(ctx, salonA), "reconnecting a connected salon is a no-op")
	require.Equal(t, linked, status(t, p, salonA))

	require.NoError(t, p.Unlink(ctx, salonA))
	require.Equal(t, whatsapp.Status{State: whatsapp.StateUnlinked}, status(t, p, salonA))
	require.ErrorIs(t, p.Reconnect(ctx, salonA), whatsapp.ErrNotLinked)
	require.NoError(t, p.Unlink(ctx, salonA))

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err := p.Status(cancelled, salonA)
	require.ErrorIs(t, err, context.Canceled)
}

func TestUnlinkEndsPairing(t *testing.T) {
	p := simphone.New(fastOptions())
	ch, err := p.PairQR(t.Context(), salonA)
	require.NoError(t, err)
	_, _ = next(t, ch)
	require.NoError(t, p.Unlink(t.Context(), salonA))
	for _, ev := range drain(t, ch) {
		require.False(t, ev.Terminal(), "got terminal %s after unlink", ev.Kind)
	}
	require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonA).State)
}

func TestEmit(t *testing.T) {
	clk := newClock()
	opts := fastOptions()
	opts.Now = clk.Now
	p := simphone.New(opts)
	ctx := t.Context()

	p.Emit(salonA, whatsapp.Status{State: whatsapp.StateDegraded})
	require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonA).State, "events that need a device are ignored without one")

	linkA(t, p)
	until := clk.Now().Add(time.Hour)

	p.Emit(salonA, whatsapp.Status{State: whatsapp.StateTempBanned, Until: until, Reason: "101"})
	require.Equal(t, whatsapp.Status{State: whatsapp.StateTempBanned, Phone: ownerDigits, Name: ownerName, Reason: "101", Until: until}, status(t, p, salonA))
	err := p.Reconnect(ctx, salonA)
	require.ErrorIs(t, err, whatsapp.ErrNotConnected, "connecting during a ban fails like failure 402")
	require.Contains(t, err.Error(), "temporarily banned")
	require.NoError(t, p.Disconnect(ctx, salonA))
	require.Error(t, p.Reconnect(ctx, salonA), "a freeze does not lift the ban")
	require.Equal(t, whatsapp.StateTempBanned, status(t, p, salonA).State)
	clk.Advance(time.Hour)
	require.NoError(t, p.Reconnect(ctx, salonA), "the ban is over")
	require.Equal(t, whatsapp.StateLinked, status(t, p, salonA).State)

	p.Emit(salonA, whatsapp.Status{State: whatsapp.StateRestricted, Until: clk.Now().Add(time.Hour), Reason: "reach-out timelock"})
	st := status(t, p, salonA)
	require.Equal(t, whatsapp.StateRestricted, st.State)
	require.Equal(t, "reach-out timelock", st.Reason)
	require.NoError(t, p.Disconnect(ctx, salonA))
	require.NoError(t, p.Reconnect(ctx, salonA))
	require.Equal(t, whatsapp.StateRestricted, status(t, p, salonA).State, "the timelock is account-wide and survives reconnects")
	clk.Advance(time.Hour)
	require.Equal(t, whatsapp.StateLinked, status(t, p, salonA).State, "the timelock ends")

	p.Emit(salonA, whatsapp.Status{State: whatsapp.StateReplaced, Reason: "stream replaced"})
	require.Equal(t, whatsapp.Status{State: whatsapp.StateReplaced, Phone: ownerDigits, Name: ownerName, Reason: "stream replaced"}, status(t, p, salonA))
	p.Emit(salonA, whatsapp.Status{State: whatsapp.StateLinked})
	require.Equal(t, whatsapp.Status{State: whatsapp.StateLinked, Phone: ownerDigits, Name: ownerName}, status(t, p, salonA))

	p.Emit(salonA, whatsapp.Status{State: whatsapp.StatePairing})
	require.Equal(t, whatsapp.StateLinked, status(t, p, salonA).State, "pairing cannot be emitted")

	p.Emit(salonA, whatsapp.Status{State: whatsapp.StateLoggedOut, Reason: "device removed"})
	require.Equal(t, whatsapp.Status{State: whatsapp.StateLoggedOut, Reason: "device removed"}, status(t, p, salonA))
	require.ErrorIs(t, p.Reconnect(ctx, salonA), whatsapp.ErrNotLinked, "whatsmeow deletes the device on logout")
	p.Emit(salonA, whatsapp.Status{State: whatsapp.StateLinked})
	require.Equal(t, whatsapp.StateLoggedOut, status(t, p, salonA).State, "no device, so linked again is ignored")
}

func TestConcurrentUse(t *testing.T) {
	p := simphone.New(fastOptions())
	linkA(t, p)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				ctx := t.Context()
				switch i % 5 {
				case 0:
					_, _ = p.Send(ctx, salonA, whatsapp.Message{Phone: clientPhone, Text: "x"})
				case 1:
					_, _ = p.Status(ctx, salonA)
				case 2:
					if g%2 == 0 {
						ch, err := p.PairQR(ctx, salonB)
						if err == nil {
							<-ch // a code is on screen (or the stream was superseded)
							_ = p.Scan(salonB, ownerPhone, ownerName)
							for range ch {
							}
						}
					}
				case 3:
					_ = p.Messages(salonA)
				case 4:
					p.Emit(salonB, whatsapp.Status{State: whatsapp.StateDegraded})
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, whatsapp.StateLinked, status(t, p, salonA).State)
	require.Len(t, p.Messages(salonA), 8*10)
}

// linkA links salonA to the owner's phone.
func linkA(t *testing.T, p *simphone.Phone) {
	t.Helper()
	link(t, p, salonA, ownerPhone, ownerName)
}

// emitAfterLink links salonA, then emits st.
func emitAfterLink(st whatsapp.Status) func(*testing.T, *simphone.Phone) {
	return func(t *testing.T, p *simphone.Phone) {
		linkA(t, p)
		p.Emit(salonA, st)
	}
}
