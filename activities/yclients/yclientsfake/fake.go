// Package yclientsfake is a faithful fake of the YClients REST API and marketplace partner API,
// following shared/reference/yclients-api.md: {success,data,meta} envelopes with YClients' type
// sloppiness, its error bodies and status codes (401, 403 "already installed", 404, 422, 429),
// the 301 activation callback, the integration state machine, the signed marketplace redirect,
// lifecycle webhooks, and entity webhooks (record and client create/update/delete, with
// duplicates and retries) to the webhook_urls of the activation callback. Tests use it through
// httptest; demo mode serves it on http://127.0.0.1:8090.
//
// The REST API serves the company, its services, staff and schedules, one record
// (GET /api/v1/record/{company_id}/{record_id}), the records list with its paging
// (GET /api/v1/records/{company_id}?start_date=&end_date=&page=&count=&with_deleted=) and the
// attendance change a partner app makes (PUT /api/v1/visits/{visit_id}/{record_id}), which sends
// the record's "update" webhook as a change made in YClients does.
//
// Paths under /_fake/ are the control API (seeding, inspection, fault injection, lifecycle
// events, record changes); they are never rate limited or faulted and never return secrets. A
// control-API body with a field that neither the fake's own shape nor YClients' shape of that
// object has is refused with 400 naming the field ({"error":…,"fields":["record"]}), so that a
// test cannot pass on an edit the fake ignored. Close stops the entity webhooks still waiting to
// be sent.
//
// Demo mode serves it like this:
//
//	f := yclientsfake.New(yclientsfake.Options{
//		PartnerToken: token, ApplicationID: appID,
//		RegisterURL:  "http://127.0.0.1:8080/marketplace/register",
//		LifecycleURL: "http://127.0.0.1:8080/marketplace/webhook",
//	})
//	f.SeedDemo()
//	srv := &http.Server{Addr: "127.0.0.1:8090", Handler: f, ReadHeaderTimeout: 5 * time.Second}
//
// and the owner's "Подключить" click is http://127.0.0.1:8090/_fake/marketplace/redirect?salon_id=100001.
//
// The control API:
//
//	GET    /_fake/salons                          the salons, with status and counts
//	POST   /_fake/salons                          add a salon: the fake's shape, or a company as
//	                                              YClients' GET /company/{id} answers it, with
//	                                              staff and services as YClients lists them
//	POST   /_fake/salons/{salon_id}/status        {"status":"active"}: force the connection status
//	POST   /_fake/salons/{salon_id}/lifecycle     {"event":"freeze"|"unfreeze"|"uninstall"}
//	POST   /_fake/salons/{salon_id}/records       a booking made in YClients (RecordInput)
//	GET    /_fake/salons/{salon_id}/records/{id}  the record as GET /record/{company_id}/{id}'s data
//	PUT    /_fake/salons/{salon_id}/records/{id}  an edit (RecordChange)
//	DELETE /_fake/salons/{salon_id}/records/{id}  a cancellation, optional {"duplicates":N}
//	POST   /_fake/salons/{salon_id}/clients       a new client {"name","phone","email","duplicates"}
//	GET    /_fake/webhooks                        entity webhook attempts (secrets masked)
//	GET    /_fake/callbacks                       activation callbacks (api keys masked)
//	GET    /_fake/requests                        API requests answered (see RequestLog, MaxRate)
//	POST   /_fake/faults, GET, DELETE             faults (Fault), e.g. {"status":504,"after":true}
//	GET    /_fake/marketplace/redirect?salon_id=  the owner's "Подключить" click
//
// Once the salon is activated, each record or client change is POSTed as an entity webhook
// about 5 s later, as often as its "duplicates" asks (CreateRecord, UpdateRecord, DeleteRecord
// and CreateClient do the same from Go).
package yclientsfake

import (
	"bytes"
	"context"
	"crypto/subtle"
	"io"
	"math/rand"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // salons live in Europe/Moscow, Asia/Vladivostok, ...: do not depend on the host

	"golang.org/x/time/rate"
)

