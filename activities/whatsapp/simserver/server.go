// Package simserver is a fake WhatsApp service that several processes can share: an HTTP
// server holding the simulated phones (devices per salon, pairing, sent messages, who is
// connected) and a whatsapp.Client that talks to it. It exists to test what one process cannot
// show: that every salon's live connection has exactly one owner across worker processes.
//
// It is faithful where that matters. A device has one live connection: when a second client
// connects the same device the server kicks the first, whose status becomes StateReplaced and
// whose sends fail with ErrNotConnected, as WhatsApp's «stream replaced» does; the server
// counts those kicks (Stats.Replaced). A client's connections live as long as its session
// stream (one long-lived HTTP request per client, standing for whatsmeow's websocket): when
// the process dies, the socket closes and the server drops its connections, without a kick.
// Sends are idempotent by message ID: a retry with the same ID is answered with the ID and
// recorded once. Pairing, timings and send errors come from a simphone.Phone underneath.
//
// The server also plays the shared session store: it lists the salons with a device and
// remembers which are deliberately disconnected (frozen), so a worker taking over a shard
// knows whom to connect.
package simserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
)

const (
	defaultPing    = 10 * time.Second
	sessionBuffer  = 256
	maxRequestBody = 1 << 20
)

// Options configures the server. Zero values take the defaults.
type Options struct {
	// Phone tunes the simulated phone underneath (pairing schedule, connect delay).
	Phone simphone.Options
	// Ping is how often an idle session stream carries a keep-alive line (default 10 s).
	Ping   time.Duration
	Logger *slog.Logger
}

// Server is the fake WhatsApp service; it is an http.Handler and safe for concurrent use.
type Server struct {
	opts  Options
	log   *slog.Logger
	phone *simphone.Phone
	mux   *http.ServeMux

	mu       sync.Mutex
	sessions map[string]*session // client ID -> its open session stream
	links    map[int64]*link
	sent     map[int64]map[string]bool // salon -> delivered message IDs
	stats    Stats
}

// session is a client's open session stream.
type session struct {
	client string
	events chan event
	done   chan struct{} // closed when the session is dropped
}

// link is a salon's connection bookkeeping on top of the phone's device.
type link struct {
	live   string // client holding the live connection, "" for none
	since  time.Time
	frozen bool                          // deliberately disconnected (freeze)
	kicked map[string]whatsapp.LinkState // clients that lost the connection, and how
	seen   map[string]bool               // clients that held it at some point
}

// New returns a server with no salons.
func New(opts Options) *Server {
	if opts.Ping <= 0 {
		opts.Ping = defaultPing
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{
		opts: opts, log: opts.Logger.With("component", "simserver"), phone: simphone.New(opts.Phone),
		sessions: make(map[string]*session), links: make(map[int64]*link), sent: make(map[int64]map[string]bool),
	}
	s.phone.SetIncomingHandler(s.onIncoming)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/stream", s.handleStream)
	mux.HandleFunc("POST /v1/connect", s.handleConnect)
	mux.HandleFunc("POST /v1/disconnect", s.handleDisconnect)
	mux.HandleFunc("POST /v1/send", s.handleSend)
	mux.HandleFunc("GET /v1/status", s.handleStatus)
	mux.HandleFunc("POST /v1/unlink", s.handleUnlink)
	mux.HandleFunc("GET /v1/pair", s.handlePair)
	mux.HandleFunc("GET /v1/devices", s.handleDevices)
	mux.HandleFunc("POST /control/scan", s.handleScan)
	mux.HandleFunc("POST /control/receive", s.handleReceive)
	mux.HandleFunc("POST /control/emit", s.handleEmit)
	mux.HandleFunc("GET /control/connections", s.handleConnections)
	mux.HandleFunc("GET /messages", s.handleMessages)
	s.mux = mux
	return s
}

// ServeHTTP serves the client API (/v1/...), the control API (/control/...) and /messages.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
	s.mux.ServeHTTP(w, r)
}

// Phone is the simulated phone underneath, for test hooks (SetSendError, SetUnreachable, ...).
func (s *Server) Phone() *simphone.Phone { return s.phone }

// Scan plays the owner scanning the salon's QR code (or entering its pairing code).
func (s *Server) Scan(salonID int64, phone, name string) error {
	return s.phone.Scan(salonID, phone, name)
}

