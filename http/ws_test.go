package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aiadmin/aiadmin/activities/pairing"
	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// noFeed is a pairing feed with nothing in it.
type noFeed struct{}

func (noFeed) Since(context.Context, int64, string, int64) ([]pairing.Item, error) { return nil, nil }

func wsURL(srv string, token string, extra url.Values) string {
	v := url.Values{}
	if token != "" {
		v.Set("token", token)
	}
	for k, vs := range extra {
		v[k] = vs
	}
	return "ws" + strings.TrimPrefix(srv, "http") + "/ws/connect?" + v.Encode()
}

func issue(t *testing.T, key []byte, now time.Time, salonID int64) string {
	t.Helper()
	tok, err := sessions{key: key, aud: audSession, now: func() time.Time { return now }}.issue(
		sessionClaims{SalonID: salonID, Install: "install-1", Pair: true}, sessionTTL)
	require.NoError(t, err)
	return tok
}

// dialStatus dials and returns the HTTP status of the handshake answer.
func dialStatus(t *testing.T, u string, header http.Header) int {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(u, header)
	if err == nil {
		conn.Close()
		return http.StatusSwitchingProtocols
	}
	require.ErrorIs(t, err, websocket.ErrBadHandshake, "dial: got %v, want a refused handshake", err)
	defer resp.Body.Close()
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body), "refusal must be JSON")
	require.NotEmpty(t, body["error"], "refusal body: got %v, want an error field", body)
	return resp.StatusCode
}

func TestWebsocketRefusedBeforeUpgrade(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Pairing: noFeed{}})
	now := time.Now()
	valid := issue(t, testSecret, now, 42)

	// alg "none" and HS512 are refused even though the claims are fine.
	claims := sessionClaims{SalonID: 42, RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, claims).SignedString(testSecret)
	require.NoError(t, err)
	noExp, err := jwt.NewWithClaims(jwt.SigningMethodHS256, sessionClaims{SalonID: 42}).SignedString(testSecret)
	require.NoError(t, err)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64URL(`{"salon_id":43,"run_id":"run-1","exp":9999999999}`) + "." + parts[2]

	cases := []struct {
		name   string
		url    string
		origin string
		want   int
	}{
		{"no token", wsURL(srv.URL, "", nil), "", http.StatusUnauthorized},
		{"garbage token", wsURL(srv.URL, "not-a-jwt", nil), "", http.StatusUnauthorized},
		{"expired token", wsURL(srv.URL, issue(t, testSecret, now.Add(-2*time.Hour), 42), nil), "", http.StatusUnauthorized},
		{"forged signature", wsURL(srv.URL, issue(t, []byte("another-key"), now, 42), nil), "", http.StatusUnauthorized},
		{"tampered claims", wsURL(srv.URL, tampered, nil), "", http.StatusUnauthorized},
		{"alg none", wsURL(srv.URL, none, nil), "", http.StatusUnauthorized},
		{"alg HS512", wsURL(srv.URL, hs512, nil), "", http.StatusUnauthorized},
		{"no expiry", wsURL(srv.URL, noExp, nil), "", http.StatusUnauthorized},
		{"other salon", wsURL(srv.URL, valid, url.Values{"salon_id": {"43"}}), "", http.StatusUnauthorized},
		{"bad origin", wsURL(srv.URL, valid, nil), "https://evil.example", http.StatusForbidden},
		{"look-alike origin", wsURL(srv.URL, valid, nil), "https://yclients.com.evil.example", http.StatusForbidden},
		{"http yclients origin", wsURL(srv.URL, valid, nil), "http://yclients.com", http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			got := dialStatus(t, tc.url, h)
			require.Equal(t, tc.want, got, "handshake status: got %d want %d", got, tc.want)
		})
	}
}

