package yclients

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Limiter spaces the client's requests: Wait returns when the next one may go. A
// *rate.Limiter is one (per process, tests); a *Budget is the cluster-wide one.
type Limiter interface {
	Wait(ctx context.Context) error
}

// YClients allows 200 requests a minute, or 5 a second, per IP address (reference §6), for all
// of our processes together.
const (
	// BudgetSpacing spaces the cluster's requests evenly: 60 s / 200 = 300 ms, plus a margin,
	// so that neither the minute's 200 nor (with network jitter) a second's 5 is ever passed.
	BudgetSpacing = 305 * time.Millisecond
	// urgentHorizon is how far ahead a request the owner is waiting for (the register page,
	// the activation callback) may book its slot.
	urgentHorizon = 30 * time.Second
	// QueueHorizon is how far ahead a request an owner waits for in a queue (Queued) may
	// book: a wave of owners connecting at once lines up for up to this long.
	QueueHorizon = 15 * time.Minute
	// backgroundHorizon is how far ahead any other request (catalogue sync, re-reads, status
	// checks) may book: behind a longer queue it waits and looks again, leaving the next
	// free slots to the owners.
	backgroundHorizon = 2 * time.Second
	// lateTolerance is how late after its slot a request may still go.
	lateTolerance = 100 * time.Millisecond
	// lookAgain is the shortest wait before a request the queue was too long for looks again.
	lookAgain = 300 * time.Millisecond
	// backgroundLookers is how many background requests of one process look for a slot at a
	// time; the others wait their turn in the process. Behind a queue as long as their horizon
	// a looker looks again every few hundred milliseconds: a wave's 500 catalogue syncs all
	// looking asked the shared store over 600 times a second, each a locked UPDATE every
	// process waits on, for the 3 slots a second there are.
	backgroundLookers = 2
)

// SlotBook books request slots in a store every process shares (*db.Store): the next free
// slot, spacing after the one before, when it starts within horizon. wait is how long until
// that slot (ok) or, when the queue is longer (not ok, nothing booked), until the first free one.
type SlotBook interface {
	ReserveYClientsSlot(ctx context.Context, spacing, horizon time.Duration) (wait time.Duration, ok bool, err error)
}

// Budget is the cluster-wide YClients request budget: every request of every api and worker
// process books a slot in the shared store and waits for it. Requests marked Urgent (an owner
// waiting on a page) may book far ahead; the others book only when the queue is short, so the
// owner's requests go first.
type Budget struct {
	slots   SlotBook
	lookers chan struct{} // the background requests looking for a slot (backgroundLookers)
}

// NewBudget is the Budget over slots.
func NewBudget(slots SlotBook) *Budget {
	return &Budget{slots: slots, lookers: make(chan struct{}, backgroundLookers)}
}

// ErrBudgetDeadline is returned when no slot is free before the caller's deadline.
var ErrBudgetDeadline = errors.New("yclients: no request slot free before the deadline")

// Wait books the next slot the request may have and waits for it. It never books a slot it
// could not use: one past the context's deadline is not taken. A background request first
// waits its turn among the process's (backgroundLookers); an urgent one never does.
func (b *Budget) Wait(ctx context.Context) error {
	if u, ok := ctx.Value(urgentKey{}).(urgency); ok {
		return b.wait(ctx, u.horizon, u.booked, !u.queued)
	}
	select {
	case b.lookers <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	release := sync.OnceFunc(func() { <-b.lookers })
	defer release()
	return b.wait(ctx, backgroundHorizon, func(time.Time) { release() }, true)
}

// wait books a slot within horizon and waits for it; booked is told the slot each time it
// books one (nil: nobody asks). Behind a longer queue a patient request looks again later;
// another fails at once.
func (b *Budget) wait(ctx context.Context, horizon time.Duration, booked func(slot time.Time), patient bool) error {
	for {
		h := horizon
		if dl, ok := ctx.Deadline(); ok {
			h = min(h, time.Until(dl)-50*time.Millisecond)
		}
		if h <= 0 {
			return ErrBudgetDeadline
		}
		wait, ok, err := b.slots.ReserveYClientsSlot(ctx, BudgetSpacing, h)
		if err != nil {
			return fmt.Errorf("yclients: request budget: %w", err)
		}
		if ok {
			slot := time.Now().Add(wait)
			if booked != nil {
				booked(slot)
			}
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			if time.Since(slot) <= lateTolerance {
				return nil
			}
			// Woken too late (a busy machine): going now could land right next to the slots
			// after ours. Book again.
			continue
		}
		if !patient {
			return ErrBudgetDeadline
		}
		// Look again once the queue could be short enough, at a random point of that span:
		// a thousand waiting requests do not all look at once.
		span := max(wait-h, lookAgain)
		if err := sleep(ctx, span/2+time.Duration(rand.Int64N(int64(span)))); err != nil {
			return err
		}
	}
}

type urgentKey struct{}

// urgency is how a request someone waits for books its slot.
type urgency struct {
	horizon time.Duration
	booked  func(slot time.Time) // nil: nobody asks
	queued  bool                 // Queued: a queue longer than horizon fails at once
}

// Urgent marks ctx's YClients requests as ones an owner is waiting for: they are served
// before background work (Budget), within urgentHorizon.
func Urgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, urgency{horizon: urgentHorizon})
}

// Queued marks ctx's YClients requests as ones an owner waits for in a queue (the register
// page of a wave of owners): they are served before background work, and book a slot up to
// QueueHorizon ahead; booked is told the slot when the Budget books it, so that the page can
// say when the answer is due. Behind a queue longer still, Wait fails at once with
// ErrBudgetDeadline. A Limiter that is not a Budget never calls booked.
func Queued(ctx context.Context, booked func(slot time.Time)) context.Context {
	return context.WithValue(ctx, urgentKey{}, urgency{horizon: QueueHorizon, booked: booked, queued: true})
}

// IsUrgent reports whether ctx was marked Urgent or Queued.
func IsUrgent(ctx context.Context) bool { _, ok := ctx.Value(urgentKey{}).(urgency); return ok }
