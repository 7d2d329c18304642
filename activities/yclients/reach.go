package yclients

import (
	"errors"
	"net/http"
	"sync"
	"time"
)

// reachability is the outcome of the client's last request: YClients answered (any status but
// 429 and 5xx) or not. The health endpoint reads it instead of calling YClients again.
type reachability struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

// record notes a request's outcome; one that never reached YClients (the caller gave up while
// waiting for its slot) tells nothing.
func (r *reachability) record(at time.Time, err error, resp *response) {
	var netErr *NetworkError
	if err != nil && !errors.As(err, &netErr) {
		return
	}
	if err == nil && (resp.status == 429 || resp.status >= 500) {
		err = &APIError{StatusCode: resp.status, Message: http.StatusText(resp.status)}
	}
	r.mu.Lock()
	r.at, r.err = at, err
	r.mu.Unlock()
}

// LastCall reports when the client last called YClients and, if YClients did not answer
// (network error, 429, 5xx), why; a zero time when it never did.
func (c *Client) LastCall() (time.Time, error) {
	c.reach.mu.Lock()
	defer c.reach.mu.Unlock()
	return c.reach.at, c.reach.err
}
