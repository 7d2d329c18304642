package simserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

const (
	callTimeout        = 15 * time.Second
	reopenBackoffFirst = 200 * time.Millisecond
	reopenBackoffMax   = 5 * time.Second
	pairBuffer         = 16
	maxLine            = 1 << 20
)

// ClientOptions configures a Client.
type ClientOptions struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8091.
	URL string
	// ID names this client (one per process) on the server; default "<host>-<pid>-<random>".
	ID string
	// Events, if set, receives the link changes the server pushes for this client's connections
	// (replaced, logged out, banned, ...), on the session stream's goroutine.
	Events func(salonID int64, st whatsapp.Status)
	Logger *slog.Logger
}

// Client is the whatsapp.Client of one process against a Server. Its connections live as long
// as its session stream, which it opens on the first connect or pairing and reopens (with the
// connections it held, except those kicked or logged out) if it breaks. Safe for concurrent use.
type Client struct {
	opts    ClientOptions
	base    string
	log     *slog.Logger
	calls   *http.Client
	streams *http.Client

	ctx    context.Context // the client's lifetime; Close cancels it
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	sess *clientSession
	held map[int64]bool // salons this client connected and has not let go

	incoming atomic.Pointer[whatsapp.IncomingHandler]
}

var _ whatsapp.Client = (*Client)(nil)

// clientSession is one open (or opening) session stream.
type clientSession struct {
	ready chan struct{} // closed once the server said hello
	done  chan struct{} // closed when the stream ended; err says why
	err   error
}

// NewClient returns a client; nothing is sent until the first call.
func NewClient(opts ClientOptions) (*Client, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("simserver: bad server URL %q", opts.URL)
	}
	if opts.ID == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		opts.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		opts: opts, base: strings.TrimRight(opts.URL, "/"), log: opts.Logger.With("component", "simserver-client"),
		calls: &http.Client{Timeout: callTimeout}, streams: &http.Client{},
		ctx: ctx, cancel: cancel, held: make(map[int64]bool),
	}, nil
}

// ID is this client's name on the server.
func (c *Client) ID() string { return c.opts.ID }

// Close ends the session stream (the server closes this client's connections) and every
// pairing attempt, and waits for the client's goroutines.
func (c *Client) Close() {
	c.cancel()
	c.wg.Wait()
}

// session returns once the session stream is open.
func (c *Client) session(ctx context.Context) error {
	c.mu.Lock()
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		return fmt.Errorf("simserver: client closed: %w", whatsapp.ErrNotConnected)
	}
	s := c.sess
	if s == nil {
		s = &clientSession{ready: make(chan struct{}), done: make(chan struct{})}
		c.sess = s
		c.wg.Add(1)
		go c.runSession(s)
	}
	c.mu.Unlock()
	select {
	case <-s.ready:
		return nil
	case <-s.done:
		return fmt.Errorf("simserver: session: %w: %w", whatsapp.ErrUnreachable, s.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runSession reads one session stream until it ends. If it had been open and the client is
// not closed, the held connections are re-established on a new stream, as whatsmeow
// reconnects by itself after a dropped socket.
func (c *Client) runSession(s *clientSession) {
	defer c.wg.Done()
	opened, err := c.readSession(s)
	c.mu.Lock()
	s.err = err
	close(s.done)
	if c.sess == s {
		c.sess = nil
	}
	closed := c.ctx.Err() != nil
	c.mu.Unlock()
	if !opened || closed {
		return
	}
	c.log.Warn("simserver: session stream ended; reconnecting", "err", err)
	c.wg.Add(1)
	go c.reopen()
}

func (c *Client) readSession(s *clientSession) (opened bool, err error) {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, c.base+"/v1/stream?client="+url.QueryEscape(c.opts.ID), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.streams.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, decodeError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return opened, fmt.Errorf("simserver: bad stream line: %w", err)
		}
		switch ev.Type {
		case "hello":
			if !opened {
				opened = true
				close(s.ready)
			}
		case "status":
			if ev.Status != nil {
				c.onStatus(ev.SalonID, ev.Status.status())
			}
		case "incoming":
			if h := c.incoming.Load(); h != nil && ev.Incoming != nil && *h != nil {
				(*h)(c.ctx, whatsapp.Incoming{SalonID: ev.SalonID, ID: ev.Incoming.ID, From: ev.Incoming.From,
					Name: ev.Incoming.Name, Text: ev.Incoming.Text, At: ev.Incoming.At})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return opened, err
	}
	return opened, errors.New("simserver: session stream closed by the server")
}

// onStatus handles a pushed link change: after replaced or logged out the connection is gone
// for good and is not re-established (a client that reconnects after «stream replaced» would
// ping-pong with the other one).
func (c *Client) onStatus(salonID int64, st whatsapp.Status) {
	switch st.State {
	case whatsapp.StateReplaced, whatsapp.StateLoggedOut, whatsapp.StateUnlinked:
		c.mu.Lock()
		delete(c.held, salonID)
		c.mu.Unlock()
		if st.State == whatsapp.StateReplaced {
			c.log.Warn("simserver: stream replaced: another client connected this salon's device; not reconnecting", "salonID", salonID)
		}
	}
	if c.opts.Events != nil {
		c.opts.Events(salonID, st)
	}
}

// reopen opens a new session stream and connects the held salons again, with a backoff.
func (c *Client) reopen() {
	defer c.wg.Done()
	delay := reopenBackoffFirst
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(delay):
		}
		c.mu.Lock()
		ids := make([]int64, 0, len(c.held))
		for id := range c.held {
			ids = append(ids, id)
		}
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(c.ctx, callTimeout)
		err := c.Connect(ctx, ids)
		cancel()
		if err == nil {
			return
		}
		c.log.Warn("simserver: reconnect failed", "err", err)
		delay = min(2*delay, reopenBackoffMax)
	}
}

