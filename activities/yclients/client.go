// Package yclients is the REST client for the YClients (Altegio) API and marketplace partner
// endpoints that AI Admin uses: salon info, services, staff, schedules, one record and the
// records of a date range (paged), a record's attendance (a client's confirmation or soft
// cancel), integration status and the activation callback. It decodes YClients' type-sloppy JSON with the Flex types,
// turns error answers into *APIError / *NetworkError, and never logs or returns secrets.
//
// The behaviour it is written against is described in shared/reference/yclients-api.md; the
// subpackage yclientsfake is a faithful fake of that behaviour for tests and demo mode.
package yclients

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/metrics"
)

// AcceptV2 is the versioning media type YClients documents for the v2 response format.
const AcceptV2 = "application/vnd.yclients.v2+json"

const (
	defaultTimeout   = 15 * time.Second
	maxResponseBytes = 8 << 20
	userAgent        = "aiadmin-yclients/1"
)

// defaultLimiter is shared by every Client built without its own Limiter, for a single
// process: YClients limits per IP address (200 requests/minute, 5/second), not per token, so
// all clients in one process draw from the same bucket, spaced as the cluster-wide Budget
// spaces them. A process that shares the address with others (production) uses a Budget.
var defaultLimiter = rate.NewLimiter(rate.Every(BudgetSpacing), 1)

// Config configures a Client. Only BaseURL and PartnerToken are required.
type Config struct {
	// BaseURL is the API host, e.g. https://api.yclients.com; the client appends /api/v1/...
	// and /marketplace/....
	BaseURL string
	// PartnerToken is the developer's partner token. Secret: never logged.
	PartnerToken string
	// UserToken is optional; when set the header is "Bearer <partner>, User <user>". Secret.
	UserToken string
	// ApplicationID is the marketplace application's ID.
	ApplicationID int64
	// HTTPClient is optional; the default has a 15 s timeout. Redirects are never followed,
	// whichever client is given (the activation callback answers 301).
	HTTPClient *http.Client
	// Limiter is optional; the default is one package-level limiter (200 requests/minute)
	// shared by every Client in the process. Processes sharing an address use a Budget.
	Limiter Limiter
}

// Client calls the YClients REST and marketplace APIs. It is safe for concurrent use.
type Client struct {
	baseURL string
	partner string
	user    string
	appID   int64
	http    *http.Client
	limiter Limiter
	now     func() time.Time
	reach   reachability
}

// New builds a Client from cfg, filling in defaults.
func New(cfg Config) *Client {
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	} else {
		hc.Timeout = defaultTimeout
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		partner: cfg.PartnerToken,
		user:    cfg.UserToken,
		appID:   cfg.ApplicationID,
		http:    &hc,
		limiter: cfg.Limiter,
		now:     time.Now,
	}
	if c.limiter == nil {
		c.limiter = defaultLimiter
	}
	return c
}

// response is a complete HTTP answer, read into memory.
type response struct {
	status      int
	header      http.Header
	contentType string
	body        []byte
}

// getData performs a GET and decodes the envelope's data into out.
func (c *Client) getData(ctx context.Context, path string, query url.Values, out any) error {
	return c.getPage(ctx, path, query, out, nil)
}

// getPage performs a GET and decodes the envelope's data into out and, when meta is not nil
// and the envelope's meta is an object, its meta into meta.
func (c *Client) getPage(ctx context.Context, path string, query url.Values, out, meta any) error {
	resp, err := c.send(ctx, call{method: http.MethodGet, path: path, query: query})
	if err != nil {
		return err
	}
	if resp.status < 200 || resp.status > 299 {
		return fmt.Errorf("yclients: GET %s: %w", path, c.apiError(resp))
	}
	if err := c.decodeData(resp, out, meta); err != nil {
		return fmt.Errorf("yclients: GET %s: %w", path, err)
	}
	return nil
}

// decodeData unwraps the {success,data,meta} envelope exactly once and decodes data into out
// (and meta into meta, when not nil). A body that is not an envelope (old v1 answers) is decoded
// as the data itself.
func (c *Client) decodeData(resp *response, out, meta any) error {
	if isHTML(resp.contentType, resp.body) {
		return &APIError{StatusCode: resp.status, Message: describeHTML(resp.body)}
	}
	var env answerEnvelope
	trimmed := bytes.TrimSpace(resp.body)
	data := json.RawMessage(trimmed)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var err error
		if env, err = splitAnswer(trimmed); err != nil {
			return &APIError{StatusCode: resp.status, Message: describeOther(resp.contentType, resp.body)}
		}
		if env.Success != nil && !bool(*env.Success) {
			return c.apiError(resp)
		}
		if env.Success != nil || env.Data != nil {
			data = env.Data
		}
	}
	if len(data) == 0 {
		return &APIError{StatusCode: resp.status, Message: "empty response body"}
	}
	if err := decodeValue(data, out); err != nil {
		return fmt.Errorf("decode data: %w", err)
	}
	if meta != nil {
		if _, err := decodeObject(env.Meta, meta); err != nil {
			return fmt.Errorf("decode meta: %w", err)
		}
	}
	return nil
}

