package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// servePProf serves Go's profiles (net/http/pprof: /debug/pprof/, its CPU profile, heap,
// goroutines, trace) on a listener of their own at addr (PPROF_ADDR), never on the API's
// router: an operator or a benchmark takes a profile of a running api or worker with
// `go tool pprof http://<addr>/debug/pprof/profile`. It returns the address it listens on
// (addr may have port 0). A serving failure goes to errc; stop closes the listener.
func servePProf(addr string, logger *slog.Logger, errc chan<- error) (stop func(), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("profiles listener (PPROF_ADDR): %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index) // heap, goroutine, allocs… by name
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	// A CPU profile or a trace lasts as long as its ?seconds= asks (30 s by default); the
	// write timeout must let the longest one an operator takes finish.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("profiles listener: %w", err)
		}
	}()
	bound = ln.Addr().String()
	logger.Info("profiles listening (net/http/pprof)", "addr", bound)
	return func() {
		// A profile being taken is not waited for: it is only an operator's look.
		_ = srv.Close()
	}, bound, nil
}
