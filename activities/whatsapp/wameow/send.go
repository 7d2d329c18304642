package wameow

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// Send delivers one text message from the salon's linked number. The phone is normalised with
// whatsapp.NormalizePhone, looked up with IsOnWhatsApp and the message sent to the JID WhatsApp
// returns, under msg.ID (an empty ID gets a generated one), so a retry of the same message
// cannot deliver twice; an ID this adapter already delivered for the salon returns at once.
// Errors: ErrInvalidPhone, ErrNotLinked (no device), ErrNotConnected (retry later),
// ErrNotOnWhatsApp, ErrReachoutLimited (463: the account may not message new contacts).
func (a *Adapter) Send(ctx context.Context, salonID int64, msg whatsapp.Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	to, err := whatsapp.NormalizePhone(msg.Phone)
	if err != nil {
		return "", err
	}
	s, err := a.load(ctx, salonID)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	if s.dev == nil {
		a.mu.Unlock()
		return "", whatsapp.ErrNotLinked
	}
	if _, ok := s.sentIDs[msg.ID]; ok && msg.ID != "" {
		a.mu.Unlock()
		return msg.ID, nil
	}
	c := s.cli
	if c == nil || !c.wa.IsLoggedIn() {
		err := stateError(s)
		a.mu.Unlock()
		return "", fmt.Errorf("wameow: send: %w", err)
	}
	a.mu.Unlock()

	res, err := c.wa.IsOnWhatsApp(ctx, []string{"+" + to})
	if err != nil {
		return "", sendError("is on whatsapp", err)
	}
	if len(res) == 0 || !res[0].IsIn || res[0].JID.IsEmpty() {
		return "", whatsapp.ErrNotOnWhatsApp
	}
	id := types.MessageID(msg.ID)
	if id == "" {
		id = c.wa.GenerateMessageID()
	}
	_, err = c.wa.SendMessage(ctx, res[0].JID, &waE2E.Message{Conversation: proto.String(msg.Text)},
		whatsmeow.SendRequestExtra{ID: id})
	if err != nil {
		return "", sendError("send", err)
	}
	a.mu.Lock()
	s.rememberSentLocked(string(id))
	a.mu.Unlock()
	return string(id), nil
}

// SetIncomingHandler registers the function that receives every text message a client sends to
// any linked salon number; nil removes it. It runs on whatsmeow's dispatcher goroutine and must
// return quickly.
func (a *Adapter) SetIncomingHandler(h whatsapp.IncomingHandler) {
	if h == nil {
		a.incoming.Store(nil)
		return
	}
	a.incoming.Store(&h)
}

// onMessage hands a text message from a person's one-to-one chat to the incoming handler. Own
// messages, groups, broadcasts, newsletters and non-text messages are skipped.
func (a *Adapter) onMessage(s *salon, c *client, e *events.Message) {
	hp := a.incoming.Load()
	if hp == nil || e.Message == nil {
		return
	}
	a.mu.Lock()
	current := s.cli == c
	a.mu.Unlock()
	info := e.Info
	if !current || info.IsFromMe || info.IsGroup || info.Chat.IsBroadcastList() ||
		(info.Chat.Server != types.DefaultUserServer && info.Chat.Server != types.HiddenUserServer) {
		return
	}
	text := e.Message.GetConversation()
	if text == "" {
		text = e.Message.GetExtendedTextMessage().GetText()
	}
	if text == "" {
		return
	}
	from := a.senderPhone(c, info.MessageSource)
	if from == "" {
		a.log.Warn("wameow: incoming message without a resolvable phone number; skipped", "salonID", s.id, "messageID", info.ID)
		return
	}
	(*hp)(a.base, whatsapp.Incoming{
		SalonID: s.id, ID: string(info.ID), From: from, Name: info.PushName, Text: text, At: info.Timestamp,
	})
}

// senderPhone returns the sender's phone digits. Chats addressed by LID (hidden user ID) carry
// the phone number as the alternative address or in whatsmeow's LID map.
func (a *Adapter) senderPhone(c *client, src types.MessageSource) string {
	switch {
	case src.Sender.Server == types.DefaultUserServer:
		return src.Sender.User
	case src.SenderAlt.Server == types.DefaultUserServer:
		return src.SenderAlt.User
	case src.Sender.Server == types.HiddenUserServer && c.wa.Store.LIDs != nil:
		ctx, cancel := dbCtx()
		defer cancel()
		pn, err := c.wa.Store.LIDs.GetPNForLID(ctx, src.Sender.ToNonAD())
		if err == nil && pn.Server == types.DefaultUserServer {
			return pn.User
		}
	}
	return ""
}
