package yclients

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Every webhook is parsed twice on its way (the intake reads its envelope, the dispatcher the
// whole webhook), and encoding/json spends most of that in two passes over the body: one to
// validate it, one to decode, skipping the data object a second time. scanWebhook reads the
// plain form YClients sends in one pass, with jsontext (the tokenizer of encoding/json/v2);
// anything else goes to encoding/json, which stays the definition of what is accepted.

// scanner is a pooled tokenizer over one body.
type scanner struct {
	buf bytes.Buffer // jsontext reads a bytes.Buffer's bytes in place, without copying them
	dec jsontext.Decoder
}

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// scanOptions make jsontext take what encoding/json takes: invalid UTF-8 in strings and
// repeated names (the routing fields' repeats are left to encoding/json below).
var scanOptions = []jsontext.Options{jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)}

// envelopeFields are the JSON names of Envelope's fields and Webhook's data, by the indexes
// below.
var envelopeFields = [...]string{"company_id", "resource", "resource_id", "status", "data"}

const (
	fieldCompanyID = iota
	fieldResource
	fieldResourceID
	fieldStatus
	fieldData
)

// errNotPlain is scanWebhook's answer for a body it leaves to encoding/json.
var errNotPlain = errors.New("not a plain webhook")

// scanWebhook reads a webhook whose body is plain: one JSON object, each of the envelope's
// fields (and with withData the data) at most once, named exactly, resource and status
// strings without escapes in valid UTF-8, company_id and resource_id numbers or strings
// holding a number, data anything but null. It returns errNotPlain for any other body,
// valid or not, and then the caller decodes it with encoding/json; for a plain body the
// result is exactly encoding/json's (FuzzParseWebhook compares the two on every input).
func scanWebhook(body []byte, withData bool) (Webhook, error) {
	s := scanners.Get().(*scanner)
	defer func() {
		s.buf = bytes.Buffer{} // let the body go
		s.dec.Reset(&s.buf)
		scanners.Put(s)
	}()
	s.buf = *bytes.NewBuffer(body)
	s.dec.Reset(&s.buf, scanOptions...)
	var wh Webhook
	if tok, err := s.dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return wh, errNotPlain
	}
	var seen [len(envelopeFields)]bool
	for s.dec.PeekKind() == '"' {
		name, err := s.dec.ReadToken()
		if err != nil {
			return wh, errNotPlain
		}
		field, plain := fieldOf(name.String(), withData)
		if !plain || (field >= 0 && seen[field]) {
			// A name encoding/json matches regardless of case ("Resource", "reſource"),
			// or a field again (encoding/json decodes every occurrence): left to it.
			return wh, errNotPlain
		}
		if field < 0 { // a field encoding/json ignores too
			if s.dec.SkipValue() != nil {
				return wh, errNotPlain
			}
			continue
		}
		seen[field] = true
		v, err := s.dec.ReadValue()
		if err != nil {
			return wh, errNotPlain
		}
		var ok bool
		switch field {
		case fieldCompanyID:
			wh.CompanyID, ok = plainNumber(v)
		case fieldResourceID:
			wh.ResourceID, ok = plainNumber(v)
		case fieldResource:
			wh.Resource, ok = plainString(v)
		case fieldStatus:
			wh.Status, ok = plainString(v)
		case fieldData:
			ok = v.Kind() != 'n'
			wh.Data = bytes.Clone(v)
		}
		if !ok {
			return wh, errNotPlain
		}
	}
	if tok, err := s.dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return wh, errNotPlain
	}
	if _, err := s.dec.ReadToken(); err != io.EOF { // encoding/json takes one value, nothing after it
		return wh, errNotPlain
	}
	return wh, nil
}

// fieldOf is the index in envelopeFields of the field named name (-1 when encoding/json
// ignores the name: data when withData is false, too), and false when name is not the field's
// exact name but encoding/json would take it for the field all the same, as it matches names
// without regard to case.
func fieldOf(name string, withData bool) (int, bool) {
	switch name { // the names YClients sends: no folding needed
	case "company_id":
		return fieldCompanyID, true
	case "resource":
		return fieldResource, true
	case "resource_id":
		return fieldResourceID, true
	case "status":
		return fieldStatus, true
	case "data":
		if withData {
			return fieldData, true
		}
		return -1, true
	}
	for i, f := range envelopeFields {
		if strings.EqualFold(name, f) && (withData || f != "data") {
			return i, false
		}
	}
	return -1, true
}

// plainNumber is a json.Number field's value as encoding/json decodes it from v, a JSON
// number (its text) or a string without escapes that holds one; false for anything else.
func plainNumber(v jsontext.Value) (json.Number, bool) {
	switch v.Kind() {
	case '0':
		return json.Number(v), true
	case '"':
		s, ok := plainString(v)
		if !ok || s == "" || !(s[0] == '-' || ('0' <= s[0] && s[0] <= '9')) || s[len(s)-1] < '0' || s[len(s)-1] > '9' {
			return "", false
		}
		if jsontext.Value(s).Kind() != '0' || !jsontext.Value(s).IsValid() {
			return "", false
		}
		return json.Number(s), true
	}
	return "", false
}

// plainString is a string field's value as encoding/json decodes it from v, a JSON string
// without escapes, in valid UTF-8; false for anything else.
func plainString(v jsontext.Value) (string, bool) {
	if v.Kind() != '"' || len(v) < 2 {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') >= 0 || !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}
