package yclientsfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Entity webhook delivery (reference §4): {"company_id","resource","status","resource_id","data"}
// POSTed as JSON to every webhook_urls entry of the salon's latest accepted activation callback,
// EntityDelay after the change. No Authorization or signature header is sent: none is documented.
// Each (URL, resource, ID) has its own queue worked by one goroutine, so a change's webhooks
// never overtake the previous change's for the same record, while other records go on in
// parallel; with Options.EntityShuffle each webhook goes on its own, in random order.

const (
	entityRetryDelay = 1500 * time.Millisecond // Altegio: two retries 1.5 s apart
	entityAttempts   = 3
	entityTimeout    = 10 * time.Second // Altegio: 10 s per attempt (the public docs say 15 s)
	maxDeliveryLog   = 1000
)

// Delivery is one attempt to POST an entity webhook.
type Delivery struct {
	SalonID int64 `json:"salon_id"`
	// URL is the full target, for Go tests; GET /_fake/webhooks masks its last path segment
	// (our per-salon secret) and its query values.
	URL        string `json:"url"`
	Resource   string `json:"resource"`    // "record" or "client"
	ResourceID int64  `json:"resource_id"` // the record's or client's ID
	Status     string `json:"status"`      // "create", "update" or "delete"
	Attempt    int    `json:"attempt"`     // 1, then 2 and 3 for retries
	// Final is set when no further attempt of this webhook follows: it was answered 2xx, failed
	// for good, or ran out of retries.
	Final bool `json:"final"`
	// HTTPStatus is what the receiver answered; 0 when the request failed in transport.
	HTTPStatus int    `json:"http_status"`
	Error      string `json:"error"` // "" on an answer; never contains the URL
	// Body is the exact JSON sent; duplicates of one change carry identical bodies.
	Body json.RawMessage `json:"-"`
	At   time.Time       `json:"at"` // when the attempt started (Options.Now)
}

// outbox holds the webhook queues. Everything but ctx and cancel is guarded by Fake.mu.
type outbox struct {
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closed  bool
	queues  map[hookKey]*hookQueue
	log     []Delivery    // the last maxDeliveryLog attempts, in the order they finished
	total   int           // attempts finished since New
	changed chan struct{} // closed and replaced whenever an attempt finishes
}

type hookKey struct {
	url        string
	salonID    int64
	resource   string
	resourceID int64
}

type hookQueue struct{ jobs []hookJob }

// hookJob is one webhook to send: a Delivery template, its body and when it is due (wall clock).
type hookJob struct {
	d    Delivery
	body []byte
	due  time.Time
}

func (o *outbox) init() {
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.queues = map[hookKey]*hookQueue{}
	o.changed = make(chan struct{})
}

// envelope is the body of an entity webhook, fields in the order of the real deliveries.
type envelope struct {
	CompanyID  int64  `json:"company_id"`
	Resource   string `json:"resource"`
	Status     string `json:"status"`
	ResourceID int64  `json:"resource_id"`
	Data       any    `json:"data"`
}