func base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// With a valid token and an allowed origin the socket opens; with Temporal down the page is told
// so, and commands are still answered.
func TestWebsocketConnectsAndAnswers(t *testing.T) {
	cfg := testConfig()
	srv := startServer(t, cfg, Deps{Temporal: closedTemporal(t), Pairing: noFeed{}})
	for i, origin := range []string{"", cfg.PublicURL, "https://yclients.com", "https://n123.yclients.com"} {
		salon := int64(42 + i) // request-qr is limited per salon
		token := issue(t, testSecret, time.Now(), salon)
		t.Run("origin "+origin, func(t *testing.T) {
			h := http.Header{}
			if origin != "" {
				h.Set("Origin", origin)
			}
			conn, resp, err := websocket.DefaultDialer.Dial(wsURL(srv.URL, token, url.Values{"salon_id": {fmt.Sprint(salon)}}), h)
			require.NoError(t, err, "dial: got %v, want an open socket", err)
			resp.Body.Close()
			defer conn.Close()
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))

			f := readFrame(t, conn)
			require.Equal(t, "error", f["type"], "first frame: got %v want an error frame", f)
			require.Equal(t, textNoServer, f["message"], "first frame: got %v want the unavailable text", f)

			require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-pairing-code", "phone": "12"}))
			f = readFrame(t, conn)
			require.Equal(t, map[string]any{"type": "error", "message": textBadPhone}, f, "got %v want the bad phone frame", f)

			require.NoError(t, conn.WriteJSON(map[string]string{"type": "dance"}))
			f = readFrame(t, conn)
			require.Equal(t, textBadCommand, f["message"], "got %v want the bad command frame", f)

			require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
			f = readFrame(t, conn)
			require.Equal(t, textNoServer, f["message"], "got %v want the unavailable frame", f)
		})
	}
}

func TestWebsocketReadLimit(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Pairing: noFeed{}})
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL(srv.URL, issue(t, testSecret, time.Now(), 42), nil), nil)
	require.NoError(t, err)
	resp.Body.Close()
	defer conn.Close()
	require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", maxMessageSize+1))))
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))
	for {
		_, _, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				require.Equal(t, websocket.CloseMessageTooBig, ce.Code, "close code: got %d want 1009", ce.Code)
			}
			return // the server closed the connection
		}
	}
}

func readFrame(t *testing.T, conn *websocket.Conn) map[string]any {
	t.Helper()
	var f map[string]any
	require.NoError(t, conn.ReadJSON(&f), "read frame")
	return f
}

func TestOriginPolicy(t *testing.T) {
	p := newOriginPolicy("https://aiadmin.example/", []string{"https://*.partner.example", "http://localhost:3000"})
	cases := map[string]bool{
		"":                              true,
		"https://aiadmin.example":       true,
		"HTTPS://AIADMIN.EXAMPLE":       true,
		"https://yclients.com":          true,
		"https://n812.yclients.com":     true,
		"https://a.b.yclients.com":      true,
		"https://shop.partner.example":  true,
		"http://localhost:3000":         true,
		"http://aiadmin.example":        false,
		"https://aiadmin.example:8443":  false,
		"https://yclients.com.evil.com": false,
		"https://evilyclients.com":      false,
		"https://.yclients.com":         false,
		"https://partner.example":       false,
		"null":                          false,
		"http://localhost:3001":         false,
	}
	for origin, want := range cases {
		got := p.allowed(origin)
		require.Equal(t, want, got, "origin %q: got %v want %v", origin, got, want)
	}
}

// A double click sends the same command twice before the runner has taken the first: the
// repeat is the request already queued, answered by it, so the page gets no error for it. A
// different command while one waits is refused with the busy text.
func TestRepeatedCommandWhileQueuedIsNotAnError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &wsSession{cmds: make(chan pageCommand, 1), send: make(chan []byte, sendBuffer), ctx: ctx, cancel: cancel}
	code := pageCommand{Type: cmdRequestPairingCode, Phone: "79990001122"}

	s.enqueue(code)
	s.enqueue(code)
	require.Len(t, s.send, 0, "a repeat of the queued command: got %d frames want none", len(s.send))
	require.Len(t, s.cmds, 1, "the command is queued once")

	s.enqueue(pageCommand{Type: cmdRequestQR})
	require.Len(t, s.send, 1, "another command while one waits is answered")
	var f map[string]any
	require.NoError(t, json.Unmarshal(<-s.send, &f))
	require.Equal(t, map[string]any{"type": "error", "message": textBusy}, f)
	require.Equal(t, code, <-s.cmds, "the queued command is the first one")

	// Once the runner has taken it, the same command queues again (the workflow answers a
	// repeat with the attempt it started).
	s.enqueue(code)
	require.Len(t, s.cmds, 1)
	require.Len(t, s.send, 0)
}