// call sends one JSON request and decodes the JSON answer into out (if not nil).
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body *bytes.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	} else {
		body = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.calls.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Like a dropped socket: temporary, and a send cannot have gone out.
		return fmt.Errorf("simserver: %w: %w: %v", whatsapp.ErrNotConnected, whatsapp.ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return decodeError(resp)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func decodeError(resp *http.Response) error {
	var e wireError
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Code == "" {
		return fmt.Errorf("simserver: HTTP %d", resp.StatusCode)
	}
	return errorOf(e)
}

func salonQuery(client string, salonID int64) string {
	return "client=" + url.QueryEscape(client) + "&salon_id=" + strconv.FormatInt(salonID, 10)
}

// Status reports the salon's link state as this client sees it (see Server).
func (c *Client) Status(ctx context.Context, salonID int64) (whatsapp.Status, error) {
	var st wireStatus
	if err := c.call(ctx, http.MethodGet, "/v1/status?"+salonQuery(c.opts.ID, salonID), nil, &st); err != nil {
		return whatsapp.Status{}, err
	}
	return st.status(), nil
}

// Send delivers one text over this client's connection to the salon's device. It fails with
// ErrNotConnected unless this client holds the live connection.
func (c *Client) Send(ctx context.Context, salonID int64, msg whatsapp.Message) (string, error) {
	var out sendResponse
	err := c.call(ctx, http.MethodPost, "/v1/send", sendRequest{Client: c.opts.ID, SalonID: salonID, ID: msg.ID, Phone: msg.Phone, Text: msg.Text}, &out)
	return out.ID, err
}

// Connect connects the salons' kept devices over this client (taking over a shard); salons
// without a device are skipped. It tries every salon and returns the errors joined.
func (c *Client) Connect(ctx context.Context, salonIDs []int64) error {
	if len(salonIDs) == 0 {
		return nil
	}
	if err := c.session(ctx); err != nil {
		return err
	}
	var errs []error
	for _, id := range salonIDs {
		err := c.call(ctx, http.MethodPost, "/v1/connect", salonRequest{Client: c.opts.ID, SalonID: id}, nil)
		switch {
		case err == nil:
			c.hold(id, true)
		case errors.Is(err, whatsapp.ErrNotLinked):
			c.hold(id, false)
		default:
			errs = append(errs, fmt.Errorf("salon %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Release closes this client's connections to the salons without marking them frozen (the
// salons' shard goes to another worker).
func (c *Client) Release(ctx context.Context, salonIDs []int64) error {
	var errs []error
	for _, id := range salonIDs {
		c.hold(id, false)
		if err := c.call(ctx, http.MethodPost, "/v1/disconnect", disconnectRequest{Client: c.opts.ID, SalonID: id, Mode: modeRelease}, nil); err != nil {
			errs = append(errs, fmt.Errorf("salon %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// Linked lists the salons with a kept device that are not frozen: the ones a worker taking
// over their shard connects.
func (c *Client) Linked(ctx context.Context) ([]int64, error) {
	var devs []Device
	if err := c.call(ctx, http.MethodGet, "/v1/devices", nil, &devs); err != nil {
		return nil, err
	}
	var ids []int64
	for _, d := range devs {
		if !d.Frozen {
			ids = append(ids, d.SalonID)
		}
	}
	return ids, nil
}

func (c *Client) hold(salonID int64, held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if held {
		c.held[salonID] = true
	} else {
		delete(c.held, salonID)
	}
}

// Disconnect closes the connection and keeps the device (freeze).
func (c *Client) Disconnect(ctx context.Context, salonID int64) error {
	c.hold(salonID, false)
	return c.call(ctx, http.MethodPost, "/v1/disconnect", disconnectRequest{Client: c.opts.ID, SalonID: salonID, Mode: modeFreeze}, nil)
}

// Reconnect connects the kept device over this client (unfreeze), taking the connection over.
func (c *Client) Reconnect(ctx context.Context, salonID int64) error {
	if err := c.session(ctx); err != nil {
		return err
	}
	if err := c.call(ctx, http.MethodPost, "/v1/connect", salonRequest{Client: c.opts.ID, SalonID: salonID}, nil); err != nil {
		return err
	}
	c.hold(salonID, true)
	return nil
}

// Unlink logs the salon's device out and forgets it.
func (c *Client) Unlink(ctx context.Context, salonID int64) error {
	c.hold(salonID, false)
	return c.call(ctx, http.MethodPost, "/v1/unlink", salonRequest{Client: c.opts.ID, SalonID: salonID}, nil)
}

// SetIncomingHandler registers the handler of messages to salons this client is connected to.
func (c *Client) SetIncomingHandler(h whatsapp.IncomingHandler) {
	if h == nil {
		c.incoming.Store(nil)
		return
	}
	c.incoming.Store(&h)
}
