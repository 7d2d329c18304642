package yclientsfake

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes matching API requests fail or slow down. It is the JSON body of
// POST /_fake/faults, e.g. {"path_prefix":"/api/v1/","status":429,"rate":0.3,"delay_ms":0}.
// By default a fault hits before the request is served: nothing changes in the fake. With After
// it hits once the work is done: {"path_prefix":"/marketplace/partner/callback","status":504,
// "after":true,"count":1} accepts the activation (the integration becomes active) and answers
// 504; {"delay_ms":3000,"after":true} accepts it and answers 3 s later, after a client with a
// shorter timeout gave up. That is "YClients did it, but our request failed". With Linger the
// request is served only after the delay, and served even when the client gave up meanwhile:
// {"path_prefix":"/marketplace/partner/callback","delay_ms":3000,"linger":true,"count":1}
// activates the integration 3 s later, after a client with a shorter timeout gave up and,
// retrying, saw it still pending. That is "YClients did it, later than our request lasted".
type Fault struct {
	// PathPrefix selects requests by path ("" or "/" matches every API path).
	PathPrefix string `json:"path_prefix"`
	// Status is the answer (400-599); 0 only delays the request, which is then answered
	// normally.
	Status int `json:"status"`
	// Rate is the probability that a matching request is hit, in (0, 1]; 0 means 1.
	Rate float64 `json:"rate"`
	// DelayMS is waited before answering: before serving, or with After between serving and
	// answering.
	DelayMS int `json:"delay_ms"`
	// Count limits how many requests the fault hits in total (0: unlimited), e.g. "fail the
	// next request with 503" is {"status":503,"count":1}.
	Count int `json:"count,omitempty"`
	// Skip lets the first Skip matching requests pass untouched, e.g. "delay the second
	// activation callback" is {"delay_ms":3000,"skip":1,"count":1}.
	Skip int `json:"skip,omitempty"`
	// RetryAfter is the Retry-After header in seconds (default 1 for 429, none otherwise).
	RetryAfter int `json:"retry_after,omitempty"`
	// HTML answers with an HTML error page instead of a JSON body, as a proxy in front of
	// YClients would.
	HTML bool `json:"html,omitempty"`
	// After serves the request first (its state change happens) and only then delays and
	// replaces the answer; RequestLog.Served keeps the status the fake had answered.
	After bool `json:"after,omitempty"`
	// Linger waits DelayMS before serving, as a fault before serving does, but serves the
	// request even when the client went away meanwhile: a backend that finishes what it
	// received whatever its client's timeout. Needs DelayMS; no Status, not with After.
	Linger bool `json:"linger,omitempty"`
}

type faultState struct {
	Fault
	hits    int
	skipped int
}

// AddFault activates a fault; several may be active at once and are tried in order.
func (f *Fake) AddFault(ft Fault) error {
	switch {
	case ft.PathPrefix != "" && !strings.HasPrefix(ft.PathPrefix, "/"):
		return errors.New("path_prefix must start with /")
	case ft.Status != 0 && (ft.Status < 400 || ft.Status > 599):
		return errors.New("status must be 0 or 400-599")
	case ft.Rate < 0 || ft.Rate > 1:
		return errors.New("rate must be within [0, 1]")
	case ft.DelayMS < 0 || ft.DelayMS > 60_000:
		return errors.New("delay_ms must be within [0, 60000]")
	case ft.Count < 0 || ft.RetryAfter < 0 || ft.Skip < 0:
		return errors.New("count, skip and retry_after must not be negative")
	case ft.Status == 0 && ft.DelayMS == 0:
		return errors.New("a fault needs a status or a delay")
	case ft.Linger && (ft.DelayMS == 0 || ft.Status != 0 || ft.After):
		return errors.New("linger needs delay_ms, and neither status nor after")
	}
	if ft.Rate == 0 {
		ft.Rate = 1
	}
	if ft.Status == http.StatusTooManyRequests && ft.RetryAfter == 0 {
		ft.RetryAfter = 1
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &faultState{Fault: ft})
	return nil
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Faults returns the active faults.
func (f *Fake) Faults() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Fault, 0, len(f.faults))
	for _, ft := range f.faults {
		out = append(out, ft.Fault)
	}
	return out
}

// faultHit is what the faults rolled for one request do: wait delay, then answer with fault's
// status (nil: serve or answer normally).
type faultHit struct {
	delay  time.Duration
	fault  *Fault
	linger bool // served after the delay whether or not the client is still there
}

// rollFaults rolls the matching faults that hit before serving (after false) or after it. Hit
// delays add up; the first hit with a status ends the roll.
func (f *Fake) rollFaults(r *http.Request, after bool) faultHit {
	var hit faultHit
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range f.faults {
		if ft.After != after || !strings.HasPrefix(r.URL.Path, ft.PathPrefix) || (ft.Count > 0 && ft.hits >= ft.Count) {
			continue
		}
		if ft.skipped < ft.Skip {
			ft.skipped++
			continue
		}
		if f.rnd.Float64() >= ft.Rate {
			continue
		}
		ft.hits++
		hit.delay += time.Duration(ft.DelayMS) * time.Millisecond
		hit.linger = hit.linger || ft.Linger
		if ft.Status != 0 {
			cp := ft.Fault
			hit.fault = &cp
			break
		}
	}
	return hit
}

// wait sleeps the hit's delay; it reports false when the client went away first (unless the
// hit lingers: then the request is served anyway).
func (h faultHit) wait(r *http.Request) bool {
	if h.delay <= 0 {
		return true
	}
	if h.linger {
		time.Sleep(h.delay)
		return true
	}
	t := time.NewTimer(h.delay)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

// writeFault answers with the fault's status: YClients' v2 error body, or an HTML page.
func writeFault(w http.ResponseWriter, ft Fault) {
	if ft.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ft.RetryAfter))
	}
	if ft.HTML {
		text := fmt.Sprintf("%d %s", ft.Status, http.StatusText(ft.Status))
		writeHTML(w, ft.Status, text, "nginx")
		return
	}
	writeV2Error(w, ft.Status, faultMessage(ft.Status))
}

func faultMessage(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return msgTooManyRequests
	case status == http.StatusUnauthorized:
		return msgUnauthorized
	case status == http.StatusForbidden:
		return msgNoAccess
	case status == http.StatusNotFound:
		return msgNotFound
	case status == http.StatusUnprocessableEntity:
		return msgInvalidParams
	case status >= 500:
		return msgServerError
	}
	return http.StatusText(status)
}
