package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

// backend answers with its name and the Host it saw, and echoes websocket messages with its
// name in front.
func backend(t *testing.T, name string) *httptest.Server {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			conn, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer conn.Close()
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					return
				}
				_ = conn.WriteMessage(websocket.TextMessage, append([]byte(name+":"), msg...))
			}
		}
		_, _ = io.WriteString(w, name+" "+r.Host+" "+r.Header.Get("X-Forwarded-For")+" "+r.URL.RequestURI())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProxyRoundRobinAndWebsockets(t *testing.T) {
	a, b := backend(t, "a"), backend(t, "b")
	h, err := newProxy([]string{a.Listener.Addr().String(), " " + b.URL + " ", ""}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	front := httptest.NewServer(h)
	defer front.Close()
	host := strings.TrimPrefix(front.URL, "http://")

	var got []string
	for range 4 {
		resp, err := http.Get(front.URL + "/readyz?x=1")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		got = append(got, string(body))
	}
	want := "a " + host + " 127.0.0.1 /readyz?x=1"
	require.Equal(t, []string{want, "b" + want[1:], want, "b" + want[1:]}, got, "in turn, Host kept, X-Forwarded-For set")

	for _, name := range []string{"a", "b"} { // websockets take turns too, and pass through
		conn, resp, err := websocket.DefaultDialer.Dial("ws://"+host+"/ws", nil)
		require.NoError(t, err)
		resp.Body.Close()
		require.NoError(t, conn.WriteMessage(websocket.TextMessage, []byte("привет")))
		_, msg, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, name+":привет", string(msg))
		conn.Close()
	}

	b.Close()                        // a backend down: 502 with a JSON body
	_, _ = http.Get(front.URL + "/") // a's turn
	resp, err := http.Get(front.URL + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	require.JSONEq(t, `{"error":"bad_gateway"}`, string(body))

	_, err = newProxy([]string{""}, nil)
	require.Error(t, err, "no backends")
}