// apiError builds the APIError for an unsuccessful answer. extra are further secrets (an
// api_key) to redact from the server's message besides the tokens.
func (c *Client) apiError(resp *response, extra ...string) *APIError {
	msg := c.redact(errorMessage(resp.contentType, resp.body), extra...)
	e := &APIError{StatusCode: resp.status, Message: msg}
	if resp.status == http.StatusTooManyRequests || resp.status >= 500 {
		e.RetryAfter = parseRetryAfter(resp.header.Get("Retry-After"), c.now())
	}
	return e
}

// call describes one logical request.
type call struct {
	method string
	path   string // never carries secrets: it appears in errors and logs
	query  url.Values
	body   any
	// ok reports the statuses that are success for this call (default 2xx).
	ok func(int) bool
	// secrets are redacted from server messages besides the tokens (e.g. the api_key).
	secrets []string
}

// send performs one logical request: exactly one attempt (Temporal's retry policy retries the
// activity). It returns the answer, or an error when no answer was obtained or the answer was
// retryable (429, 5xx). Non-retryable unsuccessful answers are returned as responses for the
// caller to interpret.
func (c *Client) send(ctx context.Context, cl call) (*response, error) {
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return nil, fmt.Errorf("yclients: %s %s: encode body: %w", cl.method, cl.path, err)
		}
	}
	okStatus := cl.ok
	if okStatus == nil {
		okStatus = func(s int) bool { return s >= 200 && s <= 299 }
	}
	resp, err := c.attempt(ctx, cl.method, cl.path, cl.query, payload)
	c.reach.record(c.now(), err, resp)
	if err != nil {
		return nil, err
	}
	if okStatus(resp.status) || !(resp.status == http.StatusTooManyRequests || resp.status >= 500) {
		return resp, nil
	}
	return nil, fmt.Errorf("yclients: %s %s: %w", cl.method, cl.path, c.apiError(resp, cl.secrets...))
}

// attempt performs exactly one HTTP round trip after waiting for the rate limiter.
func (c *Client) attempt(ctx context.Context, method, path string, query url.Values, payload []byte) (*response, error) {
	op := method + " " + path
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, fmt.Errorf("yclients: %s: rate limiter: %w", op, err)
	}
	Sending(ctx)
	target := c.baseURL + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("yclients: %s: build request: %w", op, err)
	}
	req.Header.Set("Authorization", c.authorization())
	req.Header.Set("Accept", AcceptV2)
	req.Header.Set("User-Agent", userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		metrics.YClientsCall(method, endpointOf(path), 0, time.Since(start))
		if ctx.Err() != nil {
			return nil, fmt.Errorf("yclients: %s: %w", op, ctx.Err())
		}
		return nil, &NetworkError{Op: op, Err: unwrapURLError(err)}
	}
	defer res.Body.Close()
	defer func() { metrics.YClientsCall(method, endpointOf(path), res.StatusCode, time.Since(start)) }()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		return nil, &NetworkError{Op: op, Err: fmt.Errorf("read body: %w", unwrapURLError(err))}
	}
	return &response{status: res.StatusCode, header: res.Header, contentType: res.Header.Get("Content-Type"), body: data}, nil
}

func (c *Client) authorization() string {
	if c.user != "" {
		return "Bearer " + c.partner + ", User " + c.user
	}
	return "Bearer " + c.partner
}

// redact removes the tokens from text that came from the server, in case it echoes them.
func (c *Client) redact(s string, extra ...string) string {
	for _, secret := range append([]string{c.partner, c.user}, extra...) {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "***")
		}
	}
	return s
}

// endpointOf is a request path as a metrics label: its numeric segments (salon, record,
// application IDs) become {id}, e.g. /api/v1/record/{id}/{id}.
func endpointOf(path string) string {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// unwrapURLError drops *url.Error's wrapper: its text repeats the full URL, and the Op already
// names the request.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