// Restore gives the server back a salon's device from an earlier run, as a real session
// store outlives the process: the device is there but nobody holds its connection until a
// worker connects it; frozen salons stay deliberately disconnected.
func (s *Server) Restore(salonID int64, phone, name string, frozen bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phone.Restore(salonID, phone, name, true)
	s.linkLocked(salonID).frozen = frozen
}

// Messages returns what was sent for the salon, in order, each message ID once.
func (s *Server) Messages(salonID int64) []Message {
	sent := s.phone.Messages(salonID)
	out := make([]Message, len(sent))
	for i, m := range sent {
		out[i] = Message{ID: m.ID, Phone: m.Phone, Text: m.Text, At: m.At}
	}
	return out
}

// Connections returns the live connections, by salon.
func (s *Server) Connections() []Connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Connection
	for id, l := range s.links {
		if l.live != "" {
			out = append(out, Connection{SalonID: id, Client: l.live, Since: l.since})
		}
	}
	slices.SortFunc(out, func(a, b Connection) int { return compareInt64(a.SalonID, b.SalonID) })
	return out
}

// Stats returns the kick and duplicate counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *Server) linkLocked(salonID int64) *link {
	l := s.links[salonID]
	if l == nil {
		l = &link{kicked: make(map[string]whatsapp.LinkState), seen: make(map[string]bool)}
		s.links[salonID] = l
	}
	return l
}

// statusLocked is the salon's status as the client sees it: the phone's while the client holds
// the live connection; replaced or logged out once another took it; disconnected after it let
// go. A client that never held it sees the phone's (linked while anyone is connected).
func (s *Server) statusLocked(client string, salonID int64) whatsapp.Status {
	st, _ := s.phone.Status(context.Background(), salonID)
	if st.Phone == "" || st.State == whatsapp.StatePairing {
		return st
	}
	l := s.linkLocked(salonID)
	switch {
	case l.live == client:
		return st
	case l.kicked[client] != "":
		return whatsapp.Status{State: l.kicked[client], Phone: st.Phone, Name: st.Name}
	case l.seen[client]:
		return whatsapp.Status{State: whatsapp.StateDisconnected, Phone: st.Phone, Name: st.Name}
	}
	return st
}

// pushLocked queues an event on the client's session stream; a full queue drops it (the
// status can always be asked for).
func (s *Server) pushLocked(client string, ev event) {
	sess := s.sessions[client]
	if sess == nil {
		return
	}
	select {
	case sess.events <- ev:
	default:
		s.log.Warn("simserver: session stream full; event dropped", "client", client, "type", ev.Type)
	}
}

func (s *Server) pushStatusLocked(client string, salonID int64, st whatsapp.Status) {
	ws := toWireStatus(st)
	s.pushLocked(client, event{Type: "status", SalonID: salonID, Status: &ws})
}

// dropSessionLocked ends a client's session: its connections close, as when a process dies
// and its socket closes. Nobody is kicked.
func (s *Server) dropSessionLocked(sess *session) {
	if s.sessions[sess.client] != sess {
		return
	}
	delete(s.sessions, sess.client)
	close(sess.done)
	for id, l := range s.links {
		if l.live == sess.client {
			l.live = ""
			_ = s.phone.Disconnect(context.Background(), id)
			s.log.Info("simserver: connection closed with its session", "salonID", id, "client", sess.client)
		}
	}
}

// handleStream is a client's session stream: NDJSON events (hello first, then status changes,
// incoming messages and keep-alives) for as long as the request lasts.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	client := r.URL.Query().Get("client")
	flusher, ok := w.(http.Flusher)
	if client == "" || !ok {
		writeError(w, fmt.Errorf("%w: client required", errBadRequest))
		return
	}
	sess := &session{client: client, events: make(chan event, sessionBuffer), done: make(chan struct{})}
	s.mu.Lock()
	if old := s.sessions[client]; old != nil {
		s.dropSessionLocked(old)
	}
	s.sessions[client] = sess
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.dropSessionLocked(sess)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	if enc.Encode(event{Type: "hello"}) != nil {
		return
	}
	flusher.Flush()
	ping := time.NewTicker(s.opts.Ping)
	defer ping.Stop()
	for {
		var ev event
		select {
		case <-r.Context().Done():
			return
		case <-sess.done:
			return
		case ev = <-sess.events:
		case <-ping.C:
			ev = event{Type: "ping"}
		}
		if enc.Encode(ev) != nil {
			return
		}
		flusher.Flush()
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, wireError{Code: codeBadRequest, Message: err.Error()})
		return false
	}
	return true
}

