package yclients

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// APIError is a non-success HTTP answer from YClients (or a success status whose body could not
// be understood, e.g. an HTML page). Message comes from the response body and never contains
// the partner token, the user token or an api_key: the client redacts them before building it.
type APIError struct {
	// StatusCode is the HTTP status YClients answered with.
	StatusCode int
	// Message is the human-readable text from the error body (legacy or v2 shape), or a short
	// description of an unexpected body.
	Message string
	// RetryAfter is the parsed Retry-After header (zero when absent).
	RetryAfter time.Duration
}

// Error implements error. It holds only the status and the server's message.
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if e.RetryAfter > 0 {
		return fmt.Sprintf("yclients: HTTP %d: %s (retry after %s)", e.StatusCode, msg, e.RetryAfter)
	}
	return fmt.Sprintf("yclients: HTTP %d: %s", e.StatusCode, msg)
}

// Retryable reports whether repeating the same request later may succeed: 429 and 5xx are
// retryable; every other status (400, 401, 403, 404, 422, ...) means the request itself is wrong.
func (e *APIError) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// NetworkError is a transport failure (DNS, connection refused, reset, client timeout) before a
// complete HTTP answer arrived. It is always retryable.
type NetworkError struct {
	// Op is "<METHOD> <path>" of the failed request; the path never carries secrets.
	Op string
	// Err is the underlying transport error.
	Err error
}

// Error implements error.
func (e *NetworkError) Error() string {
	return fmt.Sprintf("yclients: network error: %s: %v", e.Op, e.Err)
}

// Unwrap returns the underlying transport error.
func (e *NetworkError) Unwrap() error { return e.Err }

// Retryable reports true: the request may be repeated.
func (e *NetworkError) Retryable() bool { return true }

// IsNotFound reports whether err is a 404 from YClients (unknown salon, record, or application
// not installed in the salon).
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports whether err is a 401 (missing or wrong partner or user token).
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsRateLimited reports whether err is a 429; the APIError's RetryAfter says how long to wait.
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsAlreadyInstalled reports whether err is the 403 «Пользователь уже установил это приложение»
// that YClients answers to a repeated activation callback. Callers treat it as success after
// checking that the integration status is active.
func IsAlreadyInstalled(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.StatusCode == http.StatusForbidden &&
		strings.Contains(strings.ToLower(apiErr.Message), "уже установил")
}

// IsRetryable reports whether err is an APIError or NetworkError that may succeed when repeated.
func IsRetryable(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Retryable()
	}
	var netErr *NetworkError
	return errors.As(err, &netErr)
}

func hasStatus(err error, status int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == status
}

// parseRetryAfter reads a Retry-After header given as delay-seconds or as an HTTP date.
// Unparseable or past values give zero.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// errorMessage extracts the message from one of the error body shapes YClients uses:
//
//	v2:     {"success":false,"data":null,"meta":{"message":"…","errors":[…]}}
//	legacy: {"errors":{"code":404,"message":"…"},"meta":{"message":"…"}}
//
// plus HTML pages and anything else, which become a short description.
func errorMessage(contentType string, body []byte) string {
	if isHTML(contentType, body) {
		return describeHTML(body)
	}
	var env struct {
		Meta    json.RawMessage `json:"meta"`
		Errors  json.RawMessage `json:"errors"`
		Message string          `json:"message"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return describeOther(contentType, body)
	}
	var meta struct {
		Message string            `json:"message"`
		Errors  []json.RawMessage `json:"errors"`
	}
	_ = json.Unmarshal(env.Meta, &meta) // meta may be [] or absent
	msg := meta.Message
	if msg == "" {
		var legacy struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(env.Errors, &legacy) // legacy "errors" is an object
		msg = legacy.Message
	}
	if msg == "" {
		msg = env.Message
	}
	if details := errorDetails(meta.Errors); details != "" {
		if msg == "" {
			msg = details
		} else {
			msg += ": " + details
		}
	}
	return msg
}

// errorDetails joins up to three entries of meta.errors (strings or objects with a message).
func errorDetails(items []json.RawMessage) string {
	var parts []string
	for _, raw := range items {
		if len(parts) == 3 {
			break
		}
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			parts = append(parts, s)
			continue
		}
		var obj struct {
			Message string `json:"message"`
			Field   string `json:"field"`
		}
		if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
			if obj.Field != "" {
				parts = append(parts, obj.Field+": "+obj.Message)
			} else {
				parts = append(parts, obj.Message)
			}
		}
	}
	return strings.Join(parts, "; ")
}

func isHTML(contentType string, body []byte) bool {
	if strings.Contains(strings.ToLower(contentType), "html") {
		return true
	}
	trimmed := strings.TrimSpace(string(body[:min(len(body), 64)]))
	return strings.HasPrefix(trimmed, "<")
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// describeHTML turns an HTML page into a short description: its <title>, if any.
func describeHTML(body []byte) string {
	if m := titleRE.FindSubmatch(body); m != nil {
		if title := strings.Join(strings.Fields(string(m[1])), " "); title != "" {
			return "unexpected HTML response: " + truncate(title, 100)
		}
	}
	return "unexpected HTML response"
}

func describeOther(contentType string, body []byte) string {
	if len(strings.TrimSpace(string(body))) == 0 {
		return ""
	}
	if contentType == "" {
		contentType = "unknown content type"
	}
	return fmt.Sprintf("unexpected non-JSON response (%s, %d bytes)", contentType, len(body))
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
