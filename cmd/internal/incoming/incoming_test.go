package incoming_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/cmd/internal/incoming"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"github.com/aiadmin/aiadmin/workflows"
)

const salonID = int64(100001)

// linkedPhone is a simulated phone with salon 100001 linked.
func linkedPhone(t *testing.T) *simphone.Phone {
	t.Helper()
	phone := simphone.New(simphone.Options{ConnectDelay: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	items, err := phone.PairQR(ctx, salonID)
	require.NoError(t, err)
	<-items
	require.NoError(t, phone.Scan(salonID, "79990001122", "Бархат"))
	require.Eventually(t, func() bool {
		st, err := phone.Status(ctx, salonID)
		return err == nil && st.State == whatsapp.StateLinked
	}, 5*time.Second, 10*time.Millisecond)
	return phone
}

func TestOptOutIsStoredAndAcknowledgedOnce(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	phone := linkedPhone(t)
	h := incoming.New(incoming.Options{Store: store, Ledger: ledger.New(store, phone, nil)})
	for _, text := range []string{" Стоп! ", "стоп", "STOP"} {
		require.NoError(t, h.Handle(ctx, whatsapp.Incoming{SalonID: salonID, From: "+79161234567", Text: text}))
	}
	var acks []string
	for _, m := range phone.Messages(salonID) {
		if m.Phone == "79161234567" {
			acks = append(acks, m.Text)
		}
	}
	require.Len(t, acks, 1, "one short acknowledgement")
	out, err := store.IsOptedOut(ctx, sqlc.IsOptedOutParams{SalonID: salonID, Phone: "79161234567"})
	require.NoError(t, err)
	require.True(t, out)

	require.NoError(t, h.Handle(ctx, whatsapp.Incoming{SalonID: salonID, From: "79160000000", Text: "Спасибо, до встречи"}))
	out, err = store.IsOptedOut(ctx, sqlc.IsOptedOutParams{SalonID: salonID, Phone: "79160000000"})
	require.NoError(t, err)
	require.False(t, out, "other messages are left to the salon")
}

func TestIsOptOut(t *testing.T) {
	for _, text := range []string{"стоп", " Стоп! ", "STOP", "Отписаться.", "отписка", "unsubscribe"} {
		require.True(t, incoming.IsOptOut(text), text)
	}
	for _, text := range []string{"стоп-кран сломался", "не стоп", ""} {
		require.False(t, incoming.IsOptOut(text), text)
	}
}

// startedReplies records the client-reply workflows the handler signals-with-start.
type startedReplies struct {
	mu    sync.Mutex
	calls []startCall
}

type startCall struct {
	id    string
	reply workflows.ClientReply
	input workflows.ClientReplyInput
	opts  client.StartWorkflowOptions
}

func (s *startedReplies) SignalWithStartWorkflow(_ context.Context, id, signal string, arg any,
	opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if signal != workflows.SignalClientReply || wf != workflows.ClientReplyWorkflowName || len(args) != 1 {
		return nil, fmt.Errorf("unexpected call: %s %v %d", signal, wf, len(args))
	}
	s.calls = append(s.calls, startCall{id: id, reply: arg.(workflows.ClientReply), input: args[0].(workflows.ClientReplyInput), opts: opts})
	return nil, nil
}

// «стоп», «старт», «стоп» again: each change answered once, and the client gets messages
// again in between; «старт» from a client who never opted out is left to the salon.
func TestStopStartStop(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	phone := linkedPhone(t)
	h := incoming.New(incoming.Options{Store: store, Ledger: ledger.New(store, phone, nil)})
	optedOut := func() bool {
		out, err := store.IsOptedOut(ctx, sqlc.IsOptedOutParams{SalonID: salonID, Phone: "79161234567"})
		require.NoError(t, err)
		return out
	}
	sent := func() []string {
		var out []string
		for _, m := range phone.Messages(salonID) {
			if m.Phone == "79161234567" {
				out = append(out, m.Text)
			}
		}
		return out
	}
	require.NoError(t, h.Handle(ctx, whatsapp.Incoming{SalonID: salonID, From: "79161234567", Text: "старт"}))
	require.Empty(t, sent(), "not opted out: «старт» is left to the salon")

	for _, step := range []struct {
		text    string
		out     bool
		answers int
	}{
		{"стоп", true, 1}, {"СТАРТ!", false, 2}, {"start", false, 2}, {"Стоп.", true, 3}, {"стоп", true, 3},
	} {
		require.NoError(t, h.Handle(ctx, whatsapp.Incoming{SalonID: salonID, From: "79161234567", Text: step.text}))
		require.Equal(t, step.out, optedOut(), step.text)
		require.Len(t, sent(), step.answers, step.text)
		time.Sleep(2 * time.Millisecond) // opt-outs apart in time, as people write them
	}
	got := sent()
	require.Contains(t, got[0], "больше не будем присылать")
	require.Contains(t, got[1], "снова будем присылать")
	require.Contains(t, got[2], "больше не будем присылать")
}

// A recognised reply is handed to the client's client-reply workflow, named without the
// phone; anything else is not.
func TestRepliesGoToTheClientReplyWorkflow(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	phone := linkedPhone(t)
	wf := &startedReplies{}
	key := []byte("0123456789abcdef0123456789abcdef")
	h := incoming.New(incoming.Options{Store: store, Ledger: ledger.New(store, phone, nil), Temporal: wf,
		TaskQueue: "q", RefKey: key})
	at := time.Date(2026, 12, 11, 18, 5, 0, 0, time.UTC)
	for _, text := range []string{"1", "Да, приду!", "не смогу", "5 звёзд", "Спасибо!", "а можно на 15:00?", "стоп-кран"} {
		require.NoError(t, h.Handle(ctx, whatsapp.Incoming{SalonID: salonID, ID: "ID-" + text, From: "+7 916 123-45-67", Text: text, At: at}))
	}
	require.Len(t, wf.calls, 4)
	want := []workflows.ClientReply{
		{MessageID: "ID-1", Kind: texts.ReplyNumber, Number: 1, At: at},
		{MessageID: "ID-Да, приду!", Kind: texts.ReplyConfirm, At: at},
		{MessageID: "ID-не смогу", Kind: texts.ReplyDecline, At: at},
		{MessageID: "ID-5 звёзд", Kind: texts.ReplyNumber, Number: 5, At: at},
	}
	ref := incoming.ClientRef(key, salonID, "79161234567")
	for i, c := range wf.calls {
		require.Equal(t, want[i], c.reply)
		require.Equal(t, workflows.ReplyID(salonID, ref), c.id)
		require.Equal(t, c.id, c.opts.ID)
		require.Equal(t, "q", c.opts.TaskQueue)
		require.NotContains(t, c.id, "9161234567")
		require.Equal(t, workflows.ClientReplyInput{SalonID: salonID, Phone: "79161234567"}, c.input)
	}
	require.Empty(t, phone.Messages(salonID), "the workflow answers, not the handler")
}

func TestClientRef(t *testing.T) {
	k1, k2 := []byte("key-one-0123456789abcdef01234567"), []byte("key-two-0123456789abcdef01234567")
	a := incoming.ClientRef(k1, 100001, "79161234567")
	require.Len(t, a, 20)
	require.Equal(t, a, incoming.ClientRef(k1, 100001, "79161234567"), "stable")
	require.NotEqual(t, a, incoming.ClientRef(k1, 100002, "79161234567"), "per salon")
	require.NotEqual(t, a, incoming.ClientRef(k1, 100001, "79161234568"), "per phone")
	require.NotEqual(t, a, incoming.ClientRef(k2, 100001, "79161234567"), "keyed")
}
