package wameow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

const (
	salonA = int64(101)
	salonB = int64(202)

	ownerDigits = "79990001122"
	clientPhone = "+7 916 123-45-67"

	// hangLimit only catches hangs: every offline failure here takes milliseconds.
	hangLimit = 10 * time.Second
)

// offlineDialer fails every dial at once, like a machine without network, and counts the dials
// so a test can prove whatsmeow went through it.
type offlineDialer struct{ dials atomic.Int64 }

func (d *offlineDialer) DialContext(_ context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("test: network disabled (" + addr + ")")}
}

// hangingDial never connects: it blocks until the dial's context ends, like a SYN that is
// never answered.
func hangingDial(ctx context.Context, _, _ string) (net.Conn, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// recorder collects Options.Events calls.
type recorder struct {
	mu  sync.Mutex
	got []whatsapp.Status
}

func (r *recorder) record(_ int64, st whatsapp.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, st)
}

func (r *recorder) states() []whatsapp.LinkState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]whatsapp.LinkState, len(r.got))
	for i, st := range r.got {
		out[i] = st.State
	}
	return out
}

type fixture struct {
	a      *Adapter
	store  *db.Store
	dsn    string
	dialer *offlineDialer
	events *recorder
}

// newFixture opens an adapter on a fresh database with WhatsApp unreachable.
func newFixture(t *testing.T, tune ...func(*Options)) *fixture {
	t.Helper()
	st, dsn := dbtest.New(t) // dropped with its session database, <name>_wa
	f := &fixture{store: st, dsn: dsn, dialer: &offlineDialer{}, events: &recorder{}}
	opts := Options{
		DSN:                 dsn,
		Store:               st,
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxReconnectBackoff: 2 * time.Second,
		ConnectTimeout:      3 * time.Second,
		Events:              f.events.record,
		DialContext:         f.dialer.DialContext,
	}
	for _, fn := range tune {
		fn(&opts)
	}
	a, err := New(t.Context(), opts)
	require.NoError(t, err)
	t.Cleanup(a.Close)
	f.a = a
	return f
}

// linkOffline stores credentials for a made-up device in the session store and maps the salon
// to it, as a finished pairing would, without any network.
func (f *fixture) linkOffline(t *testing.T, salonID int64, device uint16) types.JID {
	t.Helper()
	ctx := t.Context()
	dev := f.a.sessions.container.NewDevice()
	jid := types.JID{User: ownerDigits, Device: device, Server: types.DefaultUserServer}
	dev.ID = &jid
	dev.Account = &waAdv.ADVSignedDeviceIdentity{
		Details:             []byte{1},
		AccountSignature:    make([]byte, 64),
		AccountSignatureKey: make([]byte, 32),
		DeviceSignature:     make([]byte, 64),
	}
	require.NoError(t, dev.Save(ctx))
	_, err := f.store.UpsertWhatsAppDevice(ctx, sqlc.UpsertWhatsAppDeviceParams{
		SalonID: salonID, DeviceJid: jid.String(), Phone: jid.User, PushName: "Салон", State: string(whatsapp.StateLinked),
	})
	require.NoError(t, err)
	return jid
}

// deviceExists reports whether the session store still holds the device's credentials.
func (f *fixture) deviceExists(t *testing.T, jid types.JID) bool {
	t.Helper()
	dev, err := f.a.sessions.container.GetDevice(t.Context(), jid)
	require.NoError(t, err)
	return dev != nil
}

// mappingExists reports whether the salon still has a row in whatsapp_devices.
func (f *fixture) mappingExists(t *testing.T, salonID int64) bool {
	t.Helper()
	_, err := f.store.GetWhatsAppDevice(t.Context(), salonID)
	err = db.NotFound(err)
	if errors.Is(err, db.ErrNotFound) {
		return false
	}
	require.NoError(t, err)
	return true
}

// attachIdle gives a mapped salon a long-lived client without connecting it, so a test can
// drive whatsmeow's own handlers with no whatsmeow goroutine running.
func (f *fixture) attachIdle(t *testing.T, salonID int64, jid types.JID) *client {
	t.Helper()
	s, err := f.a.load(t.Context(), salonID)
	require.NoError(t, err)
	dev, err := f.a.sessions.container.GetDevice(t.Context(), jid)
	require.NoError(t, err)
	require.NotNil(t, dev)
	f.a.mu.Lock()
	defer f.a.mu.Unlock()
	c := f.a.attachLocked(s, dev, false)
	f.a.setConnLocked(s, whatsapp.StateLinked, "")
	return c
}

// status returns the salon's status, failing the test on error.
func (f *fixture) status(t *testing.T, salonID int64) whatsapp.Status {
	t.Helper()
	st, err := f.a.Status(t.Context(), salonID)
	require.NoError(t, err)
	return st
}

// drain reads a pairing stream to its close, failing the test if it hangs.
func drain(t *testing.T, ch <-chan whatsapp.PairEvent) []whatsapp.PairEvent {
	t.Helper()
	var evs []whatsapp.PairEvent
	deadline := time.After(hangLimit)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-deadline:
			t.Fatalf("pairing stream neither ended nor closed within %s; got %d items", hangLimit, len(evs))
			return nil
		}
	}
}