// handleConnect connects the client to the salon's device, kicking whoever held it.
func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) {
	var req salonRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[req.Client] == nil {
		writeError(w, ErrNoStream)
		return
	}
	if st, _ := s.phone.Status(r.Context(), req.SalonID); st.Phone == "" {
		writeError(w, whatsapp.ErrNotLinked)
		return
	}
	l := s.linkLocked(req.SalonID)
	if l.live != req.Client {
		if err := s.phone.Reconnect(r.Context(), req.SalonID); err != nil {
			writeError(w, err)
			return
		}
		prev := l.live
		l.live, l.since = req.Client, time.Now()
		delete(l.kicked, req.Client)
		l.seen[req.Client] = true
		if prev != "" {
			s.stats.Replaced++
			l.kicked[prev] = whatsapp.StateReplaced
			s.pushStatusLocked(prev, req.SalonID, s.statusLocked(prev, req.SalonID))
			s.log.Warn("simserver: stream replaced: another client connected the same device",
				"salonID", req.SalonID, "kicked", prev, "by", req.Client)
		}
	}
	l.frozen = false
	writeJSON(w, http.StatusOK, toWireStatus(s.statusLocked(req.Client, req.SalonID)))
}

// handleDisconnect closes the client's connection; mode freeze also marks the salon frozen.
func (s *Server) handleDisconnect(w http.ResponseWriter, r *http.Request) {
	var req disconnectRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.linkLocked(req.SalonID)
	if l.live == req.Client {
		l.live = ""
		_ = s.phone.Disconnect(r.Context(), req.SalonID)
	}
	delete(l.kicked, req.Client)
	if st, _ := s.phone.Status(r.Context(), req.SalonID); req.Mode == modeFreeze && st.Phone != "" {
		l.frozen = true
	}
	writeJSON(w, http.StatusOK, toWireStatus(s.statusLocked(req.Client, req.SalonID)))
}

// handleSend delivers one message over the client's live connection.
func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.linkLocked(req.SalonID)
	if l.live != req.Client {
		st := s.statusLocked(req.Client, req.SalonID)
		if st.State == whatsapp.StateUnlinked || st.State == whatsapp.StateLoggedOut {
			writeError(w, whatsapp.ErrNotLinked)
			return
		}
		writeError(w, fmt.Errorf("%w: %s", whatsapp.ErrNotConnected, st.State))
		return
	}
	if req.ID != "" && s.sent[req.SalonID][req.ID] {
		s.stats.DuplicateSends++
	}
	id, err := s.phone.Send(r.Context(), req.SalonID, whatsapp.Message{ID: req.ID, Phone: req.Phone, Text: req.Text})
	if err != nil {
		writeError(w, err)
		return
	}
	if s.sent[req.SalonID] == nil {
		s.sent[req.SalonID] = make(map[string]bool)
	}
	s.sent[req.SalonID][id] = true
	writeJSON(w, http.StatusOK, sendResponse{ID: id})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	salonID, err := strconv.ParseInt(r.URL.Query().Get("salon_id"), 10, 64)
	if err != nil {
		writeError(w, fmt.Errorf("%w: salon_id", errBadRequest))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, toWireStatus(s.statusLocked(r.URL.Query().Get("client"), salonID)))
}

// handleUnlink logs the salon's device out and forgets it.
func (s *Server) handleUnlink(w http.ResponseWriter, r *http.Request) {
	var req salonRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.phone.Unlink(r.Context(), req.SalonID); err != nil {
		writeError(w, err)
		return
	}
	s.resetLocked(req.SalonID, req.Client, whatsapp.StateUnlinked)
	writeJSON(w, http.StatusOK, toWireStatus(s.statusLocked(req.Client, req.SalonID)))
}

// resetLocked forgets a salon's connections after its device went; a live client other than
// by is told so.
func (s *Server) resetLocked(salonID int64, by string, state whatsapp.LinkState) {
	l := s.linkLocked(salonID)
	if l.live != "" && l.live != by {
		s.pushStatusLocked(l.live, salonID, whatsapp.Status{State: state})
	}
	l.live, l.frozen = "", false
	clear(l.kicked)
	clear(l.seen)
}

func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Device{}
	for id, l := range s.links {
		if st, _ := s.phone.Status(r.Context(), id); st.Phone != "" {
			out = append(out, Device{SalonID: id, Phone: st.Phone, Name: st.Name, Frozen: l.frozen})
		}
	}
	slices.SortFunc(out, func(a, b Device) int { return compareInt64(a.SalonID, b.SalonID) })
	writeJSON(w, http.StatusOK, out)
}
