package simphone

import (
	"context"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// SetIncomingHandler registers the function that receives every message Receive simulates; nil
// removes it. Like the real adapter there is one handler per phone, and a later call replaces it.
func (p *Phone) SetIncomingHandler(h whatsapp.IncomingHandler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onIncoming = h
}

// Receive simulates a client writing text from the phone number from to the salon's linked
// number. The number is normalised like a send's (an invalid one fails with an error wrapping
// whatsapp.ErrInvalidPhone), and a salon without a linked device fails with
// whatsapp.ErrNotLinked. The message gets a generated WhatsApp ID and the phone's clock time, is
// recorded (see Incoming) and is then handed to the incoming handler, if any, on the caller's
// goroutine and without the phone's lock held, so the handler may call Send to answer.
//
// The sender has no push name (Incoming.Name is empty). The connection state is not consulted:
// WhatsApp would hold a message for a disconnected device until it reconnects, and the
// simulation delivers it at once instead.
func (p *Phone) Receive(salonID int64, from, text string) error {
	digits, err := whatsapp.NormalizePhone(from)
	if err != nil {
		return err
	}
	p.mu.Lock()
	s := p.salonLocked(salonID)
	if s.dev == nil {
		p.mu.Unlock()
		return whatsapp.ErrNotLinked
	}
	m := whatsapp.Incoming{SalonID: salonID, ID: newMessageID(), From: digits, Text: text, At: p.opts.Now()}
	s.incoming = append(s.incoming, m)
	h := p.onIncoming
	p.mu.Unlock()

	if h != nil {
		// The handler's context stands for the live connection, which a simulated message
		// outlives; nothing cancels it.
		h(context.Background(), m)
	}
	return nil
}

// Incoming returns a copy of the messages the salon's number received, in order.
func (p *Phone) Incoming(salonID int64) []whatsapp.Incoming {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salons[salonID]
	if s == nil {
		return nil
	}
	return append([]whatsapp.Incoming(nil), s.incoming...)
}
