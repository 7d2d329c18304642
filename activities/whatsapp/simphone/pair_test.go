package simphone_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

var (
	qrPayloadRE   = regexp.MustCompile(`^https://wa\.me/settings/linked_devices#2@[A-Za-z0-9+/=]+,[A-Za-z0-9+/]{43}=,[A-Za-z0-9+/]{43}=,[A-Za-z0-9+/]{43}=,1$`)
	pairingCodeRE = regexp.MustCompile(`^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$`)
	ownerJIDRE    = regexp.MustCompile(`^79990001122:[0-9]+@s\.whatsapp\.net$`)
)

func TestPairQRBatchTiming(t *testing.T) {
	opts := fastOptions()
	p := simphone.New(opts)
	start := time.Now()
	ch, err := p.PairQR(t.Context(), salonA)
	require.NoError(t, err)
	require.Equal(t, whatsapp.StatePairing, status(t, p, salonA).State)

	var due time.Duration // earliest time the next item may arrive
	seen := map[string]bool{}
	for i := range opts.QRCodes {
		ev, ok := next(t, ch)
		require.True(t, ok, "stream closed after %d codes, want %d", i, opts.QRCodes)
		require.Equal(t, whatsapp.PairQR, ev.Kind, "item %d", i)
		want := opts.NextQR
		if i == 0 {
			want = opts.FirstQR
		}
		require.Equal(t, want, ev.ExpiresIn, "item %d: got ExpiresIn %s, want %s", i, ev.ExpiresIn, want)
		require.Regexp(t, qrPayloadRE, ev.Code, "item %d", i)
		require.GreaterOrEqual(t, len(ev.Code), 248, "item %d: payload length", i)
		require.False(t, seen[ev.Code], "item %d repeats an earlier code", i)
		seen[ev.Code] = true
		require.GreaterOrEqual(t, time.Since(start), due, "item %d came early", i)
		due += want
	}
	ev, ok := next(t, ch)
	require.True(t, ok)
	require.Equal(t, whatsapp.PairTimeout, ev.Kind)
	require.True(t, ev.Terminal())
	elapsed := time.Since(start)
	require.GreaterOrEqual(t, elapsed, 300*time.Millisecond, "timeout before the batch window ended")
	require.Less(t, elapsed, 2*time.Second)
	_, ok = next(t, ch)
	require.False(t, ok, "stream not closed after the terminal item")

	require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonA).State)
	require.ErrorIs(t, p.Scan(salonA, ownerPhone, ownerName), simphone.ErrNoAttempt)
}

func TestScanMidBatchLinks(t *testing.T) {
	opts := fastOptions()
	opts.FirstQR, opts.NextQR = 60*time.Millisecond, 300*time.Millisecond
	opts.ConnectDelay = 30 * time.Millisecond
	p := simphone.New(opts)
	ch, err := p.PairQR(t.Context(), salonA)
	require.NoError(t, err)
	for range 2 {
		ev, ok := next(t, ch)
		require.True(t, ok)
		require.Equal(t, whatsapp.PairQR, ev.Kind)
	}
	scanned := time.Now()
	require.NoError(t, p.Scan(salonA, ownerPhone, ownerName))
	require.ErrorIs(t, p.Scan(salonA, ownerPhone, ownerName), simphone.ErrNoAttempt, "a code scans once")
	require.Equal(t, whatsapp.StatePairing, status(t, p, salonA).State, "linked before the reconnect")

	evs := drain(t, ch)
	require.Equal(t, []whatsapp.PairKind{whatsapp.PairSuccess}, kinds(evs))
	require.GreaterOrEqual(t, time.Since(scanned), opts.ConnectDelay, "success before the post-pairing reconnect")
	ok := evs[0]
	require.Equal(t, ownerDigits, ok.Phone)
	require.Equal(t, ownerName, ok.Name)
	require.Regexp(t, ownerJIDRE, ok.JID)
	require.Empty(t, ok.Code)
	require.NoError(t, ok.Err)

	st := status(t, p, salonA)
	require.Equal(t, whatsapp.Status{State: whatsapp.StateLinked, Phone: ownerDigits, Name: ownerName}, st)
	require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonB).State, "other salons untouched")
}

