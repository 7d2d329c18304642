package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// runProxy is the `proxy` command: one public address in front of several API processes, as
// a load balancer would be in production.
func runProxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8180", "address to listen on")
	backends := fs.String("backends", "", "comma-separated backends (host:port or http://host:port), taken in turn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := toolLogger()
	h, err := newProxy(strings.Split(*backends, ","), logger)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveUntil(ctx, *listen, h, logger, "proxy")
}

// newProxy is a round-robin reverse proxy: each request (and each websocket, which
// httputil.ReverseProxy passes through after the upgrade) goes to the next backend. The
// original Host is kept and X-Forwarded-* are set, as nginx is usually configured.
func newProxy(backends []string, logger *slog.Logger) (http.Handler, error) {
	var targets []*url.URL
	for _, b := range backends {
		b = strings.TrimSpace(b)
		if b == "" {
			continue
		}
		if !strings.Contains(b, "://") {
			b = "http://" + b
		}
		u, err := url.Parse(b)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("proxy: bad backend %q", b)
		}
		targets = append(targets, u)
	}
	if len(targets) == 0 {
		return nil, errors.New("proxy: no backends (-backends host:port,...)")
	}
	var next atomic.Uint64
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
			r.Out.Host = r.In.Host
			r.SetXForwarded()
		},
		// Many concurrent clients: keep connections to the backends instead of opening one
		// per request (the default keeps 2 idle per host).
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     90 * time.Second,
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Warn("proxy: backend failed", "backend", r.URL.Host, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`{"error":"bad_gateway"}`))
		},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}, nil
}

// serveUntil serves h on addr until ctx ends, then shuts the server down gracefully.
func serveUntil(ctx context.Context, addr string, h http.Handler, logger *slog.Logger, what string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info(what+" listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", what, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // long-lived streams that did not end in time
	}
	logger.Info(what + " stopped")
	return nil
}
