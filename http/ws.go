package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"github.com/aiadmin/aiadmin/activities/metrics"
)

// Websocket timings, as in gorilla's chat example.
const (
	writeWait      = 10 * time.Second  // time allowed to write a frame
	pongWait       = 60 * time.Second  // time allowed to read the next pong
	pingPeriod     = pongWait * 9 / 10 // 54 s: pings go out before pongWait runs out
	maxMessageSize = 4 << 10           // the page sends small commands only
	sendBuffer     = 32                // frames queued for the writer
	feedEvery      = 300 * time.Millisecond
)

// Close codes the server sends. closeEvicted: the page was closed because newer pages of the
// salon opened (it does not reconnect). closeRestart (1012, service restart): the process is
// stopping; the page reconnects shortly.
const (
	closeEvicted = 4000
	closeRestart = websocket.CloseServiceRestart
)

// wsHandler serves the connect page's websocket.
type wsHandler struct {
	temporal  temporalAPI
	feed      PairingFeed
	sessions  sessions
	origins   originPolicy
	upgrader  websocket.Upgrader
	hub       *hub
	log       *slog.Logger
	feedEvery time.Duration
	now       func() time.Time
}

func newWSHandler(tc temporalAPI, feed PairingFeed, sess sessions, origins originPolicy, log *slog.Logger) *wsHandler {
	h := &wsHandler{temporal: tc, feed: feed, sessions: sess, origins: origins, hub: newHub(tc, log), log: log,
		feedEvery: feedEvery, now: time.Now}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: writeWait,
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		// The origin was checked before the upgrade, where the failure can be answered with 403.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return h
}

// connect authenticates the session token, its installation and the Origin before the
// upgrade, then runs one connection: a read pump (page → server), a write pump (server →
// page), the feed (the salon's state from the hub, the session's pairing items from the
// table) and the command runner (updates asked for by the page).
func (h *wsHandler) connect(c *gin.Context) {
	if h.hub.isStopping() {
		abort(c, fail(kindUnavailable, "server restarting"))
		return
	}
	claims, seed, err := h.admit(c)
	if err != nil {
		abort(c, err)
		return
	}
	conn, err := h.upgrader.Upgrade(c.Writer, c.Request, nil)
	if err != nil {
		// Upgrade has answered the client already (400 and the like).
		h.log.Info("websocket upgrade failed", slog.Int64("salonID", claims.SalonID), slog.String("error", err.Error()))
		return
	}
	h.log.Info("websocket connected", slog.Int64("salonID", claims.SalonID), slog.Bool("pairing", claims.Pair),
		slog.String("requestID", RequestID(c.Request.Context())))
	metrics.WebsocketOpened()
	defer metrics.WebsocketClosed()

	// Not the request context: net/http may cancel it once the connection is hijacked.
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.Request.Context()))
	s := &wsSession{
		h:       h,
		conn:    conn,
		salonID: claims.SalonID,
		claims:  claims,
		send:    make(chan []byte, sendBuffer),
		cmds:    make(chan pageCommand, 1),
		kick:    make(chan int, 1),
		updates: make(chan struct{}, 1),
		ctx:     ctx,
		cancel:  cancel,
		log:     h.log.With(slog.Int64("salonID", claims.SalonID), slog.String("requestID", RequestID(ctx))),
	}
	h.hub.join(s, seed)
	defer h.hub.leave(s)
	var wg sync.WaitGroup
	wg.Go(s.writePump)
	wg.Go(s.runFeed)
	wg.Go(s.runCommands)
	s.readPump()
	cancel()
	wg.Wait()
	_ = conn.Close()
	s.log.Info("websocket closed")
}

// admit checks the token, the salon, the installation and the Origin. The installation is
// checked against the salon's current one: a token from before an uninstall and reinstall is
// refused. While Temporal cannot be asked the page is admitted and checked by its feed.
func (h *wsHandler) admit(c *gin.Context) (sessionClaims, *stateUpdate, error) {
	claims, err := h.sessions.verify(c.Query("token"))
	if err != nil {
		return claims, nil, fail(kindUnauthorized, "invalid or expired session token").because(err)
	}
	if raw, ok := c.GetQuery("salon_id"); ok {
		if id, err := parseSalonID(raw); err != nil || id != claims.SalonID {
			return claims, nil, fail(kindUnauthorized, "session token is for another salon")
		}
	}
	if !h.origins.allowed(c.GetHeader("Origin")) {
		return claims, nil, fail(kindForbidden, "origin not allowed")
	}
	u := h.hub.current(c.Request.Context(), claims.SalonID)
	switch {
	case workflowNotFound(u.err):
		return claims, nil, fail(kindUnauthorized, "no installation for this session")
	case u.err != nil:
		return claims, nil, nil // checked by the feed once Temporal answers
	case u.st.InstallID != claims.Install:
		return claims, nil, fail(kindUnauthorized, "session token of another installation")
	}
	return claims, &u, nil
}

// wsSession is one page's connection.
type wsSession struct {
	h       *wsHandler
	conn    *websocket.Conn
	salonID int64
	claims  sessionClaims
	send    chan []byte
	cmds    chan pageCommand // from readPump to runCommands
	queued  pageCommand      // the last command readPump queued; readPump's alone
	kick    chan int         // from runCommands to runFeed: a pairing attempt started
	status  statusBox        // last status seen by runFeed
	ctx     context.Context
	cancel  context.CancelFunc
	log     *slog.Logger

	mu      sync.Mutex
	latest  *stateUpdate  // the hub's newest reading not yet taken by the feed
	updates chan struct{} // signals a new reading
	code    int           // the close frame's code: closeEvicted, closeRestart, 0 for a normal closure
}

