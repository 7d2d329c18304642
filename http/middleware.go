package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities/reqid"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// RequestIDHeader carries a request's reference ID, in and out.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a request ID taken from the client (or a proxy in front of us).
const maxRequestIDLen = 64

// ctxRequestID is the gin context's key of the request ID.
const ctxRequestID = "httpapi.requestID"

// requestID gives every request a reference ID: a sane X-Request-Id from a proxy in front of us,
// or a short one made here, which a salon owner can read out to support. It is sent back in
// the X-Request-Id header, logged on the request's log lines, shown on error pages and put in
// JSON errors, and carried in the request's context (RequestID).
func requestID(c *gin.Context) {
	id := c.GetHeader(RequestIDHeader)
	if !saneRequestID(id) {
		id = newRequestID()
	}
	c.Set(ctxRequestID, id)
	// reqid carries it on into the workflows the request starts or signals, and their activities.
	c.Request = c.Request.WithContext(reqid.With(c.Request.Context(), id))
	c.Writer.Header().Set(RequestIDHeader, id)
	c.Next()
}

// RequestID returns the reference ID of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	return reqid.From(ctx)
}

// saneRequestID accepts IDs that are safe to log and show: 1 to 64 letters, digits, '-', '_',
// '.' or ':'.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)
		if !ok {
			return false
		}
	}
	return true
}

// requestIDEncoding is base32 without padding: capitals and the digits 2-7, so no 0/O or 1/I
// mix-up when an owner reads the ID out.
var requestIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRequestID returns 10 random characters (50 bits).
func newRequestID() string {
	b := make([]byte, 7)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return requestIDEncoding.EncodeToString(b)[:10]
}

// requestLog logs one line per request. It logs the path only, never the query string: session
// tokens travel in ?token= and marketplace links carry user data.
func requestLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelWarn
		}
		log.LogAttrs(c.Request.Context(), level, "http request",
			slog.String("method", c.Request.Method),
			slog.String("path", logPath(c)),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.String("clientIP", c.ClientIP()),
			slog.String("requestID", c.GetString(ctxRequestID)),
		)
	}
}

// secretParams are route parameters that carry secrets (e.g. the entity webhook's URL secret).
var secretParams = map[string]bool{"secret": true, "token": true}

// logPath is the request path for logs: the matched route with its parameters filled in, except
// secret ones, which stay as ":name". An unmatched request (a GET on the webhook URL, a typo)
// logs its path masked: see maskPath.
func logPath(c *gin.Context) string {
	route := c.FullPath()
	if route == "" {
		return maskPath(c.Request.URL.Path)
	}
	for _, p := range c.Params {
		if !secretParams[p.Key] {
			route = strings.Replace(route, ":"+p.Key, p.Value, 1)
		}
	}
	return route
}

// maskPath masks what an unmatched path may carry: the per-salon secret of a webhook URL
// (/webhook/yclients/<salon>/<secret>/…), any long token-like segment, and phone numbers.
func maskPath(path string) string {
	if len(path) > 512 {
		path = path[:512] + "…"
	}
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		switch {
		case i >= 4 && segs[1] == "webhook" && segs[2] == "yclients":
			segs[i] = ":secret"
		case len(seg) >= 20:
			segs[i] = ":redacted"
		default:
			segs[i] = whatsapp.RedactPhones(seg)
		}
	}
	return strings.Join(segs, "/")
}

// recovery turns a panic into a 500 answered by renderErrors. Unlike gin.Recovery it never dumps
// the request line, which would carry the query string and its tokens.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(rec) // the client went away; net/http handles this one quietly
			}
			log.Error("panic in handler", slog.String("path", logPath(c)), slog.String("requestID", c.GetString(ctxRequestID)),
				slog.String("panic", fmt.Sprint(rec)), slog.String("stack", string(debug.Stack())))
			abort(c, fmt.Errorf("panic: %v", rec))
		}()
		c.Next()
	}
}

// securityHeaders are sent with every answer. Framing is governed by each page's CSP
// (frame-ancestors) instead of X-Frame-Options, because YClients shows the connect page in an
// iframe.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	c.Next()
}

// noStore marks answers that must not be cached (pages carrying a session token, API data).
func noStore(c *gin.Context) {
	c.Writer.Header().Set("Cache-Control", "no-store")
	c.Next()
}
