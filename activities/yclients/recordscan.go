package yclients

import (
	"encoding/json"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// Records in one pass. A day's list of records is the largest answer a worker reads (about
// 1 KB a record, 100 to a page) and reads most often (every message's re-read), and
// encoding/json spent most of the pipeline's own CPU in it: reflection over wireRecord's
// sixteen fields, each a json.Unmarshaler whose value it first scans to its end, and then the
// staff and client objects once more. The wire types whose fields all decode themselves
// (fieldScanner) are read here with jsontext in one pass, calling the same UnmarshalJSON
// methods on the same bytes encoding/json would give them; a body scanObject does not call
// plain, or a value a field refuses, is left to encoding/json, which stays the definition of
// what is accepted (FuzzDecodeRecords compares the two).

// fieldScanner is a wire type whose every decoded field is a json.Unmarshaler.
type fieldScanner interface {
	// scanTargets are the JSON names of the type's fields and, by the same index, the fields.
	scanTargets() ([]string, targets)
}

// targets are a fieldScanner's fields.
type targets [maxScanFields]json.Unmarshaler

// maxScanFields is the most fields a fieldScanner has.
const maxScanFields = 16

// scanFields fills v from body, a plain JSON object (scanObject), as encoding/json would, and
// reports false when body is not plain or a field refuses its value; v may then hold some
// fields, and the caller zeroes it before it goes to encoding/json.
func scanFields(body []byte, v fieldScanner) bool {
	names, t := v.scanTargets()
	var buf [maxScanFields]jsontext.Value
	raw := buf[:len(names)]
	return scanObject(body, names, raw) && fill(&t, raw)
}

// fill decodes each value of raw present into its target; false when one refuses it.
func fill(t *targets, raw []jsontext.Value) bool {
	for i, r := range raw {
		if r != nil && t[i].UnmarshalJSON(r) != nil {
			return false
		}
	}
	return true
}

// scanList reads data, a JSON array of plain objects, into a new slice, one scanFields an
// element; false for anything else (null included), with nothing decoded.
func scanList[T any, PT interface {
	*T
	fieldScanner
}](data []byte) ([]T, bool) {
	s := scanBody(data)
	defer s.release()
	if tok, err := s.dec.ReadToken(); err != nil || tok.Kind() != '[' {
		return nil, false
	}
	out := []T{}
	var buf [maxScanFields]jsontext.Value
	for s.dec.PeekKind() == '{' {
		out = append(out, *new(T))
		names, t := PT(&out[len(out)-1]).scanTargets()
		raw := buf[:len(names)]
		if !readObject(&s.dec, data, names, raw) || !fill(&t, raw) {
			return nil, false
		}
	}
	if tok, err := s.dec.ReadToken(); err != nil || tok.Kind() != ']' {
		return nil, false
	}
	_, err := s.dec.ReadToken()
	return out, err == io.EOF
}

// dataScanner is an answer's data type that reads itself in one pass when it can: scanData
// reports false, with the value unchanged, to leave data to encoding/json.
type dataScanner interface {
	scanData(data []byte) bool
}

// decodeValue decodes data into out as json.Unmarshal does, in one pass when out is a
// dataScanner and data is plain.
func decodeValue(data []byte, out any) error {
	if s, ok := out.(dataScanner); ok && s.scanData(data) {
		return nil
	}
	return json.Unmarshal(data, out)
}

// wireRecords is a page of records.
type wireRecords []wireRecord

func (ws *wireRecords) scanData(data []byte) bool {
	list, ok := scanList[wireRecord](data)
	if ok {
		*ws = list
	}
	return ok
}

func (w *wireRecord) scanData(data []byte) bool {
	if scanFields(data, w) {
		return true
	}
	*w = wireRecord{}
	return false
}

var recordFields = []string{"id", "company_id", "staff_id", "staff", "services", "client", "date",
	"datetime", "seance_length", "length", "attendance", "deleted", "comment", "visit_id",
	"create_date", "last_change_date"}

func (w *wireRecord) scanTargets() ([]string, targets) {
	return recordFields, targets{&w.ID, &w.CompanyID, &w.StaffID, &w.Staff, (*scannedServices)(&w.Services),
		&w.Client, &w.Date, &w.Datetime, &w.SeanceLength, &w.Length, &w.Attendance, &w.Deleted,
		&w.Comment, &w.VisitID, &w.CreateDate, &w.LastChangeDate}
}

// scannedServices reads a record's services for scanFields: an array of plain objects, or
// null, as encoding/json reads them; anything else it refuses (errNotPlain), and the record
// goes to encoding/json. encoding/json itself never sees this type.
type scannedServices []wireRecordService

func (s *scannedServices) UnmarshalJSON(b []byte) error {
	if jsontext.Value(b).Kind() == 'n' {
		*s = nil
		return nil
	}
	list, ok := scanList[wireRecordService](b)
	if !ok {
		return errNotPlain
	}
	*s = list
	return nil
}

var recordServiceFields = []string{"id", "title", "cost"}

func (w *wireRecordService) scanTargets() ([]string, targets) {
	return recordServiceFields, targets{&w.ID, &w.Title, &w.Cost}
}

var recordStaffFields = []string{"id", "name"}

func (w *wireRecordStaff) scanTargets() ([]string, targets) {
	return recordStaffFields, targets{&w.ID, &w.Name}
}

var recordClientFields = []string{"id", "name", "phone", "email"}

func (w *wireRecordClient) scanTargets() ([]string, targets) {
	return recordClientFields, targets{&w.ID, &w.Name, &w.Phone, &w.Email}
}