// deliver hands the hub's reading to the page's feed; a newer reading replaces an unread one.
func (s *wsSession) deliver(u stateUpdate) {
	s.mu.Lock()
	s.latest = &u
	s.mu.Unlock()
	select {
	case s.updates <- struct{}{}:
	default:
	}
}

// takeUpdate returns the newest reading, if there is one not yet taken.
func (s *wsSession) takeUpdate() (stateUpdate, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latest == nil {
		return stateUpdate{}, false
	}
	u := *s.latest
	s.latest = nil
	return u, true
}

// closeWith tells the page why it is closed and closes it; the page does not reconnect.
func (s *wsSession) closeWith(msg string) {
	s.mu.Lock()
	s.code = closeEvicted
	s.mu.Unlock()
	s.sendFrame(closedFrame{Type: "closed", Message: msg})
	s.cancel()
}

// restart closes the page with the restart code: the process is stopping, the page
// reconnects shortly.
func (s *wsSession) restart() {
	s.mu.Lock()
	if s.code == 0 {
		s.code = closeRestart
	}
	s.mu.Unlock()
	s.cancel()
}

// readPump reads the page's commands until the connection fails or closes. It is the only
// reader; pongs extend the read deadline.
func (s *wsSession) readPump() {
	s.conn.SetReadLimit(maxMessageSize)
	_ = s.conn.SetReadDeadline(time.Now().Add(pongWait))
	s.conn.SetPongHandler(func(string) error { return s.conn.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			if websocket.IsUnexpectedCloseError(err, websocket.CloseGoingAway, websocket.CloseNormalClosure, websocket.CloseNoStatusReceived) {
				s.log.Info("websocket read failed", slog.String("error", err.Error()))
			}
			return
		}
		cmd, err := parsePageCommand(data)
		if err != nil {
			s.sendFrame(errorFrame(pageCommandText(err)))
			continue
		}
		s.enqueue(cmd)
	}
}

// enqueue hands a command to the runner. While one waits for the runner, the same command
// again (a double click: the page sent it before it saw any answer) is that request, which
// answers it, and is dropped; another command is refused with the busy text. Only readPump
// calls it, so queued is its own.
func (s *wsSession) enqueue(cmd pageCommand) {
	select {
	case s.cmds <- cmd:
		s.queued = cmd
	default:
		if cmd == s.queued {
			return
		}
		s.sendFrame(errorFrame(textBusy))
	}
}

// writePump is the only writer of the connection: queued frames, and a ping every pingPeriod.
func (s *wsSession) writePump() {
	ticker := time.NewTicker(pingPeriod)
	defer func() {
		ticker.Stop()
		s.cancel()
		_ = s.conn.Close() // unblocks readPump
	}()
	for {
		select {
		case <-s.ctx.Done():
			s.flush()
			code, reason := websocket.CloseNormalClosure, "closed"
			s.mu.Lock()
			if s.code != 0 {
				code = s.code
			}
			s.mu.Unlock()
			if code == closeRestart {
				reason = "restarting"
			}
			_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
			_ = s.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason))
			return
		case msg := <-s.send:
			_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := s.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-ticker.C:
			_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := s.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

// flush writes the frames still queued (e.g. why the page is closed) before the close frame.
func (s *wsSession) flush() {
	for {
		select {
		case msg := <-s.send:
			_ = s.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if s.conn.WriteMessage(websocket.TextMessage, msg) != nil {
				return
			}
		default:
			return
		}
	}
}

// sendFrame queues a frame for the writer; it gives up when the connection ends.
func (s *wsSession) sendFrame(frame any) {
	b, err := json.Marshal(frame)
	if err != nil {
		s.log.Error("encode frame", slog.String("error", err.Error()))
		return
	}
	select {
	case s.send <- b:
	case <-s.ctx.Done():
	}
}

// originPolicy is the websocket Origin allow-list.
type originPolicy struct {
	exact    map[string]bool
	suffixes []string // "https://.yclients.com" style: scheme + "." + domain
}

// newOriginPolicy allows the public URL's origin, https://yclients.com and its subdomains, and
// the configured origins ("https://*.example.com" allows the subdomains of example.com).
func newOriginPolicy(publicURL string, extra []string) originPolicy {
	p := originPolicy{exact: map[string]bool{}}
	add := func(o string) {
		o = strings.TrimRight(strings.ToLower(strings.TrimSpace(o)), "/")
		if o == "" {
			return
		}
		if scheme, host, ok := strings.Cut(o, "://*."); ok {
			p.suffixes = append(p.suffixes, scheme+"://."+host)
			return
		}
		if u, err := url.Parse(o); err == nil && u.Scheme != "" && u.Host != "" {
			o = u.Scheme + "://" + u.Host
		}
		p.exact[o] = true
	}
	add(publicURL)
	add("https://yclients.com")
	add("https://*.yclients.com")
	for _, o := range extra {
		add(o)
	}
	return p
}

// allowed reports whether a browser page from origin may open the websocket. A request without
// Origin does not come from a browser page (browsers always send it on websockets) and is left
// to the token check.
func (p originPolicy) allowed(origin string) bool {
	if origin == "" {
		return true
	}
	o := strings.ToLower(origin)
	if p.exact[o] {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" {
		return false
	}
	for _, sfx := range p.suffixes {
		scheme, domain, _ := strings.Cut(sfx, "://")
		if u.Scheme == scheme && strings.HasSuffix(u.Host, domain) && len(u.Host) > len(domain) {
			return true
		}
	}
	return false
}
