package yclientsfake

// Strict control-API bodies: a field the fake would not use is refused with 400 and named, so
// that a test cannot pass for the wrong reason (e.g. {"record": {...}} sent as an edit that
// then changes nothing).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// UnknownFieldsError is a control-API body with fields that neither the fake's own shape nor
// YClients' shape of that object has. Fields are JSON paths such as "record" or
// "services[2].duration_minutes", sorted.
type UnknownFieldsError struct {
	Fields []string
}

// Error implements error.
func (e *UnknownFieldsError) Error() string {
	quoted := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		quoted[i] = strconv.Quote(f)
	}
	if len(quoted) == 1 {
		return "unknown field " + quoted[0]
	}
	return "unknown fields " + strings.Join(quoted, ", ")
}

// InvalidFieldError is a known field whose value the fake cannot accept (e.g. a UTC offset that
// does not match timezone_name); the control API answers it with 422.
type InvalidFieldError struct {
	Field string
	Msg   string
}

// Error implements error.
func (e *InvalidFieldError) Error() string { return e.Field + ": " + e.Msg }

// shaped is implemented by the types that also accept YClients' shape of the object: it names
// the fields of that shape and, for those that are objects the fake reads, their Go types (nil
// for values taken as they are).
type shaped interface {
	yclientsFields() map[string]reflect.Type
}

var shapedType = reflect.TypeFor[shaped]()

// readJSON decodes a control-API request body of at most 1 MiB into v, refusing fields v's type
// does not have (*UnknownFieldsError).
func readJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	return decodeStrict(body, v)
}

// decodeStrict decodes body into v after checking its fields against v's type.
func decodeStrict(body []byte, v any) error {
	var unknown []string
	checkFields(body, reflect.TypeOf(v), "", &unknown)
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return &UnknownFieldsError{Fields: unknown}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var uf *UnknownFieldsError
		var inv *InvalidFieldError
		if errors.As(err, &uf) || errors.As(err, &inv) {
			return err
		}
		return fmt.Errorf("decode body: %w", err)
	}
	return nil
}

// checkFields walks raw alongside the Go type t and appends the path of every object key that
// t does not have. Maps and other free-form values are not entered; type errors are left to the
// decoder.
func checkFields(raw []byte, t reflect.Type, path string, unknown *[]string) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	raw = bytes.TrimSpace(raw)
	if t == nil || len(raw) == 0 {
		return
	}
	switch {
	case raw[0] == '[' && t.Kind() == reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return
		}
		for i, it := range items {
			checkFields(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i), unknown)
		}
	case raw[0] == '{' && t.Kind() == reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return
		}
		fields := allowedFields(t)
		for k, v := range obj {
			ft, ok := fields[k]
			switch {
			case !ok:
				*unknown = append(*unknown, joinPath(path, k))
			case ft != nil:
				checkFields(v, ft, joinPath(path, k), unknown)
			}
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// allowedFields returns the JSON fields of struct type t (embedded structs included) and, when
// t also accepts YClients' shape, that shape's fields.
func allowedFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	if t.Implements(shapedType) {
		for k, v := range reflect.Zero(t).Interface().(shaped).yclientsFields() {
			out[k] = v
		}
	}
	addStructFields(t, out)
	fieldCache.Store(t, out)
	return out
}

func addStructFields(t reflect.Type, out map[string]reflect.Type) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		switch {
		case tag == "-" || (!sf.IsExported() && !sf.Anonymous):
			continue
		case sf.Anonymous && tag == "" && sf.Type.Kind() == reflect.Struct:
			addStructFields(sf.Type, out)
			continue
		case tag == "":
			tag = sf.Name
		}
		out[tag] = descendType(sf.Type)
	}
}

// descendType is the type checkFields enters for a field: structs and slices of them; nil for
// everything else (scalars, maps, time.Time and types with their own JSON decoding).
func descendType(t reflect.Type) reflect.Type {
	base := t
	for base.Kind() == reflect.Pointer || base.Kind() == reflect.Slice {
		base = base.Elem()
	}
	if base.Kind() != reflect.Struct {
		return nil
	}
	if reflect.PointerTo(base).Implements(reflect.TypeFor[json.Unmarshaler]()) && !base.Implements(shapedType) {
		return nil // time.Time and the like
	}
	return t
}

// writeBodyError answers a body readJSON refused: 400 naming the unknown fields, 422 for an
// invalid value, 400 for anything else.
func writeBodyError(w http.ResponseWriter, err error) {
	var uf *UnknownFieldsError
	var inv *InvalidFieldError
	switch {
	case errors.As(err, &uf):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": uf.Error(), "fields": uf.Fields})
	case errors.As(err, &inv):
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": inv.Error(), "field": inv.Field})
	default:
		writeControlError(w, http.StatusBadRequest, err.Error())
	}
}