func TestScanErrors(t *testing.T) {
	p := simphone.New(fastOptions())
	require.ErrorIs(t, p.Scan(salonA, ownerPhone, ownerName), simphone.ErrNoAttempt, "no attempt at all")

	ch, err := p.PairQR(t.Context(), salonA)
	require.NoError(t, err)
	_, _ = next(t, ch)
	require.ErrorIs(t, p.Scan(salonA, "not a phone", ownerName), whatsapp.ErrInvalidPhone)
	require.ErrorIs(t, p.Scan(salonB, ownerPhone, ownerName), simphone.ErrNoAttempt, "attempt of another salon")
}

func TestScanExpiredQRCode(t *testing.T) {
	clk := newClock()
	opts := fastOptions()
	opts.FirstQR = time.Second // the real schedule stays on the first code
	opts.Now = clk.Now
	p := simphone.New(opts)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := p.PairQR(ctx, salonA)
	require.NoError(t, err)
	_, _ = next(t, ch)
	clk.Advance(time.Second)
	require.ErrorIs(t, p.Scan(salonA, ownerPhone, ownerName), simphone.ErrCodeExpired)
}

func TestCancelClosesWithoutTerminal(t *testing.T) {
	p := simphone.New(fastOptions())
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := p.PairQR(ctx, salonA)
	require.NoError(t, err)
	ev, ok := next(t, ch)
	require.True(t, ok)
	require.Equal(t, whatsapp.PairQR, ev.Kind)
	cancel()
	for _, ev := range drain(t, ch) {
		require.False(t, ev.Terminal(), "got terminal %s after cancel", ev.Kind)
	}
	require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonA).State)
	require.ErrorIs(t, p.Scan(salonA, ownerPhone, ownerName), simphone.ErrNoAttempt)

	_, err = p.PairQR(ctx, salonA)
	require.ErrorIs(t, err, context.Canceled, "a cancelled context starts nothing")
}

func TestCancelDuringReconnectLinksNothing(t *testing.T) {
	opts := fastOptions()
	opts.ConnectDelay = 200 * time.Millisecond
	p := simphone.New(opts)
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := p.PairQR(ctx, salonA)
	require.NoError(t, err)
	_, _ = next(t, ch)
	require.NoError(t, p.Scan(salonA, ownerPhone, ownerName))
	cancel()
	require.Empty(t, drain(t, ch))
	require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonA).State)
}

func TestNewAttemptSupersedes(t *testing.T) {
	p := simphone.New(fastOptions())
	old, err := p.PairQR(t.Context(), salonA)
	require.NoError(t, err)
	first, _ := next(t, old)

	cur, err := p.PairPhone(t.Context(), salonA, ownerPhone)
	require.NoError(t, err)
	for _, ev := range drain(t, old) {
		require.False(t, ev.Terminal(), "superseded stream got terminal %s", ev.Kind)
	}
	code, ok := next(t, cur)
	require.True(t, ok)
	require.Equal(t, whatsapp.PairCode, code.Kind)
	require.NotEqual(t, first.Code, code.Code)
	require.Equal(t, whatsapp.StatePairing, status(t, p, salonA).State)

	require.NoError(t, p.Scan(salonA, ownerPhone, ownerName))
	evs := drain(t, cur)
	require.Equal(t, []whatsapp.PairKind{whatsapp.PairSuccess}, kinds(evs))
	require.Equal(t, whatsapp.StateLinked, status(t, p, salonA).State)
}

