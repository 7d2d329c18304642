package wameow

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.mau.fi/whatsmeow/store"
	"google.golang.org/protobuf/proto"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/db"
)

// Defaults for Options.
const (
	defaultMaxReconnectBackoff = 60 * time.Second
	defaultConnectTimeout      = 15 * time.Second
	defaultMaxBatchesPerHour   = 6
	changeQueueSize            = 1024
	dbOpTimeout                = 10 * time.Second
)

// deviceOS is the name the phone shows under Linked devices. whatsmeow keeps it in a package
// global, so it is set once, before any client connects.
const deviceOS = "AI Admin"

var setDeviceOSOnce sync.Once

// Options configures the adapter. Zero values take the defaults.
type Options struct {
	// DSN is the application database's DSN; the session store lives next to it in database
	// <name>_wa (see the package doc), or exactly here if the name already ends in "_wa".
	DSN string
	// Store is the application store holding the salon → device JID mapping.
	Store *db.Store
	// Logger receives the adapter's and whatsmeow's logs (debug output of whatsmeow is dropped).
	Logger *slog.Logger
	// MaxReconnectBackoff caps the delay between automatic reconnects (default 60 s).
	MaxReconnectBackoff time.Duration
	// ConnectTimeout bounds one connect, up to the first QR code of a pairing attempt or the
	// login of a Reconnect; beyond it the attempt fails with whatsapp.ErrUnreachable (default 15 s).
	ConnectTimeout time.Duration
	// MaxBatchesPerHour limits the batches of codes a salon may get per hour (default 6).
	MaxBatchesPerHour int
	// Events, if set, receives every change of a salon's link status. It runs on one adapter
	// goroutine, in order, after the change is stored; a slow callback delays later changes.
	Events func(salonID int64, st whatsapp.Status)
	// DialContext, if set, dials every connection of every whatsmeow client (the websocket and
	// media). Tests set it to a function that fails at once so nothing touches the network.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Adapter is the whatsapp.Client over whatsmeow. It is safe for concurrent use.
type Adapter struct {
	opts     Options
	log      *slog.Logger
	waLog    waLogger
	store    *db.Store
	sessions *sessionStore

	// base bounds every long-lived connection; cancelled by Close.
	base   context.Context
	cancel context.CancelFunc
	closed atomic.Bool

	mu      sync.Mutex
	salons  map[int64]*salon
	closing bool // set by Close under mu; no tracked goroutine starts after it

	incoming atomic.Pointer[whatsapp.IncomingHandler]
	changes  chan change
	quit     chan struct{}
	queueWG  sync.WaitGroup
	wg       sync.WaitGroup // pairing, connect and retire goroutines
}

var _ whatsapp.Client = (*Adapter)(nil)

// New opens the session store (creating its database and upgrading its schema under an
// advisory lock) and returns an adapter with no live connections; call Start to connect the
// linked salons.
func New(ctx context.Context, opts Options) (*Adapter, error) {
	if opts.Store == nil {
		return nil, errors.New("wameow: Options.Store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxReconnectBackoff <= 0 {
		opts.MaxReconnectBackoff = defaultMaxReconnectBackoff
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = defaultConnectTimeout
	}
	if opts.MaxBatchesPerHour <= 0 {
		opts.MaxBatchesPerHour = defaultMaxBatchesPerHour
	}
	setDeviceOSOnce.Do(func() { store.DeviceProps.Os = proto.String(deviceOS) })

	log := opts.Logger.With("component", "wameow")
	wl := waLogger{log: log, module: "whatsmeow"}
	sessions, err := openSessionStore(ctx, opts.DSN, wl.Sub("Store"))
	if err != nil {
		return nil, err
	}
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a := &Adapter{
		opts:     opts,
		log:      log,
		waLog:    wl,
		store:    opts.Store,
		sessions: sessions,
		base:     base,
		cancel:   cancel,
		salons:   make(map[int64]*salon),
		changes:  make(chan change, changeQueueSize),
		quit:     make(chan struct{}),
	}
	a.queueWG.Add(1)
	go a.runChanges()
	return a, nil
}

// Close ends every pairing attempt and connection (credentials are kept), waits for the
// adapter's goroutines, flushes pending status changes and closes the session store's pool.
// A connect stuck in whatsmeow's noise handshake can delay it by up to 20 s.
func (a *Adapter) Close() {
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		return
	}
	a.closed.Store(true)
	a.cancel()
	var gone []<-chan struct{}
	for _, s := range a.salons {
		if s.attempt != nil {
			s.attempt.cancel()
		}
		if s.cli != nil {
			gone = append(gone, a.retireLocked(s))
		}
	}
	a.closing = true
	a.mu.Unlock()
	for _, g := range gone {
		<-g
	}
	a.wg.Wait()
	close(a.quit)
	a.queueWG.Wait()
	a.sessions.close()
}

// httpClient is the HTTP client for whatsmeow connections when Options.DialContext is set.
func (a *Adapter) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         a.opts.DialContext,
		TLSHandshakeTimeout: a.opts.ConnectTimeout,
	}}
}

// dbCtx is a context for a store write that must finish even if the caller's context ends.
func dbCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), dbOpTimeout)
}
