package wameow

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// These tests drive whatsmeow's own handlers offline through DangerousInternals (reference
// §5.4): whatsmeow internals that may change, so they are used sparingly. The client is attached
// without connecting, so no whatsmeow goroutine runs alongside.

// failure is the <failure reason=…> node the server sends when it refuses a login.
func failure(reason int, attrs waBinary.Attrs) *waBinary.Node {
	a := waBinary.Attrs{"reason": strconv.Itoa(reason)}
	for k, v := range attrs {
		a[k] = v
	}
	return &waBinary.Node{Tag: "failure", Attrs: a}
}

func TestLoggedOutClearsMapping(t *testing.T) {
	f := newFixture(t)
	jid := f.linkOffline(t, salonA, 11)
	c := f.attachIdle(t, salonA, jid)

	// whatsmeow's handling of failure 401: LoggedOut event, and it deletes the device itself.
	c.wa.DangerousInternals().HandleConnectFailure(context.Background(), failure(401, nil))

	require.Eventually(t, func() bool { return f.status(t, salonA).State == whatsapp.StateLoggedOut },
		hangLimit, 10*time.Millisecond, "state never became logged_out")
	require.Eventually(t, func() bool { return !f.mappingExists(t, salonA) }, hangLimit, 10*time.Millisecond,
		"the mapping was not cleared")
	require.False(t, f.deviceExists(t, jid), "whatsmeow deletes the credentials on LoggedOut")
	st := f.status(t, salonA)
	require.Contains(t, st.Reason, "401")
	require.Empty(t, st.Phone)
	require.Eventually(t, func() bool {
		states := f.events.states()
		return len(states) > 0 && states[len(states)-1] == whatsapp.StateLoggedOut
	}, hangLimit, 10*time.Millisecond, "Events did not report logged_out: got %v", f.events.states())

	_, err := f.a.Send(t.Context(), salonA, whatsapp.Message{ID: "z", Phone: clientPhone, Text: "hi"})
	require.ErrorIs(t, err, whatsapp.ErrNotLinked)
	require.ErrorIs(t, f.a.Reconnect(t.Context(), salonA), whatsapp.ErrNotLinked)
}

func TestTemporaryBanBlocksReconnect(t *testing.T) {
	f := newFixture(t)
	jid := f.linkOffline(t, salonA, 12)
	c := f.attachIdle(t, salonA, jid)

	c.wa.DangerousInternals().HandleConnectFailure(context.Background(),
		failure(402, waBinary.Attrs{"code": "101", "expire": "3600"}))

	require.Eventually(t, func() bool { return f.status(t, salonA).State == whatsapp.StateTempBanned },
		hangLimit, 10*time.Millisecond, "state never became temp_banned")
	st := f.status(t, salonA)
	require.WithinDuration(t, time.Now().Add(time.Hour), st.Until, time.Minute)
	require.Contains(t, st.Reason, "101")
	require.True(t, f.deviceExists(t, jid), "a ban keeps the credentials")

	err := f.a.Reconnect(t.Context(), salonA)
	require.ErrorIs(t, err, whatsapp.ErrNotConnected, "got %v", err)
	require.Contains(t, err.Error(), "temporarily banned until")
	_, err = f.a.Send(t.Context(), salonA, whatsapp.Message{ID: "b", Phone: clientPhone, Text: "hi"})
	require.ErrorIs(t, err, whatsapp.ErrNotConnected)

	require.Eventually(t, func() bool {
		row, err := f.store.GetWhatsAppDevice(t.Context(), salonA)
		return err == nil && row.State == string(whatsapp.StateTempBanned) && row.StateUntil != nil
	}, hangLimit, 10*time.Millisecond, "the ban is stored with its end")
}

func TestIncomingText(t *testing.T) {
	f := newFixture(t)
	jid := f.linkOffline(t, salonA, 13)
	c := f.attachIdle(t, salonA, jid)

	got := make(chan whatsapp.Incoming, 4)
	f.a.SetIncomingHandler(func(_ context.Context, m whatsapp.Incoming) { got <- m })

	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	client := types.NewJID("79161234567", types.DefaultUserServer)
	lid := types.NewJID("123456789012345", types.HiddenUserServer)
	msg := func(src types.MessageSource, id string, m *waE2E.Message) *events.Message {
		return &events.Message{Info: types.MessageInfo{MessageSource: src, ID: id, PushName: "Анна", Timestamp: at}, Message: m}
	}
	dispatch := c.wa.DangerousInternals().DispatchEvent
	dispatch(msg(types.MessageSource{Chat: client, Sender: client}, "M1", &waE2E.Message{Conversation: proto.String("Записаться на завтра")}))
	dispatch(msg(types.MessageSource{Chat: lid, Sender: lid, SenderAlt: client}, "M2",
		&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("Спасибо")}}))
	// Skipped: own message, group, no text.
	dispatch(msg(types.MessageSource{Chat: client, Sender: jid.ToNonAD(), IsFromMe: true}, "M3", &waE2E.Message{Conversation: proto.String("own")}))
	group := types.NewJID("1203630000", types.GroupServer)
	dispatch(msg(types.MessageSource{Chat: group, Sender: client, IsGroup: true}, "M4", &waE2E.Message{Conversation: proto.String("group")}))
	dispatch(msg(types.MessageSource{Chat: client, Sender: client}, "M5", &waE2E.Message{}))

	for _, want := range []whatsapp.Incoming{
		{SalonID: salonA, ID: "M1", From: "79161234567", Name: "Анна", Text: "Записаться на завтра", At: at},
		{SalonID: salonA, ID: "M2", From: "79161234567", Name: "Анна", Text: "Спасибо", At: at},
	} {
		select {
		case m := <-got:
			require.Equal(t, want, m)
		case <-time.After(hangLimit):
			t.Fatalf("no incoming message %s", want.ID)
		}
	}
	select {
	case m := <-got:
		t.Fatalf("got unexpected incoming message %+v", m)
	default:
	}

	f.a.SetIncomingHandler(nil)
	dispatch(msg(types.MessageSource{Chat: client, Sender: client}, "M6", &waE2E.Message{Conversation: proto.String("x")}))
	require.Empty(t, got)
}
