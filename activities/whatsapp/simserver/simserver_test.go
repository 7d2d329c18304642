package simserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

func newServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s := New(Options{Phone: simphone.Options{FirstQR: 5 * time.Second, NextQR: time.Second, ConnectDelay: 10 * time.Millisecond}})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// statusLog records the link changes pushed to a client.
type statusLog struct {
	mu  sync.Mutex
	got []whatsapp.LinkState
}

func (l *statusLog) add(_ int64, st whatsapp.Status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, st.State)
}

func (l *statusLog) states() []whatsapp.LinkState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]whatsapp.LinkState(nil), l.got...)
}

func newClient(t *testing.T, ts *httptest.Server, id string, events *statusLog) *Client {
	t.Helper()
	opts := ClientOptions{URL: ts.URL, ID: id}
	if events != nil {
		opts.Events = events.add
	}
	c, err := NewClient(opts)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// pair links the salon through the client: first QR, scan, success.
func pair(t *testing.T, s *Server, c *Client, salon int64, phone string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := c.PairQR(ctx, salon)
	require.NoError(t, err)
	first := <-ch
	require.Equal(t, whatsapp.PairQR, first.Kind)
	require.True(t, strings.HasPrefix(first.Code, "https://wa.me/settings/linked_devices#"))
	require.NoError(t, s.Scan(salon, phone, "Салон"))
	var last whatsapp.PairEvent
	for ev := range ch {
		last = ev
	}
	require.Equal(t, whatsapp.PairSuccess, last.Kind, "got %+v", last)
	require.Equal(t, phone, last.Phone)
}

func status(t *testing.T, c *Client, salon int64) whatsapp.LinkState {
	t.Helper()
	st, err := c.Status(context.Background(), salon)
	require.NoError(t, err)
	return st.State
}

func TestPairSendIdempotentByID(t *testing.T) {
	s, ts := newServer(t)
	a := newClient(t, ts, "a", nil)
	pair(t, s, a, 1, "79990001122")
	require.Equal(t, whatsapp.StateLinked, status(t, a, 1))
	require.Equal(t, []Connection{{SalonID: 1, Client: "a", Since: s.Connections()[0].Since}}, s.Connections())

	ctx := context.Background()
	msg := whatsapp.Message{ID: "3EB0AA", Phone: "+7 916 123-45-67", Text: "Здравствуйте"}
	id, err := a.Send(ctx, 1, msg)
	require.NoError(t, err)
	require.Equal(t, "3EB0AA", id)
	id, err = a.Send(ctx, 1, msg) // a retry after a lost reply
	require.NoError(t, err)
	require.Equal(t, "3EB0AA", id)
	require.Len(t, s.Messages(1), 1, "recorded once")
	require.Equal(t, Stats{DuplicateSends: 1}, s.Stats())

	resp, err := http.Get(ts.URL + "/messages?salon_id=1")
	require.NoError(t, err)
	defer resp.Body.Close()
	var listed []Message
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&listed))
	require.Len(t, listed, 1)
	require.Equal(t, "3EB0AA", listed[0].ID)
	require.Equal(t, "79161234567", listed[0].Phone)

	_, err = a.Send(ctx, 1, whatsapp.Message{ID: "3EB0AB", Phone: "12", Text: "x"})
	require.ErrorIs(t, err, whatsapp.ErrInvalidPhone)
	_, err = a.Send(ctx, 2, whatsapp.Message{ID: "3EB0AC", Phone: "79161234567", Text: "x"})
	require.ErrorIs(t, err, whatsapp.ErrNotLinked)
}

