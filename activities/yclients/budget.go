package yclients

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/aiadmin/aiadmin/db"
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
	// promptHorizon is how far ahead a request a client's message waits for (Prompt) may book,
	// behind the owners' queue: longer than backgroundHorizon, so that while such requests
	// wait the other background work finds the next free slots too far ahead and leaves them.
	promptHorizon = 3 * backgroundHorizon
	// promptHold is how long after a Prompt request's slot the budget stays busy with clients'
	// messages: meanwhile the other background work books only a slot free within busyHorizon
	// (one nobody has booked, due now), not backgroundHorizon ahead. A list's pages are read one
	// after the other, and the next page, asked once the one before is in, finds the next slot
	// free instead of behind the background requests booked 2 s ahead in between; background
	// work still takes every slot the clients' messages leave. Ten seconds past the slot cover
	// YClients' answer and the next page's asking many times over: the clients' messages of a
	// busy hour come seconds apart, and each finds the next slot or the one after it.
	promptHold = 5 * backgroundHorizon
	// busyHorizon is how far ahead background work books while the budget is busy with clients'
	// messages: a slot nobody has booked, due now.
	busyHorizon = lateTolerance
	// promptLookers is how many Prompt requests of one process look for a slot at a time (as
	// backgroundLookers, in a line of their own: they do not wait behind the process's syncs).
	promptLookers = 2
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
	// turnHorizon is how far ahead a request whose turn in the owners' queue has come may book:
	// about the next free slot. An urgent request books up to urgentHorizon ahead, so it goes
	// before the turns that have come (they were taken minutes ago, at the budget's full rate,
	// and would otherwise each book the next slot and push every urgent request one later).
	turnHorizon = 2 * BudgetSpacing
	// turnLookers is how many requests of one process whose turn has come look for a slot at
	// a time; the others wait in the process, in the order they came (as backgroundLookers).
	turnLookers = 2
)

// SlotBook books request slots in a store every process shares (*db.Store): the next free
// slot, spacing after the one before, when it starts within horizon, on the terms of its
// request's class (db.SlotTerms). wait is how long until that slot (ok) or, when the queue is
// longer (not ok, nothing booked), until the first free one.
// TakeYClientsTurn gives a request in the owners' queue its turn, when it is within horizon;
// it books no slot.
type SlotBook interface {
	BookYClientsSlot(ctx context.Context, terms db.SlotTerms) (wait time.Duration, ok bool, err error)
	TakeYClientsTurn(ctx context.Context, spacing, horizon time.Duration) (wait time.Duration, ok bool, err error)
}

// Budget is the cluster-wide YClients request budget: every request of every api and worker
// process books a slot in the shared store and waits for it. Requests marked Urgent (an owner
// waiting on a page, an activation callback) may book further ahead and go ahead of the
// owners' queue; requests marked Queued (the register pages of a wave of owners) take turns
// in that queue and book their slots when their turn comes; the others book only when both
// are short, so the owners' requests go first. Among those, requests marked Prompt (a client's
// message waits for them) book further ahead than the rest, which leave them the next slots.
type Budget struct {
	slots   SlotBook
	lookers chan struct{} // the background requests looking for a slot (backgroundLookers)
	prompts chan struct{} // the Prompt requests looking for one (promptLookers)
	turns   chan struct{} // the queued requests whose turn came looking for one (turnLookers)
}

// NewBudget is the Budget over slots.
func NewBudget(slots SlotBook) *Budget {
	return &Budget{slots: slots, lookers: make(chan struct{}, backgroundLookers), prompts: make(chan struct{}, promptLookers),
		turns: make(chan struct{}, turnLookers)}
}

// ErrBudgetDeadline is returned when no slot is free before the caller's deadline.
var ErrBudgetDeadline = errors.New("yclients: no request slot free before the deadline")

// Wait books the next slot the request may have and waits for it. It never books a slot it
// could not use: one past the context's deadline is not taken. A background request first
// waits its turn among the process's (backgroundLookers); an urgent one never does; a queued
// one takes its turn in the owners' queue first; a Prompt one waits its turn among the
// process's Prompt requests only.
func (b *Budget) Wait(ctx context.Context) error {
	if u, ok := ctx.Value(urgentKey{}).(urgency); ok {
		if u.queued {
			return b.queue(ctx, u)
		}
		return b.wait(ctx, u.horizon, slotUrgent, u.booked)
	}
	if IsPrompt(ctx) {
		return b.look(ctx, b.prompts, promptHorizon, slotPrompt, nil)
	}
	return b.look(ctx, b.lookers, backgroundHorizon, slotBackground, nil)
}

