package shard

import (
	"context"
	"errors"
	"fmt"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// ErrNotOwner is wrapped (together with whatsapp.ErrElsewhere and ErrNotConnected, so callers
// retry) by calls for a salon whose shard this process does not own.
var ErrNotOwner = errors.New("shard: the salon's WhatsApp connection belongs to another worker process")

// Guard wraps the process's whatsapp.Client so that it touches only salons whose shard this
// process owns: sends, pairing, disconnect, reconnect and unlink of other salons fail with
// ErrNotOwner, and Status of other salons is passed through (it opens nothing). The first use
// of an owned salon that is not connected yet connects it (a salon that could not be connected
// when the shard was taken over). Pairing attempts end when the shard is lost.
func (m *Manager) Guard(c whatsapp.Client) whatsapp.Client {
	return &guard{Client: c, m: m}
}

type guard struct {
	whatsapp.Client
	m *Manager
}

func notOwner(salonID int64) error {
	return fmt.Errorf("salon %d: %w: %w: %w", salonID, ErrNotOwner, whatsapp.ErrElsewhere, whatsapp.ErrNotConnected)
}

// owned returns the salon's running term, connecting the salon in it first if needed.
func (g *guard) owned(ctx context.Context, salonID int64, connect bool) (*term, error) {
	t := g.m.termOf(salonID)
	if t == nil || !t.allowed.Load() {
		return nil, notOwner(salonID)
	}
	if !connect {
		return t, nil
	}
	t.mu.Lock()
	attached := t.attached[salonID]
	t.mu.Unlock()
	if attached {
		return t, nil
	}
	if g.m.opts.Eligible != nil {
		if ok, err := g.m.opts.Eligible(ctx, salonID); err == nil && !ok {
			return t, nil // frozen or gone: nothing to connect; the call answers for itself
		}
	}
	g.m.connect(ctx, t, salonID)
	return t, nil
}

func (g *guard) Status(ctx context.Context, salonID int64) (whatsapp.Status, error) {
	if _, err := g.owned(ctx, salonID, true); err != nil && !errors.Is(err, ErrNotOwner) {
		return whatsapp.Status{}, err
	}
	return g.Client.Status(ctx, salonID)
}

func (g *guard) Send(ctx context.Context, salonID int64, msg whatsapp.Message) (string, error) {
	if _, err := g.owned(ctx, salonID, true); err != nil {
		return "", err
	}
	return g.Client.Send(ctx, salonID, msg)
}

func (g *guard) Disconnect(ctx context.Context, salonID int64) error {
	if _, err := g.owned(ctx, salonID, false); err != nil {
		return err
	}
	return g.Client.Disconnect(ctx, salonID)
}

func (g *guard) Reconnect(ctx context.Context, salonID int64) error {
	t, err := g.owned(ctx, salonID, false)
	if err != nil {
		return err
	}
	t.gate.RLock()
	defer t.gate.RUnlock()
	if !t.allowed.Load() {
		return notOwner(salonID)
	}
	t.attach(salonID)
	return g.Client.Reconnect(ctx, salonID)
}

func (g *guard) Unlink(ctx context.Context, salonID int64) error {
	if _, err := g.owned(ctx, salonID, false); err != nil {
		return err
	}
	return g.Client.Unlink(ctx, salonID)
}

func (g *guard) PairQR(ctx context.Context, salonID int64) (<-chan whatsapp.PairEvent, error) {
	return g.pair(ctx, salonID, func(ctx context.Context) (<-chan whatsapp.PairEvent, error) {
		return g.Client.PairQR(ctx, salonID)
	})
}

func (g *guard) PairPhone(ctx context.Context, salonID int64, phone string) (<-chan whatsapp.PairEvent, error) {
	return g.pair(ctx, salonID, func(ctx context.Context) (<-chan whatsapp.PairEvent, error) {
		return g.Client.PairPhone(ctx, salonID, phone)
	})
}

// pair runs a pairing attempt that also ends with the shard's term. The paired device's
// connection counts as opened in the term; if the term ended meanwhile it is closed at once.
func (g *guard) pair(ctx context.Context, salonID int64, start func(context.Context) (<-chan whatsapp.PairEvent, error)) (<-chan whatsapp.PairEvent, error) {
	t, err := g.owned(ctx, salonID, false)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.ctx, cancel)
	in, err := start(pctx)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	out := make(chan whatsapp.PairEvent, cap(in))
	go func() {
		defer close(out)
		defer cancel()
		defer stop()
		for ev := range in {
			if ev.Kind == whatsapp.PairSuccess {
				t.gate.RLock()
				ok := t.allowed.Load()
				if ok {
					t.attach(salonID)
				}
				t.gate.RUnlock()
				if !ok {
					rctx, rcancel := context.WithTimeout(context.Background(), sessionOpTimeout)
					_ = g.m.opts.Sessions.Release(rctx, []int64{salonID})
					rcancel()
					continue // the attempt was cancelled with the term: no terminal item
				}
			}
			select {
			case out <- ev:
			case <-pctx.Done():
				return
			}
		}
	}()
	return out, nil
}
