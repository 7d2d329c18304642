package yclientsfake

// Tolerant JSON scalars for bodies written in YClients' shapes, where the same field is a number
// in one answer and a string in another ("id":"79067", "price_min":"1000.00", "active":"1",
// phones as numbers). null and "" are the zero value.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// scalar returns the text of a JSON string or number (ok false for null, objects and arrays).
func scalar(b []byte) (string, bool, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return "", false, nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, err
		}
		return strings.TrimSpace(s), true, nil
	case b[0] == '{' || b[0] == '[':
		return "", false, fmt.Errorf("want a number or a string, got %c…", b[0])
	}
	return string(b), true, nil
}

// flexInt is an integer sent as a number or a numeric string.
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s, ok, err := scalar(b)
	if err != nil || !ok || s == "" {
		*f = 0
		return err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		x, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || x != float64(int64(x)) {
			return fmt.Errorf("want an integer, got %q", s)
		}
		n = int64(x)
	}
	*f = flexInt(n)
	return nil
}

// flexNum is a number sent as a number or a numeric string ("1300.00").
type flexNum float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexNum) UnmarshalJSON(b []byte) error {
	s, ok, err := scalar(b)
	if err != nil || !ok || s == "" {
		*f = 0
		return err
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("want a number, got %q", s)
	}
	*f = flexNum(x)
	return nil
}

// flexStr is text sent as a string or a number (phones such as 74951234567).
type flexStr string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexStr) UnmarshalJSON(b []byte) error {
	s, _, err := scalar(b)
	*f = flexStr(s)
	return err
}

// flexFlag is a flag sent as true/false, 1/0, "1"/"0" or "true"/"false".
type flexFlag bool

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexFlag) UnmarshalJSON(b []byte) error {
	s, _, err := scalar(b)
	if err != nil {
		return err
	}
	switch strings.ToLower(s) {
	case "", "0", "false":
		*f = false
	case "1", "true":
		*f = true
	default:
		return fmt.Errorf("want a flag (true, false, 1 or 0), got %q", s)
	}
	return nil
}

// position is a staff position: YClients' {"id":1,"title":"…"}, [] or {} when empty, or the
// fake's plain title.
type position struct {
	ID    int64
	Title string
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *position) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*p = position{}
	switch {
	case len(b) == 0 || b[0] == '[' || string(b) == "null":
		return nil
	case b[0] == '{':
		var obj struct {
			ID    flexInt `json:"id"`
			Title flexStr `json:"title"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*p = position{ID: int64(obj.ID), Title: string(obj.Title)}
		return nil
	}
	var s flexStr
	err := s.UnmarshalJSON(b)
	p.Title = string(s)
	return err
}