// Options configures a Fake.
type Options struct {
	// PartnerToken is the only partner token the fake accepts.
	PartnerToken string
	// ApplicationID is the only marketplace application the fake knows.
	ApplicationID int64
	// RegisterURL is our registration URL, the target of /_fake/marketplace/redirect,
	// e.g. http://127.0.0.1:8080/marketplace/register.
	RegisterURL string
	// LifecycleURL is our lifecycle webhook (the app's "Callback URL"),
	// e.g. http://127.0.0.1:8080/marketplace/webhook.
	LifecycleURL string
	// PendingTTL is how long a pending link can be activated (default 1 h, as the public docs
	// say; Altegio's code says 12 h).
	PendingTTL time.Duration
	// RPS is the fake's own rate limit (token bucket, burst RPS; default 5, like YClients'
	// "5 requests per second per IP"). It runs on the wall clock, not on Now.
	RPS int
	// Now is the clock for statuses, status logs, record and webhook times and the pending TTL
	// (default time.Now). The request log and the rate limiter run on the wall clock.
	Now func() time.Time
	// HTTPClient sends the outbound lifecycle and entity webhooks (default: 10 s timeout).
	HTTPClient *http.Client
	// Seed seeds the random source that decides which requests a fault hits.
	Seed int64
	// AllowAnyAccept turns off the Accept header check (YClients wants a v2 media type).
	AllowAnyAccept bool
	// EntityDelay is how long after a change its entity webhooks are sent: YClients delivers
	// "about 5 s after the change". 0 means that 5 s default; a negative value means at once
	// (for tests). It runs on the wall clock, not on Now.
	EntityDelay time.Duration
	// EntityRetries chooses between the two delivery contracts of the sources (reference §4).
	// nil or true: Altegio's internal behaviour, two retries 1.5 s apart after a transport
	// failure, 429 or 5xx (other answers are final). false: the public docs' "failed deliveries
	// are not retried". A pointer, so that the zero Options get the default: new(false) turns
	// retries off.
	EntityRetries *bool
	// EntityShuffle sends every entity webhook (each duplicate too) on its own, at a random
	// moment within EntityDelay of its change, so that deliveries overtake each other within
	// a record and across records: YClients promises no order. Default: each record's
	// webhooks in order. SetEntityShuffle changes it later.
	EntityShuffle bool
}

// Fake is an in-memory YClients. It is an http.Handler and safe for concurrent use.
type Fake struct {
	opts    Options
	mux     *http.ServeMux
	limiter *rate.Limiter

	mu        sync.Mutex
	salons    map[int64]*salonState
	callbacks []Callback
	requests  []RequestLog
	faults    []*faultState
	rnd       *rand.Rand

	// Entity records and webhooks (entity.go, webhooks.go).
	nextRecordID int64
	nextClientID int64
	hooks        outbox
	shuffle      bool // Options.EntityShuffle, changed by SetEntityShuffle
}

// RequestLog is one API request the fake answered. Query strings are left out: they could
// carry secrets.
type RequestLog struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Status is what the client got (0 when it went away before the answer).
	Status int `json:"status"`
	// Served is the status the fake had answered when a fault hit after serving replaced it
	// (the request's work was done; see Fault.After).
	Served int `json:"served,omitempty"`
	// At is when the request arrived, on the wall clock (like the rate limiter, not Options.Now),
	// so that request rates can be measured; see MaxRate.
	At time.Time `json:"at"`
}

const maxRequestLog = 1000

