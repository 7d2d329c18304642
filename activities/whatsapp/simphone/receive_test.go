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

// inbox is an incoming handler that records what it got.
type inbox struct {
	mu  sync.Mutex
	got []whatsapp.Incoming
}

func (b *inbox) handle(_ context.Context, m whatsapp.Incoming) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, m)
}

func (b *inbox) messages() []whatsapp.Incoming {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]whatsapp.Incoming(nil), b.got...)
}

func TestReceive(t *testing.T) {
	clk := newClock()
	opts := fastOptions()
	opts.Now = clk.Now
	p := simphone.New(opts)
	var box inbox
	p.SetIncomingHandler(box.handle)

	t.Run("no linked device", func(t *testing.T) {
		err := p.Receive(salonA, clientPhone, "стоп")
		require.ErrorIs(t, err, whatsapp.ErrNotLinked, "got %v want ErrNotLinked", err)
		require.Empty(t, p.Incoming(salonA))
		require.Empty(t, box.messages(), "the handler must not run for a refused message")
	})

	linkA(t, p)

	t.Run("invalid phone", func(t *testing.T) {
		err := p.Receive(salonA, "позвоните мне", "стоп")
		require.ErrorIs(t, err, whatsapp.ErrInvalidPhone, "got %v want ErrInvalidPhone", err)
		require.Empty(t, p.Incoming(salonA))
	})

	t.Run("recorded and handed to the handler", func(t *testing.T) {
		require.NoError(t, p.Receive(salonA, clientPhone, "стоп"))
		clk.Advance(time.Minute)
		require.NoError(t, p.Receive(salonA, "8 (999) 000-11-22", "Можно перенести на 15:00?"))

		got := p.Incoming(salonA)
		require.Len(t, got, 2)
		first := got[0]
		require.Equal(t, salonA, first.SalonID)
		require.Equal(t, clientDigits, first.From, "the sender is normalised")
		require.Equal(t, "стоп", first.Text)
		require.Empty(t, first.Name)
		require.Regexp(t, `^3EB0[0-9A-F]{18}$`, first.ID)
		require.Equal(t, time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC), first.At)
		require.Equal(t, "79990001122", got[1].From)
		require.Equal(t, first.At.Add(time.Minute), got[1].At)
		require.NotEqual(t, first.ID, got[1].ID)
		require.Equal(t, got, box.messages(), "the handler got the same messages, in order")
		require.Empty(t, p.Incoming(salonB), "other salons received nothing")
	})

	t.Run("nil handler", func(t *testing.T) {
		p.SetIncomingHandler(nil)
		require.NoError(t, p.Receive(salonA, clientPhone, "ещё раз"))
		require.Len(t, p.Incoming(salonA), 3)
		require.Len(t, box.messages(), 2, "a removed handler is not called")
	})

	t.Run("after unlink", func(t *testing.T) {
		require.NoError(t, p.Unlink(t.Context(), salonA))
		require.ErrorIs(t, p.Receive(salonA, clientPhone, "алло"), whatsapp.ErrNotLinked)
	})
}

// The handler runs without the phone's lock: answering from inside it must not deadlock, and
// concurrent messages must not race (run with -race).
func TestReceiveHandlerMayUseThePhone(t *testing.T) {
	p := simphone.New(fastOptions())
	linkA(t, p)
	p.SetIncomingHandler(func(ctx context.Context, m whatsapp.Incoming) {
		_, err := p.Send(ctx, m.SalonID, whatsapp.Message{ID: "re-" + m.ID, Phone: m.From, Text: "Вы отписались от уведомлений"})
		if err != nil {
			t.Errorf("send from the handler: %v", err)
		}
		_, _ = p.Status(ctx, m.SalonID)
		_ = p.Incoming(m.SalonID)
	})

	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if err := p.Receive(salonA, clientPhone, "стоп"); err != nil {
					t.Errorf("receive: %v", err)
				}
			})
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("Receive did not return: is the handler called under the phone's lock?")
	}
	require.Len(t, p.Incoming(salonA), 8)
	sent := p.Messages(salonA)
	require.Len(t, sent, 8, "every message was answered")
	for _, m := range sent {
		require.Equal(t, clientDigits, m.Phone)
	}
}

func TestPhoneIsAClient(t *testing.T) {
	var c whatsapp.Client = simphone.New(simphone.Options{})
	c.SetIncomingHandler(nil)
}
