package simphone

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// waitIdle fails the test unless every pairing goroutine has returned within d.
func waitIdle(t *testing.T, p *Phone, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("pairing goroutines still running after %s", d)
	}
}

func TestNoGoroutineLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	// Real 60 s timings: only cancellation can end these attempts in time.
	p := New(Options{})
	for i := range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := p.PairQR(ctx, int64(i))
		require.NoError(t, err)
		<-ch
		cancel()
		for range ch {
		}
	}
	// Superseded attempts stop too, even when nobody reads their stream.
	for range 5 {
		_, err := p.PairPhone(context.Background(), 999, "+7 999 000 11 22")
		require.NoError(t, err)
	}
	require.NoError(t, p.Unlink(context.Background(), 999))
	// Subscriptions end with their context.
	ctx, cancel := context.WithCancel(context.Background())
	p.Subscribe(ctx)
	cancel()

	waitIdle(t, p, time.Second)
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: got %d, want at most %d\n%s", got, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestFinishedAttemptsStop(t *testing.T) {
	p := New(Options{QRCodes: 2, FirstQR: 200 * time.Millisecond, NextQR: 5 * time.Millisecond, ConnectDelay: time.Millisecond})
	timeout, err := p.PairQR(context.Background(), 1)
	require.NoError(t, err)
	linked, err := p.PairQR(context.Background(), 2)
	require.NoError(t, err)
	<-linked
	require.NoError(t, p.Scan(2, "89990001122", "x"))
	waitIdle(t, p, time.Second)
	// Both streams hold their terminal item even though nobody read them while they ran.
	var last whatsapp.PairEvent
	for ev := range timeout {
		last = ev
	}
	require.Equal(t, whatsapp.PairTimeout, last.Kind)
	for ev := range linked {
		last = ev
	}
	require.Equal(t, whatsapp.PairSuccess, last.Kind)
}