func TestPairPhone(t *testing.T) {
	t.Run("invalid phone fails before any stream", func(t *testing.T) {
		p := simphone.New(fastOptions())
		ch, err := p.PairPhone(t.Context(), salonA, "12345")
		require.ErrorIs(t, err, whatsapp.ErrInvalidPhone)
		require.Nil(t, ch)
		require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonA).State)
	})

	t.Run("code outlives QR refreshes and links", func(t *testing.T) {
		opts := fastOptions()
		opts.QRCodes, opts.FirstQR, opts.NextQR = 12, 30*time.Millisecond, 30*time.Millisecond // window 360 ms
		opts.PairCodeTTL = 300 * time.Millisecond
		p := simphone.New(opts)
		ch, err := p.PairPhone(t.Context(), salonA, "+7 999 000 11 22")
		require.NoError(t, err)
		ev, ok := next(t, ch)
		require.True(t, ok)
		require.Equal(t, whatsapp.PairCode, ev.Kind)
		require.Regexp(t, pairingCodeRE, ev.Code)
		require.Equal(t, opts.PairCodeTTL, ev.ExpiresIn)
		time.Sleep(80 * time.Millisecond) // past the first two QR codes of the hidden batch
		require.NoError(t, p.Scan(salonA, ownerPhone, ownerName))
		evs := drain(t, ch)
		require.Equal(t, []whatsapp.PairKind{whatsapp.PairSuccess}, kinds(evs))
		require.Equal(t, ownerDigits, evs[0].Phone)
		require.Regexp(t, ownerJIDRE, evs[0].JID)
	})

	t.Run("code entered on another number", func(t *testing.T) {
		p := simphone.New(fastOptions())
		ch, err := p.PairPhone(t.Context(), salonA, ownerPhone)
		require.NoError(t, err)
		_, _ = next(t, ch)
		require.ErrorIs(t, p.Scan(salonA, "+7 916 000 00 01", "Чужой"), simphone.ErrPhoneMismatch)
		evs := drain(t, ch)
		require.Equal(t, []whatsapp.PairKind{whatsapp.PairError}, kinds(evs))
		require.ErrorIs(t, evs[0].Err, simphone.ErrPhoneMismatch)
		require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonA).State)
	})

	t.Run("expired code, then timeout at the end of the window", func(t *testing.T) {
		opts := fastOptions()
		opts.PairCodeTTL = 30 * time.Millisecond
		p := simphone.New(opts)
		start := time.Now()
		ch, err := p.PairPhone(t.Context(), salonA, ownerPhone)
		require.NoError(t, err)
		ev, _ := next(t, ch)
		require.Equal(t, opts.PairCodeTTL, ev.ExpiresIn)
		time.Sleep(50 * time.Millisecond)
		require.ErrorIs(t, p.Scan(salonA, ownerPhone, ownerName), simphone.ErrCodeExpired)
		evs := drain(t, ch)
		require.Equal(t, []whatsapp.PairKind{whatsapp.PairTimeout}, kinds(evs), "no QR items, one timeout")
		require.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "timeout before the batch window ended")
	})

	t.Run("code lifetime capped at the window", func(t *testing.T) {
		opts := fastOptions()
		opts.PairCodeTTL = time.Hour
		p := simphone.New(opts)
		ch, err := p.PairPhone(t.Context(), salonA, ownerPhone)
		require.NoError(t, err)
		ev, _ := next(t, ch)
		require.Equal(t, 300*time.Millisecond, ev.ExpiresIn)
		drain(t, ch)
	})
}

func TestPairingReplacesLinkedDevice(t *testing.T) {
	p := simphone.New(fastOptions())
	old := link(t, p, salonA, ownerPhone, ownerName)

	t.Run("abandoned attempt keeps the device", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := p.PairQR(ctx, salonA)
		require.NoError(t, err)
		_, _ = next(t, ch)
		st := status(t, p, salonA)
		require.Equal(t, whatsapp.StatePairing, st.State)
		_, err = p.Send(t.Context(), salonA, whatsapp.Message{ID: "m1", Phone: clientPhone, Text: "still works"})
		require.NoError(t, err, "the old device sends until the new one pairs")
		cancel()
		drain(t, ch)
		require.Equal(t, whatsapp.Status{State: whatsapp.StateLinked, Phone: ownerDigits, Name: ownerName}, status(t, p, salonA))
	})

	t.Run("new device replaces the old one", func(t *testing.T) {
		ch, err := p.PairQR(t.Context(), salonA)
		require.NoError(t, err)
		_, _ = next(t, ch)
		require.NoError(t, p.Scan(salonA, "+49 151 12345678", "Studio Berlin"))
		evs := drain(t, ch)
		require.Equal(t, []whatsapp.PairKind{whatsapp.PairSuccess}, kinds(evs))
		require.True(t, strings.HasPrefix(evs[0].JID, "4915112345678:"), "got JID %q", evs[0].JID)
		require.NotEqual(t, old.JID, evs[0].JID)
		require.Equal(t, whatsapp.Status{State: whatsapp.StateLinked, Phone: "4915112345678", Name: "Studio Berlin"}, status(t, p, salonA))
	})

	t.Run("relinking the same account gets a new device number", func(t *testing.T) {
		again := link(t, p, salonA, ownerPhone, ownerName)
		require.Regexp(t, ownerJIDRE, again.JID)
		require.NotEqual(t, old.JID, again.JID)
	})
}

