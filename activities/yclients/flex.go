package yclients

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The YClients API is loose with JSON types: the same field arrives as a number in one endpoint
// and as a string in another ("id":"79067", "price_min":"1000.00", "active":"1", phones as
// numbers). The Flex types below accept every variant seen in the wild; null and "" decode to
// the zero value.

// FlexInt is an integer that may arrive as a JSON number ("id":79067), a numeric string
// ("id":"79067"), or a float with no fractional part ("2700.00").
type FlexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexInt) UnmarshalJSON(b []byte) error {
	s, ok := scalarText(b)
	if !ok || s == "" {
		*f = 0
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*f = FlexInt(n)
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
		return fmt.Errorf("yclients: %q is not an integer", truncate(s, 32))
	}
	*f = FlexInt(int64(x))
	return nil
}

// FlexFloat is a number that may arrive as a JSON number (1300) or a string ("1300.00").
// A decimal comma ("1300,50") is accepted as well; "NaN" and "Inf", which strconv would take,
// are not (no price is one, and JSON, Temporal's payloads included, cannot carry them).
type FlexFloat float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexFloat) UnmarshalJSON(b []byte) error {
	s, ok := scalarText(b)
	if !ok || s == "" {
		*f = 0
		return nil
	}
	x, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("yclients: %q is not a number", truncate(s, 32))
	}
	*f = FlexFloat(x)
	return nil
}

// FlexBool is a flag that may arrive as true/false, 1/0, "1"/"0", "true"/"false", or "".
// Any non-zero number counts as true.
type FlexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexBool) UnmarshalJSON(b []byte) error {
	s, ok := scalarText(b)
	if !ok {
		*f = false
		return nil
	}
	switch strings.ToLower(s) {
	case "", "0", "false", "no", "off":
		*f = false
		return nil
	case "1", "true", "yes", "on":
		*f = true
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("yclients: %q is not a boolean", truncate(s, 32))
	}
	*f = x != 0
	return nil
}

// FlexString is text that may arrive as a JSON string or as a number (phones such as
// 70001234567 keep every digit). Booleans become "true"/"false"; objects and arrays are
// rejected.
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return fmt.Errorf("yclients: expected a string, got %c…", b[0])
	}
	s, _ := scalarText(b)
	*f = FlexString(s)
	return nil
}

// FlexTime is a timestamp in any layout YClients uses:
//
//	"2019-01-16 16:00:00"        (no zone: read as UTC, Zoneless; Record.In re-reads it)
//	"2019-01-16T16:00:00+09:00"  (RFC 3339; the offset is kept)
//	"2019-01-16T20:35:11+0900"   (offset without a colon; kept)
//	"2019-01-16"                 (a date: midnight UTC)
//	1547622000 or "1547622000"   (unix seconds, UTC)
//
// null, "", 0 and "0000-00-00 00:00:00" decode to the zero time.
type FlexTime struct {
	time.Time
	// Zoneless says the text carried no offset: the clock time is in some zone YClients did
	// not name (the salon's), and Time holds it as UTC until In places it.
	Zoneless bool
}

// In is the time with a zoneless clock time read in loc (a time with an offset is kept).
func (f FlexTime) In(loc *time.Location) time.Time {
	if !f.Zoneless || f.IsZero() || loc == nil {
		return f.Time
	}
	t := f.Time
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

var flexTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02 15:04:05-07:00",
	"2006-01-02 15:04:05-0700",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexTime) UnmarshalJSON(b []byte) error {
	s, ok := scalarText(b)
	if !ok || s == "" || s == "0" || strings.HasPrefix(s, "0000-00-00") {
		f.Time = time.Time{}
		return nil
	}
	t, err := ParseTime(s)
	if err != nil {
		return err
	}
	f.Time, f.Zoneless = t, zoneless(s)
	return nil
}

// maxUnixTime is 9999-12-31T23:59:59Z, the last second the layouts can express: a later time
// is no YClients timestamp, and time.Time's JSON (Temporal payloads) cannot carry it.
const maxUnixTime = 253402300799

// zoneless reports a timestamp text with a clock time and no offset (not a unix time, not a
// bare date: midnight UTC stays a date's convention).
func zoneless(s string) bool {
	s = strings.TrimSpace(s)
	if isDigits(s) || len(s) <= len("2006-01-02") {
		return false
	}
	clock := s[len("2006-01-02")+1:]
	return !strings.ContainsAny(clock, "+-Z")
}

// ParseTime parses a YClients timestamp in any of the layouts accepted by FlexTime.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if isDigits(s) {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err == nil && secs > maxUnixTime {
			err = errors.New("after the year 9999")
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("yclients: bad unix time %q: %w", truncate(s, 32), err)
		}
		return time.Unix(secs, 0).UTC(), nil
	}
	for _, layout := range flexTimeLayouts[firstLayout(s):] {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("yclients: unknown time layout %q", truncate(s, 40))
}

// firstLayout is the index of the first of flexTimeLayouts that can parse s, judged by its
// shape: the layouts before it cannot (each failed attempt costs a time.ParseError), so
// ParseTime still answers with the first layout that parses, as it did trying them all
// (FuzzParseTime compares the two). The date part of every layout is fixed-width.
func firstLayout(s string) int {
	const date = len("2006-01-02")
	switch {
	case len(s) == date:
		return len(flexTimeLayouts) - 1 // every other layout has a clock time after the date
	case len(s) > date && s[date] == ' ':
		return 3 // the first three have a 'T' after the date
	case len(s) > date+6 && s[date] == 'T' && s[len(s)-1] != 'Z' && s[len(s)-3] != ':':
		return 1 // RFC 3339 ends in Z or ±hh:mm
	}
	return 0
}

// scalarText returns the text of a JSON scalar: a string's content, a number's literal, or
// "true"/"false". It reports false for null, objects and arrays.
func scalarText(b []byte) (string, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" || b[0] == '{' || b[0] == '[' {
		return "", false
	}
	if b[0] == '"' {
		if s, ok := plainString(b); ok && !hasControl(s) && b[len(b)-1] == '"' && !strings.Contains(s, `"`) {
			return strings.TrimSpace(s), true // as encoding/json reads it, without its reflection
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	return string(b), true
}

// hasControl reports a byte JSON does not allow unescaped in a string.
func hasControl(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