// New returns an empty Fake; see SeedDemo and AddSalon.
func New(opts Options) *Fake {
	if opts.PendingTTL <= 0 {
		opts.PendingTTL = time.Hour
	}
	if opts.RPS <= 0 {
		opts.RPS = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	switch {
	case opts.EntityDelay == 0:
		opts.EntityDelay = defaultEntityDelay
	case opts.EntityDelay < 0:
		opts.EntityDelay = 0
	}
	retries := opts.EntityRetries == nil || *opts.EntityRetries
	opts.EntityRetries = &retries // a copy: the caller's variable cannot change it later
	f := &Fake{
		opts:         opts,
		limiter:      rate.NewLimiter(rate.Limit(opts.RPS), opts.RPS),
		salons:       map[int64]*salonState{},
		rnd:          rand.New(rand.NewSource(opts.Seed)),
		nextRecordID: firstRecordID,
		nextClientID: firstClientID,
		shuffle:      opts.EntityShuffle,
	}
	f.hooks.init()
	f.mux = f.routes()
	return f
}

func (f *Fake) now() time.Time { return f.opts.Now() }

func (f *Fake) routes() *http.ServeMux {
	m := http.NewServeMux()
	// REST API (reference §5).
	m.HandleFunc("GET /api/v1/company/{id}", f.handleCompany)
	m.HandleFunc("GET /api/v1/company/{id}/services", f.handleServices)
	m.HandleFunc("GET /api/v1/company/{id}/staff", f.handleStaff)
	m.HandleFunc("GET /api/v1/company/{id}/staff/schedule", f.handleSchedules)
	m.HandleFunc("GET /api/v1/record/{company_id}/{record_id}", f.handleRecord)
	m.HandleFunc("GET /api/v1/records/{company_id}", f.handleRecords)
	m.HandleFunc("PUT /api/v1/visits/{visit_id}/{record_id}", f.handleVisit)
	// Marketplace partner API (reference §1.4, §2).
	m.HandleFunc("POST /marketplace/partner/callback/redirect", f.handleCallback)
	m.HandleFunc("POST /marketplace/partner/callback", f.handleCallback)
	m.HandleFunc("GET /marketplace/salon/{salon_id}/application/{application_id}", f.handleIntegrationStatus)
	// Control API.
	m.HandleFunc("GET /_fake/salons", f.handleListSalons)
	m.HandleFunc("POST /_fake/salons", f.handleAddSalon)
	m.HandleFunc("GET /_fake/salons/{salon_id}", f.handleGetSalon)
	m.HandleFunc("POST /_fake/salons/{salon_id}/status", f.handleSetStatus)
	m.HandleFunc("POST /_fake/salons/{salon_id}/lifecycle", f.handleLifecycle)
	m.HandleFunc("POST /_fake/salons/{salon_id}/records", f.handleCreateRecord)
	m.HandleFunc("GET /_fake/salons/{salon_id}/records/{record_id}", f.handleGetRecord)
	m.HandleFunc("PUT /_fake/salons/{salon_id}/records/{record_id}", f.handleUpdateRecord)
	m.HandleFunc("DELETE /_fake/salons/{salon_id}/records/{record_id}", f.handleDeleteRecord)
	m.HandleFunc("POST /_fake/salons/{salon_id}/clients", f.handleCreateClient)
	m.HandleFunc("GET /_fake/webhooks", f.handleWebhooks)
	m.HandleFunc("GET /_fake/callbacks", f.handleCallbacks)
	m.HandleFunc("GET /_fake/requests", f.handleRequests)
	m.HandleFunc("POST /_fake/faults", f.handleAddFault)
	m.HandleFunc("GET /_fake/faults", f.handleListFaults)
	m.HandleFunc("DELETE /_fake/faults", f.handleClearFaults)
	m.HandleFunc("GET /_fake/marketplace/redirect", f.handleMarketplaceRedirect)
	m.HandleFunc("GET /_fake/marketplace/done", f.handleDone)
	return m
}

// ServeHTTP implements http.Handler. API requests pass, in order: the rate limiter, injected
// faults, the Accept check and the partner-token check, then the endpoint, then the faults that
// hit after serving.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_fake/") {
		f.mux.ServeHTTP(w, r)
		return
	}
	at := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	served := f.serveAPI(rec, r)
	f.logRequest(RequestLog{Method: r.Method, Path: r.URL.Path, Status: rec.status, Served: served, At: at})
}