// emitLocked queues dups identical webhooks for every URL of the salon. A salon gets webhooks
// only after an accepted activation, and only while the application is active or freezed (the
// sources do not say whether a frozen application still gets them; the fake sends them, so a
// frozen installation must cope).
func (f *Fake) emitLocked(st *salonState, resource string, id int64, status string, data any, dups int) {
	urls := f.webhookURLsLocked(st)
	if len(urls) == 0 || f.hooks.closed {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(envelope{st.salon.ID, resource, status, id, data}); err != nil {
		return // data is built from maps of plain values: this cannot happen
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	due := time.Now().Add(f.opts.EntityDelay)
	for _, u := range urls {
		if f.shuffle {
			f.emitShuffledLocked(Delivery{SalonID: st.salon.ID, URL: u, Resource: resource, ResourceID: id, Status: status}, body, dups)
			continue
		}
		key := hookKey{url: u, salonID: st.salon.ID, resource: resource, resourceID: id}
		q := f.hooks.queues[key]
		if q == nil {
			q = &hookQueue{}
			f.hooks.queues[key] = q
			f.hooks.wg.Add(1)
			go f.drain(key, q)
		}
		for range dups {
			q.jobs = append(q.jobs, hookJob{
				d:    Delivery{SalonID: st.salon.ID, URL: u, Resource: resource, ResourceID: id, Status: status},
				body: body, due: due,
			})
		}
	}
}

// emitShuffledLocked sends each of dups identical webhooks on its own goroutine, due at a
// random moment within EntityDelay from now (Options.EntityShuffle).
func (f *Fake) emitShuffledLocked(d Delivery, body []byte, dups int) {
	for range dups {
		due := time.Now()
		if f.opts.EntityDelay > 0 {
			due = due.Add(time.Duration(f.rnd.Int63n(int64(f.opts.EntityDelay))))
		}
		j := hookJob{d: d, body: body, due: due}
		f.hooks.wg.Add(1)
		go func() {
			defer f.hooks.wg.Done()
			if sleep(f.hooks.ctx, time.Until(j.due)) {
				f.deliver(j)
			}
		}()
	}
}

// SetEntityShuffle turns Options.EntityShuffle on or off for the changes made from now on.
func (f *Fake) SetEntityShuffle(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shuffle = on
}

// webhookURLsLocked returns the webhook_urls of the salon's latest accepted activation callback.
func (f *Fake) webhookURLsLocked(st *salonState) []string {
	if st.status != StatusActive && st.status != StatusFreezed {
		return nil
	}
	for _, cb := range slices.Backward(f.callbacks) {
		if cb.SalonID == st.salon.ID && (cb.StatusCode == http.StatusCreated || cb.StatusCode == http.StatusMovedPermanently) {
			return slices.Clone(cb.WebhookURLs)
		}
	}
	return nil
}

// drain sends the queue's webhooks one after another until it is empty or the fake is closed.
func (f *Fake) drain(key hookKey, q *hookQueue) {
	defer f.hooks.wg.Done()
	for {
		f.mu.Lock()
		if len(q.jobs) == 0 || f.hooks.closed {
			delete(f.hooks.queues, key)
			f.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs = q.jobs[1:]
		f.mu.Unlock()
		if !sleep(f.hooks.ctx, time.Until(j.due)) || !f.deliver(j) {
			f.mu.Lock()
			delete(f.hooks.queues, key)
			f.mu.Unlock()
			return
		}
	}
}

// deliver makes the attempts of one webhook. It reports false when the fake was closed.
func (f *Fake) deliver(j hookJob) bool {
	ctx := f.hooks.ctx
	for attempt := 1; ; attempt++ {
		d := j.d
		d.Attempt, d.At, d.Body = attempt, f.now(), j.body
		code, err := f.postHook(ctx, d.URL, j.body)
		d.HTTPStatus = code
		if err != nil {
			d.Error = err.Error()
		}
		failed := err != nil || code == http.StatusTooManyRequests || code >= 500
		retry := failed && *f.opts.EntityRetries && attempt < entityAttempts && ctx.Err() == nil
		d.Final = !retry
		f.recordDelivery(d)
		if !retry {
			return ctx.Err() == nil
		}
		if !sleep(ctx, entityRetryDelay) {
			return false
		}
	}
}

// postHook POSTs one webhook. Errors leave the URL out: it carries our secret.
func (f *Fake) postHook(ctx context.Context, target string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, entityTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("invalid webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := f.opts.HTTPClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return 0, fmt.Errorf("deliver webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}

func (f *Fake) recordDelivery(d Delivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hooks.log = append(f.hooks.log, d)
	if n := len(f.hooks.log); n > maxDeliveryLog {
		f.hooks.log = append(f.hooks.log[:0:0], f.hooks.log[n-maxDeliveryLog:]...)
	}
	f.hooks.total++
	close(f.hooks.changed)
	f.hooks.changed = make(chan struct{})
}

// Deliveries returns the entity webhook attempts finished so far (the last 1000), in the order
// they finished, with full URLs and bodies.
func (f *Fake) Deliveries() []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.hooks.log)
}

// WaitDeliveries blocks until at least n webhook attempts have finished since New (each retry
// counts as one; see Delivery.Final), or ctx ends.
func (f *Fake) WaitDeliveries(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		got, changed := f.hooks.total, f.hooks.changed
		f.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("yclientsfake: %d of %d webhook deliveries finished: %w", got, n, ctx.Err())
		case <-changed:
		}
	}
}

// Close drops the entity webhooks not yet sent, aborts those in flight and waits for the
// sending goroutines to end. The fake keeps answering requests; later changes send nothing.
func (f *Fake) Close() {
	f.mu.Lock()
	f.hooks.closed = true
	f.mu.Unlock()
	f.hooks.cancel()
	f.hooks.wg.Wait()
}

// sleep waits d and reports false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// maskURL hides a webhook URL's secrets for the control API: the last path segment (our
// per-salon secret) and the query values keep only their last 4 characters; user info goes.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "***"
	}
	out := u.Scheme + "://"
	if u.User != nil {
		out += "***@"
	}
	out += u.Host
	p := u.EscapedPath()
	trailing := len(p) > 1 && strings.HasSuffix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 && i < len(p)-1 {
		p = p[:i+1] + mask(p[i+1:])
	}
	if trailing {
		p += "/"
	}
	out += p
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, kv := range parts {
			if k, v, ok := strings.Cut(kv, "="); ok {
				parts[i] = k + "=" + mask(v)
			}
		}
		out += "?" + strings.Join(parts, "&")
	}
	return out
}
