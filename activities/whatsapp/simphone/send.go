package simphone

import (
	"context"
	"fmt"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// Send delivers one text message. A message ID that was already delivered for the salon is not
// sent again: the call records nothing and returns the same ID, so a retry after a lost reply
// cannot deliver twice. An empty ID gets a generated one.
func (p *Phone) Send(ctx context.Context, salonID int64, msg whatsapp.Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	to, err := whatsapp.NormalizePhone(msg.Phone)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.salonLocked(salonID)
	if msg.ID != "" {
		if _, ok := s.sentIDs[msg.ID]; ok {
			return msg.ID, nil
		}
	}
	if err := p.sendableLocked(s); err != nil {
		return "", err
	}
	if err := p.sendErr[to]; err != nil {
		// whatsmeow names the recipient's JID in its send errors; so does the simulation.
		return "", fmt.Errorf("simphone: send to %s@s.whatsapp.net: %w", to, err)
	}
	id := msg.ID
	if id == "" {
		id = newMessageID()
	}
	s.sent = append(s.sent, Sent{ID: id, Phone: to, Text: msg.Text, At: p.opts.Now()})
	s.sentIDs[id] = struct{}{}
	return id, nil
}

// sendableLocked maps the salon's link state to the error a real send would hit. A pairing
// attempt does not stop the current device from sending: it is replaced only on success.
func (p *Phone) sendableLocked(s *salon) error {
	if s.dev == nil {
		return whatsapp.ErrNotLinked
	}
	if p.unreachable {
		return fmt.Errorf("simphone: send: %w: %w", whatsapp.ErrNotConnected, whatsapp.ErrUnreachable)
	}
	switch s.conn {
	case whatsapp.StateLinked:
	case whatsapp.StateTempBanned:
		return fmt.Errorf("simphone: send: %w: %s", whatsapp.ErrNotConnected, banText(s.ban))
	default:
		return fmt.Errorf("simphone: send: %w: %s", whatsapp.ErrNotConnected, s.conn)
	}
	if s.restrict.active(p.opts.Now()) {
		return fmt.Errorf("simphone: send: %w", whatsapp.ErrReachoutLimited)
	}
	return nil
}

// banText describes a temporary ban for an error message.
func banText(h *hold) string {
	if h == nil {
		return whatsapp.BanText(time.Time{}, "")
	}
	return whatsapp.BanText(h.until, h.reason)
}