// serveAPI answers an API request. When a fault hit after serving replaced the answer, it
// returns the status the fake had answered.
func (f *Fake) serveAPI(w http.ResponseWriter, r *http.Request) (served int) {
	if !f.limiter.Allow() {
		w.Header().Set("Retry-After", "1")
		writeV2Error(w, http.StatusTooManyRequests, msgTooManyRequests)
		return 0
	}
	if before := f.rollFaults(r, false); before.delay > 0 || before.fault != nil {
		if before.linger {
			// Read the body now and serve without the client's context: it may be gone by then.
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			r = r.WithContext(context.WithoutCancel(r.Context()))
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if !before.wait(r) {
			return 0 // the client is gone; nothing to answer
		}
		if before.fault != nil {
			writeFault(w, *before.fault)
			return 0
		}
	}
	after := f.rollFaults(r, true)
	if after.delay == 0 && after.fault == nil {
		f.serveChecked(w, r)
		return 0
	}
	buf := &bufferedResponse{header: http.Header{}}
	f.serveChecked(buf, r)
	if !after.wait(r) {
		return buf.status
	}
	if after.fault != nil {
		writeFault(w, *after.fault)
		return buf.status
	}
	buf.flushTo(w)
	return 0
}

// serveChecked checks the Accept header and the partner token, then serves the endpoint.
func (f *Fake) serveChecked(w http.ResponseWriter, r *http.Request) {
	if !f.opts.AllowAnyAccept && !acceptsV2(r.Header.Get("Accept")) {
		writeV2Error(w, http.StatusNotAcceptable, msgBadAccept)
		return
	}
	// The activation endpoints check the token themselves so that rejected callbacks are
	// recorded too.
	if !strings.HasPrefix(r.URL.Path, "/marketplace/partner/callback") && !f.authorized(r) {
		writeV2Error(w, http.StatusUnauthorized, msgUnauthorized)
		return
	}
	if _, pattern := f.mux.Handler(r); pattern == "" {
		writeV2Error(w, http.StatusNotFound, msgNotFound)
		return
	}
	f.mux.ServeHTTP(w, r) // ServeHTTP, not the Handler above, sets the path values
}

// acceptsV2 accepts both media types seen on production code paths (reference §5.1).
func acceptsV2(accept string) bool {
	a := strings.ToLower(accept)
	return strings.Contains(a, "application/vnd.yclients.v2+json") || strings.Contains(a, "application/vnd.api.v2+json")
}

// authorized checks "Bearer <partner>" or "Bearer <partner>, User <user>". The user token is
// not enforced: sources disagree on whether marketplace apps need one (reference §5.1).
func (f *Fake) authorized(r *http.Request) bool {
	return f.tokenOK(partnerToken(r.Header.Get("Authorization")))
}

func (f *Fake) tokenOK(got string) bool {
	want := f.opts.PartnerToken
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// partnerToken extracts the partner token from an Authorization header.
func partnerToken(h string) string {
	h = strings.TrimSpace(h)
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return ""
	}
	partner, _, _ := strings.Cut(h[7:], ",")
	return strings.TrimSpace(partner)
}

func (f *Fake) logRequest(l RequestLog) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, l)
	if n := len(f.requests); n > maxRequestLog {
		f.requests = append(f.requests[:0:0], f.requests[n-maxRequestLog:]...)
	}
}

// Requests returns the API requests answered so far (the last 1000), oldest first.
func (f *Fake) Requests() []RequestLog {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RequestLog(nil), f.requests...)
}

// MaxRate returns the highest request rate the fake saw, in requests per second: the most API
// requests (of the last 1000) that arrived within one window of each other, divided by the
// window in seconds. MaxRate(time.Second) <= 5 checks a client against YClients' 5 requests per
// second.
func (f *Fake) MaxRate(window time.Duration) float64 {
	return MaxRequestRate(f.Requests(), window)
}

// MaxRequestRate is Fake.MaxRate over a request log, e.g. one read from GET /_fake/requests.
// It is 0 for a window that is not positive.
func MaxRequestRate(reqs []RequestLog, window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	at := make([]time.Time, len(reqs))
	for i, r := range reqs {
		at[i] = r.At
	}
	slices.SortFunc(at, time.Time.Compare)
	most := 0
	for i, j := 0, 0; j < len(at); j++ {
		for at[j].Sub(at[i]) >= window {
			i++
		}
		most = max(most, j-i+1)
	}
	return float64(most) / window.Seconds()
}