func TestUnreachableFailsFast(t *testing.T) {
	// Real 60 s QR timings, so a hang would show; only the post-scan delay is short.
	p := simphone.New(simphone.Options{ConnectDelay: 10 * time.Millisecond})
	link(t, p, salonB, ownerPhone, ownerName)
	p.SetUnreachable(true)

	start := time.Now()
	qr, err := p.PairQR(t.Context(), salonA)
	require.NoError(t, err)
	evs := drain(t, qr)
	require.Equal(t, []whatsapp.PairKind{whatsapp.PairError}, kinds(evs))
	require.ErrorIs(t, evs[0].Err, whatsapp.ErrUnreachable)

	code, err := p.PairPhone(t.Context(), salonA, ownerPhone)
	require.NoError(t, err)
	evs = drain(t, code)
	require.Equal(t, []whatsapp.PairKind{whatsapp.PairError}, kinds(evs))
	require.ErrorIs(t, evs[0].Err, whatsapp.ErrUnreachable)
	require.Less(t, time.Since(start), 250*time.Millisecond, "a machine without network fails in milliseconds")
	require.Equal(t, whatsapp.StateUnlinked, status(t, p, salonA).State)

	require.NoError(t, p.Disconnect(t.Context(), salonB))
	require.ErrorIs(t, p.Reconnect(t.Context(), salonB), whatsapp.ErrUnreachable)
	require.Equal(t, whatsapp.StateDisconnected, status(t, p, salonB).State)

	p.SetUnreachable(false)
	require.NoError(t, p.Reconnect(t.Context(), salonB))
	link(t, p, salonA, ownerPhone, ownerName)
}

func TestSubscribe(t *testing.T) {
	p := simphone.New(fastOptions())
	ctx, cancel := context.WithCancel(t.Context())
	sub := p.Subscribe(ctx)
	link(t, p, salonA, ownerPhone, ownerName)
	p.Emit(salonA, whatsapp.Status{State: whatsapp.StateLoggedOut, Reason: "removed on the phone"})

	want := []whatsapp.Status{
		{State: whatsapp.StatePairing},
		{State: whatsapp.StateLinked, Phone: ownerDigits, Name: ownerName},
		{State: whatsapp.StateLoggedOut, Reason: "removed on the phone"},
	}
	for i, w := range want {
		select {
		case got := <-sub:
			require.Equal(t, salonA, got.SalonID)
			require.Equal(t, w, got.Status, "change %d", i)
		case <-time.After(waitLimit):
			t.Fatalf("change %d not pushed", i)
		}
	}
	cancel()
	select {
	case got, ok := <-sub:
		require.False(t, ok, "got %+v after cancel, want the channel closed", got)
	case <-time.After(waitLimit):
		t.Fatal("subscription not closed after cancel")
	}
}

// TestStalledPairingShowsNothing: a stalled attempt shows no code and does not end by itself;
// the next attempt, which supersedes it, works.
func TestStalledPairingShowsNothing(t *testing.T) {
	p := simphone.New(fastOptions())
	p.StallPairing(salonA, 1)
	stalled, err := p.PairQR(t.Context(), salonA)
	require.NoError(t, err)
	select {
	case ev, ok := <-stalled:
		t.Fatalf("a stalled attempt gave %v (open %v)", ev.Kind, ok)
	case <-time.After(300 * time.Millisecond): // fastOptions shows its first code at once
	}
	require.ErrorIs(t, p.Scan(salonA, ownerPhone, ownerName), simphone.ErrNoAttempt, "no code to scan")

	cur, err := p.PairQR(t.Context(), salonA)
	require.NoError(t, err)
	require.Empty(t, drain(t, stalled), "the stalled attempt ends, superseded, with nothing")
	ev, ok := next(t, cur)
	require.True(t, ok)
	require.Equal(t, whatsapp.PairQR, ev.Kind, "the next attempt shows its code")
}
