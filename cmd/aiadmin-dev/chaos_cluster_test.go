package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// child returns the cluster's current process of that name.
func (c *cluster) child(name string) *child {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// kill SIGKILLs a child's process group (a crash: no shutdown of any kind) and waits for it.
func (c *cluster) kill(name string) error {
	p := c.child(name)
	if p == nil || p.exited() {
		return fmt.Errorf("%s is not running", name)
	}
	p.deliberate.Store(true)
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return nil
}

// stopChild stops a child as an operator would (SIGTERM, then SIGKILL after its tier's grace).
func (c *cluster) stopChild(name string) error {
	p := c.child(name)
	if p == nil || p.exited() {
		return fmt.Errorf("%s is not running", name)
	}
	p.deliberate.Store(true)
	p.stop(graces[p.tier])
	return nil
}

// restart starts a stopped or killed child again with the same command and environment; its
// log goes on in the same file.
func (c *cluster) restart(name string) error {
	p := c.child(name)
	if p == nil || !p.exited() {
		return fmt.Errorf("%s is not stopped", name)
	}
	again := &child{name: p.name, tier: p.tier, argv: p.argv, env: p.env}
	_, err := c.startChild(again, os.O_APPEND)
	return err
}

// restartTemporal starts the stopped Temporal server again on its databases and waits until
// it is ready.
func (c *cluster) restartTemporal(timeout time.Duration) error {
	ready := filepath.Join(c.opts.Dir, "temporal.ready")
	_ = os.Remove(ready)
	if err := c.restart("temporal"); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for !fileExists(ready) {
		if p := c.child("temporal"); p.exited() {
			return fmt.Errorf("temporal exited at start (%v); its log: %s", p.err, p.log)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal not ready within %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// crashed names the children that exited without the suite stopping them, with their logs'
// ends.
func (c *cluster) crashed() string {
	c.mu.Lock()
	procs := slices.Clone(c.procs)
	c.mu.Unlock()
	var b strings.Builder
	for _, p := range procs {
		if p.exited() && !p.deliberate.Load() {
			out, _ := os.ReadFile(p.log)
			fmt.Fprintf(&b, "%s exited (%v); the end of its log:\n%s\n", p.name, p.err, tail(out, 4000))
		}
	}
	return b.String()
}

// workers are the names of the cluster's worker processes.
func (c *cluster) workers() []string {
	var out []string
	for i := range c.opts.Workers {
		out = append(out, fmt.Sprintf("worker-%d", i+1))
	}
	return out
}

// waitUntil polls cond until it holds; it fails the test when a child of the
// cluster crashed meanwhile, or after timeout with cond's last account of what is missing.
func (s *chaosSuite) waitUntil(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	if ok, missing := s.await(t, timeout, what, cond); !ok {
		t.Fatalf("%s: not within %s: %s", what, timeout, missing)
	}
}

// await is waitUntil that reports a timeout instead of failing; a crashed child still fails
// the test. It polls every 500 ms.
func (s *chaosSuite) await(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) (bool, string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, missing := cond()
		if ok {
			return true, ""
		}
		if s.c != nil {
			if crashed := s.c.crashed(); crashed != "" {
				t.Fatalf("%s: a process of the cluster crashed:\n%s", what, crashed)
			}
		}
		if time.Now().After(deadline) {
			return false, missing
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// requestTimes logs every YClients API request the fake receives (its own log keeps only the
// last 1000), to measure the rate the whole cluster sends at.
type requestTimes struct {
	mu  sync.Mutex
	log []yclientsfake.RequestLog
}

// wrap logs each API request when it arrives, in arrival order, and its answer's status once
// given (0 when the client went away first: a timeout).
func (rt *requestTimes) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_fake/") {
			h.ServeHTTP(w, r)
			return
		}
		rt.mu.Lock()
		i := len(rt.log)
		rt.log = append(rt.log, yclientsfake.RequestLog{Method: r.Method, Path: r.URL.Path, At: time.Now()})
		rt.mu.Unlock()
		rec := &codeRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if r.Context().Err() != nil {
			rec.code = 0
		}
		rt.mu.Lock()
		rt.log[i].Status = rec.code
		rt.mu.Unlock()
	})
}

type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (c *codeRecorder) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *codeRecorder) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.ResponseWriter.Write(b)
}

// since returns the requests received at or after t.
func (rt *requestTimes) since(t time.Time) []yclientsfake.RequestLog {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	i, _ := slices.BinarySearchFunc(rt.log, t, func(r yclientsfake.RequestLog, t time.Time) int { return r.At.Compare(t) })
	return slices.Clone(rt.log[i:])
}

// chaosOwners is the owners' second channel (OWNER_WEBHOOK_URL): it keeps every notice.
type chaosOwners struct {
	url     string
	mu      sync.Mutex
	notices []ownerNotice
}

type ownerNotice struct {
	SalonID int64  `json:"salon_id"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
	URL     string `json:"url"`
}

func (o *chaosOwners) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n ownerNotice
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &n); err != nil {
		http.Error(w, "bad notice", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.notices = append(o.notices, n)
	o.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (o *chaosOwners) all() []ownerNotice {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.notices)
}

// seenSecrets is what the suite saw pass that must never appear in clear in a history or a
// log line: the connect pages' session tokens, pairing codes, the client phones it booked.
type seenSecrets struct {
	mu           sync.Mutex
	tokens       []string
	pairingCodes []string
	clientPhones []string
}

func (s *seenSecrets) add(list *[]string, v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	*list = append(*list, v)
}

func (s *seenSecrets) snapshot() (tokens, codes, phones []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens), slices.Clone(s.pairingCodes), slices.Clone(s.clientPhones)
}

// hookTimes is the fake YClients' transport for its outbound webhooks: it measures how long
// our endpoint took to answer each.
type hookTimes struct {
	mu    sync.Mutex
	times []hookTime
}

type hookTime struct {
	at   time.Time
	took time.Duration
}

func (h *hookTimes) RoundTrip(r *http.Request) (*http.Response, error) {
	began := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(r)
	h.mu.Lock()
	h.times = append(h.times, hookTime{at: began, took: time.Since(began)})
	h.mu.Unlock()
	return resp, err
}

// slowest is the longest answer to a webhook sent at or after t.
func (h *hookTimes) slowest(t time.Time) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	var most time.Duration
	for _, ht := range h.times {
		if !ht.at.Before(t) {
			most = max(most, ht.took)
		}
	}
	return most
}