// A second client connecting the same device kicks the first: «stream replaced».
func TestSecondConnectionReplacesTheFirst(t *testing.T) {
	s, ts := newServer(t)
	var aEvents statusLog
	a := newClient(t, ts, "a", &aEvents)
	b := newClient(t, ts, "b", nil)
	pair(t, s, a, 1, "79990001122")
	ctx := context.Background()

	require.NoError(t, b.Connect(ctx, []int64{1}))
	require.Equal(t, 1, s.Stats().Replaced)
	require.Equal(t, whatsapp.StateReplaced, status(t, a, 1))
	require.Equal(t, whatsapp.StateLinked, status(t, b, 1))
	_, err := a.Send(ctx, 1, whatsapp.Message{ID: "1", Phone: "79161234567", Text: "x"})
	require.ErrorIs(t, err, whatsapp.ErrNotConnected)
	_, err = b.Send(ctx, 1, whatsapp.Message{ID: "2", Phone: "79161234567", Text: "x"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(aEvents.states()) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []whatsapp.LinkState{whatsapp.StateReplaced}, aEvents.states())
	require.Equal(t, "b", s.Connections()[0].Client, "the kicked client does not reconnect")
}

// A process that dies closes its session stream: its connections end without a kick, and the
// next owner connects cleanly.
func TestSessionEndClosesConnectionsWithoutAKick(t *testing.T) {
	s, ts := newServer(t)
	a := newClient(t, ts, "a", nil)
	b := newClient(t, ts, "b", nil)
	pair(t, s, a, 1, "79990001122")
	require.Len(t, s.Connections(), 1)
	a.Close()
	require.Eventually(t, func() bool { return len(s.Connections()) == 0 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, b.Connect(context.Background(), []int64{1, 2}), "salon 2 has no device: skipped")
	require.Equal(t, []int64{1}, []int64{s.Connections()[0].SalonID})
	require.Equal(t, "b", s.Connections()[0].Client)
	require.Zero(t, s.Stats().Replaced)
}

// A broken session stream is reopened and the held connections come back, as whatsmeow
// reconnects after a dropped socket; a kicked one does not.
func TestBrokenSessionReconnectsHeldSalons(t *testing.T) {
	s, ts := newServer(t)
	var aEvents statusLog
	a := newClient(t, ts, "a", &aEvents)
	b := newClient(t, ts, "b", nil)
	pair(t, s, a, 1, "79990001122")
	pair(t, s, a, 2, "79990001123")
	require.NoError(t, b.Connect(context.Background(), []int64{2}))
	require.Equal(t, 1, s.Stats().Replaced)
	// a lets salon 2 go when the kick reaches it over its stream; a stream that breaks before
	// it does loses the kick, and a takes salon 2 back, as a whatsmeow client that missed its
	// StreamReplaced would. This test is about the kick that arrived.
	require.Eventually(t, func() bool { return slices.Contains(aEvents.states(), whatsapp.StateReplaced) },
		5*time.Second, 5*time.Millisecond, "a is told salon 2 was taken")
	ts.CloseClientConnections()
	require.Eventually(t, func() bool {
		c := s.Connections()
		return len(c) == 2 && c[0].Client == "a" && c[1].Client == "b"
	}, 10*time.Second, 20*time.Millisecond, "connections back: salon 1 on a, salon 2 on b")
	require.Equal(t, 1, s.Stats().Replaced, "salon 2 was not taken back")
}

func TestReleaseFreezeAndLinked(t *testing.T) {
	s, ts := newServer(t)
	a := newClient(t, ts, "a", nil)
	b := newClient(t, ts, "b", nil)
	pair(t, s, a, 1, "79990001122")
	pair(t, s, a, 2, "79990001123")
	ctx := context.Background()
	ids, err := b.Linked(ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2}, ids)

	require.NoError(t, a.Release(ctx, []int64{1}))
	require.NoError(t, a.Disconnect(ctx, 2)) // freeze
	require.Empty(t, s.Connections())
	require.Equal(t, whatsapp.StateDisconnected, status(t, a, 1))
	ids, err = b.Linked(ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, ids, "a frozen salon is not connected by the next owner")

	require.NoError(t, b.Connect(ctx, ids))
	require.NoError(t, b.Reconnect(ctx, 2)) // unfreeze
	require.Len(t, s.Connections(), 2)
	require.Zero(t, s.Stats().Replaced)

	require.NoError(t, b.Unlink(ctx, 2))
	require.Equal(t, whatsapp.StateUnlinked, status(t, b, 2))
	require.ErrorIs(t, b.Reconnect(ctx, 2), whatsapp.ErrNotLinked)
	ids, err = b.Linked(ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, ids)
}

// TestRestoreAfterRestart: devices restored into a new server (the session store outlived it)
// are listed, nobody holds them until a client connects, and frozen ones are left alone.
func TestRestoreAfterRestart(t *testing.T) {
	s, ts := newServer(t)
	s.Restore(1, "79990001122", "Салон", false)
	s.Restore(2, "79990001123", "Салон 2", true)
	c := newClient(t, ts, "a", nil)
	ctx := context.Background()
	ids, err := c.Linked(ctx)
	require.NoError(t, err)
	require.Equal(t, []int64{1}, ids, "the frozen salon is not connected by an owner")
	require.Empty(t, s.Connections())
	require.Equal(t, whatsapp.StateDisconnected, status(t, c, 1))

	require.NoError(t, c.Connect(ctx, ids))
	require.Equal(t, whatsapp.StateLinked, status(t, c, 1))
	id, err := c.Send(ctx, 1, whatsapp.Message{ID: "m1", Phone: "79161234567", Text: "Здравствуйте"})
	require.NoError(t, err)
	require.Equal(t, "m1", id)
	require.Len(t, s.Messages(1), 1)
	require.Equal(t, whatsapp.StateDisconnected, status(t, c, 2))
}

func TestIncomingGoesToTheLiveConnection(t *testing.T) {
	s, ts := newServer(t)
	a := newClient(t, ts, "a", nil)
	got := make(chan whatsapp.Incoming, 1)
	a.SetIncomingHandler(func(_ context.Context, m whatsapp.Incoming) { got <- m })
	pair(t, s, a, 1, "79990001122")
	resp, err := http.Post(ts.URL+"/control/receive", "application/json",
		strings.NewReader(`{"salon_id":1,"from":"+79161234567","text":"стоп"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	select {
	case m := <-got:
		require.Equal(t, whatsapp.Incoming{SalonID: 1, ID: m.ID, From: "79161234567", Text: "стоп", At: m.At}, m)
	case <-time.After(5 * time.Second):
		t.Fatal("no incoming message")
	}
}

func TestPairingCancelAndErrors(t *testing.T) {
	s, ts := newServer(t)
	a := newClient(t, ts, "a", nil)
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := a.PairQR(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, whatsapp.PairQR, (<-ch).Kind)
	cancel()
	for ev := range ch {
		require.False(t, ev.Terminal(), "cancel closes the stream without a terminal item, got %+v", ev)
	}
	require.Eventually(t, func() bool { return s.Scan(1, "79990001122", "x") != nil }, 5*time.Second, 10*time.Millisecond)

	_, err = a.PairPhone(context.Background(), 1, "12")
	require.ErrorIs(t, err, whatsapp.ErrInvalidPhone)

	s.Phone().SetUnreachable(true)
	ch, err = a.PairQR(context.Background(), 1)
	require.NoError(t, err)
	ev := <-ch
	require.Equal(t, whatsapp.PairError, ev.Kind)
	require.ErrorIs(t, ev.Err, whatsapp.ErrUnreachable)

	dead, err := NewClient(ClientOptions{URL: "http://127.0.0.1:1", ID: "dead"})
	require.NoError(t, err)
	defer dead.Close()
	_, err = dead.PairQR(context.Background(), 1)
	require.ErrorIs(t, err, whatsapp.ErrUnreachable)
	_, err = dead.Send(context.Background(), 1, whatsapp.Message{ID: "x", Phone: "79161234567", Text: "x"})
	require.ErrorIs(t, err, whatsapp.ErrNotConnected)
	require.Equal(t, fmt.Sprint(whatsapp.StateUnlinked), fmt.Sprint(status(t, a, 99)))
}
