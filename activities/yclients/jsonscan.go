package yclients

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Envelopes read in one pass. Every webhook is parsed twice on its way (the intake reads its
// envelope, the dispatcher the whole webhook), and every REST answer is an envelope
// {success, data, meta} around its data; encoding/json spends most of that in passes over the
// body that only find where the data is: one to validate it, one to decode, skipping the data
// (or copying it out) a second time. scanWebhook and splitAnswer read the plain form YClients
// sends in one pass, with jsontext (the tokenizer of encoding/json/v2); anything else goes to
// encoding/json, which stays the definition of what is accepted.

// scanner is a pooled tokenizer over one body.
type scanner struct {
	buf bytes.Buffer // jsontext reads a bytes.Buffer's bytes in place, without copying them
	dec jsontext.Decoder
}

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// scanBody is a pooled tokenizer reading body from its start; release gives it back.
func scanBody(body []byte) *scanner {
	s := scanners.Get().(*scanner)
	s.buf = *bytes.NewBuffer(body)
	s.dec.Reset(&s.buf, scanOptions...)
	return s
}

func (s *scanner) release() {
	s.buf = bytes.Buffer{} // let the body go
	s.dec.Reset(&s.buf)
	scanners.Put(s)
}

// scanOptions make jsontext take what encoding/json takes: invalid UTF-8 in strings and
// repeated names (scanObject leaves the repeats of the names it looks for to encoding/json).
var scanOptions = []jsontext.Options{jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)}

// scanObject reads body, when it is one plain JSON object, in one pass, and puts in raw[i]
// the value of its member names[i] (a slice of body; nil when absent). It returns false when
// body is not plain: not exactly one valid JSON object with nothing but whitespace around it,
// or one with a member of the names twice (encoding/json decodes every occurrence), or with a
// member whose name encoding/json would take for one of the names without being it
// (encoding/json matches names regardless of case: "Resource", "reſource"). A name is compared
// unescaped, as encoding/json compares it.
func scanObject(body []byte, names []string, raw []jsontext.Value) bool {
	s := scanBody(body)
	defer s.release()
	if !readObject(&s.dec, body, names, raw) {
		return false
	}
	_, err := s.dec.ReadToken()
	return err == io.EOF // encoding/json takes one value, nothing after it
}

// readObject is scanObject's reading of one object at dec's position in body (dec reads body
// from its start), and nothing after it.
func readObject(dec *jsontext.Decoder, body []byte, names []string, raw []jsontext.Value) bool {
	clear(raw)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return false
		}
		field, plain := nameIn(name.String(), names) // a token is valid until the next read
		if !plain || (field >= 0 && raw[field] != nil) {
			return false
		}
		if field < 0 { // a member encoding/json ignores too
			if dec.SkipValue() != nil {
				return false
			}
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return false
		}
		end := int(dec.InputOffset())
		raw[field] = jsontext.Value(body[end-len(v) : end : end])
	}
	tok, err := dec.ReadToken()
	return err == nil && tok.Kind() == '}'
}

// nameIn is the index in names of name (-1 when it is none of them), and false when name is
// not one of names but encoding/json would take it for one all the same.
func nameIn(name string, names []string) (int, bool) {
	if i := slices.Index(names, name); i >= 0 {
		return i, true
	}
	for i, n := range names {
		if strings.EqualFold(name, n) {
			return i, false
		}
	}
	return -1, true
}

// webhookFields are the JSON names of Envelope's fields and then Webhook's data, by the
// indexes below.
var webhookFields = []string{"company_id", "resource", "resource_id", "status", "data"}

const (
	fieldCompanyID = iota
	fieldResource
	fieldResourceID
	fieldStatus
	fieldData
)

// errNotPlain is scanWebhook's answer for a body it leaves to encoding/json.
var errNotPlain = errors.New("not a plain webhook")

// scanWebhook reads a webhook whose body is plain (scanObject) and whose fields are plain
// too: resource and status strings without escapes in valid UTF-8, company_id and
// resource_id numbers or strings holding a number, and with withData the data anything but
// null. It returns errNotPlain for any other body, valid or not, and then the caller decodes
// it with encoding/json; for a plain body the result is exactly encoding/json's
// (FuzzParseWebhook compares the two on every input).
func scanWebhook(body []byte, withData bool) (Webhook, error) {
	names := webhookFields
	if !withData {
		names = names[:fieldData] // an Envelope ignores the data, like any other member
	}
	var raw [5]jsontext.Value
	var wh Webhook
	if !scanObject(body, names, raw[:len(names)]) {
		return wh, errNotPlain
	}
	ok := true
	for field, v := range raw {
		if v == nil || !ok {
			continue
		}
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
	}
	if !ok {
		return Webhook{}, errNotPlain
	}
	return wh, nil
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

// answerFields are the members of a REST answer's envelope that splitAnswer reads.
var answerFields = []string{"success", "data", "meta"}

// answerEnvelope is a REST answer's envelope, as encoding/json decodes it (decodeData).
type answerEnvelope struct {
	Success *FlexBool       `json:"success"`
	Data    json.RawMessage `json:"data"`
	Meta    json.RawMessage `json:"meta"`
}

// splitAnswer reads the envelope of an answer body that starts with '{' as encoding/json
// would decode it into an answerEnvelope, in one pass for a plain body (scanObject: then data
// and meta are slices of body, not copies) and with encoding/json for any other;
// FuzzSplitAnswer compares the two.
func splitAnswer(body []byte) (answerEnvelope, error) {
	var raw [3]jsontext.Value
	if scanObject(body, answerFields, raw[:]) {
		env := answerEnvelope{Data: json.RawMessage(raw[1]), Meta: json.RawMessage(raw[2])}
		ok := true
		if v := raw[0]; v != nil && v.Kind() != 'n' { // null leaves the pointer nil
			env.Success = new(FlexBool)
			ok = env.Success.UnmarshalJSON(v) == nil
		}
		if ok {
			return env, nil
		}
	}
	var env answerEnvelope
	err := json.Unmarshal(body, &env)
	return env, err
}
