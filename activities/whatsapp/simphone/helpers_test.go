package simphone_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

const (
	salonA = int64(101)
	salonB = int64(202)

	ownerPhone   = "8 (999) 000-11-22"
	ownerDigits  = "79990001122"
	ownerName    = "Салон Лаванда"
	clientPhone  = "+7 916 123-45-67"
	clientDigits = "79161234567"

	// waitLimit bounds every wait on a stream, so a broken phone fails the test instead of hanging it.
	waitLimit = 3 * time.Second
)

// fastOptions are short timings for tests: a 6-code batch of 200 ms + 5*20 ms = 300 ms. The
// first code lasts long enough for a loaded CI machine to scan it.
func fastOptions() simphone.Options {
	return simphone.Options{
		QRCodes:      6,
		FirstQR:      200 * time.Millisecond,
		NextQR:       20 * time.Millisecond,
		PairCodeTTL:  100 * time.Millisecond,
		ConnectDelay: 10 * time.Millisecond,
	}
}

// next reads one item from the stream; ok is false when the stream is closed.
func next(t *testing.T, ch <-chan whatsapp.PairEvent) (whatsapp.PairEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(waitLimit):
		t.Fatalf("no item and no close within %s", waitLimit)
		return whatsapp.PairEvent{}, false
	}
}

// drain reads the stream to its close and returns every item.
func drain(t *testing.T, ch <-chan whatsapp.PairEvent) []whatsapp.PairEvent {
	t.Helper()
	var evs []whatsapp.PairEvent
	for {
		ev, ok := next(t, ch)
		if !ok {
			return evs
		}
		evs = append(evs, ev)
	}
}

// kinds lists the kinds of the items, for readable failures.
func kinds(evs []whatsapp.PairEvent) []whatsapp.PairKind {
	ks := make([]whatsapp.PairKind, len(evs))
	for i, ev := range evs {
		ks[i] = ev.Kind
	}
	return ks
}

// link pairs the salon by QR with the given owner phone and returns the success item.
func link(t *testing.T, p *simphone.Phone, salonID int64, phone, name string) whatsapp.PairEvent {
	t.Helper()
	ch, err := p.PairQR(t.Context(), salonID)
	require.NoError(t, err)
	first, ok := next(t, ch)
	require.True(t, ok)
	require.Equal(t, whatsapp.PairQR, first.Kind)
	require.NoError(t, p.Scan(salonID, phone, name))
	evs := drain(t, ch)
	require.Len(t, evs, 1, "got %v, want one success", kinds(evs))
	require.Equal(t, whatsapp.PairSuccess, evs[0].Kind, "got %v", kinds(evs))
	return evs[0]
}

// status returns the salon's status, failing the test on error.
func status(t *testing.T, p *simphone.Phone, salonID int64) whatsapp.Status {
	t.Helper()
	st, err := p.Status(context.Background(), salonID)
	require.NoError(t, err)
	return st
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