// look waits its turn among the process's requests looking for a slot (lookers), then books
// one within horizon and waits for it; it leaves its place to the next once booked.
func (b *Budget) look(ctx context.Context, lookers chan struct{}, horizon time.Duration, class db.SlotTerms, booked func(time.Time)) error {
	select {
	case lookers <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	release := sync.OnceFunc(func() { <-lookers })
	defer release()
	return b.wait(ctx, horizon, class, func(slot time.Time) {
		release()
		if booked != nil {
			booked(slot)
		}
	})
}

// queue takes the request's turn in the owners' queue, within QueueHorizon, and books its slot
// when the turn comes, ahead of background work and behind urgent requests (turnHorizon);
// booked is told the turn, then the slot. Behind a queue longer than QueueHorizon it fails at
// once. A request QueuedWithNext takes the turn after its own too, and tells it to next; one
// QueuedAt has its turn already, and books its slot without waiting among the turns that
// have come.
func (b *Budget) queue(ctx context.Context, u urgency) error {
	h, booked := u.horizon, u.booked
	if dl, ok := ctx.Deadline(); ok {
		h = min(h, time.Until(dl)-50*time.Millisecond)
	}
	if h <= 0 {
		return ErrBudgetDeadline
	}
	var wait time.Duration
	if !u.turn.IsZero() {
		// The turn was taken for this request by the owner's read before it (QueuedWithNext).
		if wait = time.Until(u.turn); wait > h {
			return ErrBudgetDeadline
		}
	} else {
		turns := 1
		if u.next != nil {
			turns = 2
		}
		var ok bool
		var err error
		if wait, ok, err = b.slots.TakeYClientsTurn(ctx, time.Duration(turns)*BudgetSpacing, h); err != nil {
			return fmt.Errorf("yclients: request budget: %w", err)
		}
		if !ok {
			return ErrBudgetDeadline
		}
	}
	turn := u.turn
	if turn.IsZero() {
		turn = time.Now().Add(wait)
		if u.next != nil {
			u.next(turn.Add(BudgetSpacing))
		}
	}
	if booked != nil {
		booked(turn)
	}
	if err := sleep(ctx, wait); err != nil {
		return err
	}
	if !u.turn.IsZero() {
		// The read before it kept this turn for it and has its answer: it goes next, not
		// behind the turns that came meanwhile and wait for a slot (turnLookers), which in a
		// wave are the owners' after it.
		return b.wait(ctx, turnHorizon, slotAtTurn, booked)
	}
	return b.look(ctx, b.turns, turnHorizon, slotAtTurn, booked)
}

// The classes of slot (db.SlotTerms without Spacing and Horizon): how a request's slot
// relates to the owners' queue.
var (
	// slotBackground: after the owners' queue; while clients' messages are read, only a slot
	// free now.
	slotBackground = db.SlotTerms{BehindQueue: true, BusyHorizon: busyHorizon}
	// slotPrompt: after the owners' queue; keeps the budget busy (promptHold).
	slotPrompt = db.SlotTerms{BehindQueue: true, HoldBackground: promptHold}
	slotUrgent = db.SlotTerms{PushQueue: true} // ahead of it, moving it a slot later
	// slotAtTurn: its turn in the queue has come; while it looks, and for a while after its
	// slot, a background request (backgroundHorizon) does not go before it or the owners' next
	// turns (the same owner's next read among them), which do not wait for that hold.
	slotAtTurn = db.SlotTerms{HoldQueue: backgroundHorizon + BudgetSpacing}
)

// wait books a slot within horizon and waits for it; booked is told the slot each time it
// books one (nil: nobody asks). Behind a longer queue it looks again later.
func (b *Budget) wait(ctx context.Context, horizon time.Duration, class db.SlotTerms, booked func(slot time.Time)) error {
	for {
		h := horizon
		if dl, ok := ctx.Deadline(); ok {
			h = min(h, time.Until(dl)-50*time.Millisecond)
		}
		if h <= 0 {
			return ErrBudgetDeadline
		}
		terms := class
		terms.Spacing, terms.Horizon = BudgetSpacing, h
		wait, ok, err := b.slots.BookYClientsSlot(ctx, terms)
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
	queued  bool                 // Queued: takes a turn in the owners' queue; a queue longer than horizon fails at once
	next    func(turn time.Time) // QueuedWithNext: told the turn taken after the request's own
	turn    time.Time            // QueuedAt: the turn taken for the request
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

// QueuedWithNext is Queued for a read the same owner's next read follows (the salon's company,
// then the integration's status): its turn in the owners' queue is taken together with the one
// after it, which next is told, for that read (QueuedAt). A wave's owners then have their two
// reads one after the other, and the first owners are done first, instead of every owner's
// second read waiting behind the first reads of all who came meanwhile. A Limiter that is not a
// Budget never calls next.
func QueuedWithNext(ctx context.Context, booked, next func(turn time.Time)) context.Context {
	return context.WithValue(ctx, urgentKey{}, urgency{horizon: QueueHorizon, booked: booked, queued: true, next: next})
}

// QueuedAt is Queued for a read whose turn in the owners' queue the read before it took
// (QueuedWithNext's next): it takes no turn of its own, and books its slot when that one comes.
func QueuedAt(ctx context.Context, turn time.Time, booked func(slot time.Time)) context.Context {
	return context.WithValue(ctx, urgentKey{}, urgency{horizon: QueueHorizon, booked: booked, queued: true, turn: turn})
}

// Prompt marks ctx's YClients requests as ones a client's message waits for (the re-read of
// a booking before its confirmation or reminder): behind the owners (Urgent, Queued), ahead of
// the other background work (catalogue syncs, status checks), which they pass in the process
// and in the shared store (promptHorizon).
func Prompt(ctx context.Context) context.Context {
	if IsUrgent(ctx) {
		return ctx
	}
	return context.WithValue(ctx, promptKey{}, true)
}

type promptKey struct{}

// IsPrompt reports whether ctx was marked Prompt.
func IsPrompt(ctx context.Context) bool { return ctx.Value(promptKey{}) != nil }

// IsUrgent reports whether ctx was marked Urgent or Queued.
func IsUrgent(ctx context.Context) bool { _, ok := ctx.Value(urgentKey{}).(urgency); return ok }

// OnSending returns ctx with fn, which the client calls each time one of ctx's requests has
// had its turn in the limiter and is about to go out (a list read's first page marks when
// the read began: what YClients answers is from after that moment).
func OnSending(ctx context.Context, fn func()) context.Context {
	return context.WithValue(ctx, sendingKey{}, fn)
}

type sendingKey struct{}

// Sending calls ctx's OnSending function, if any: the client calls it right before a request
// goes out, and a fake of the client should too.
func Sending(ctx context.Context) {
	if fn, ok := ctx.Value(sendingKey{}).(func()); ok {
		fn()
	}
}
