package yclients

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeRecord is a record as our fake YClients renders it in a day's list (renderRecord, keys
// sorted by encoding/json), with every field YClients documents for it.
const fakeRecord = `{"activity_id":0,"api_id":"","attendance":0,"bookform_id":0,"client":{"card":"","custom_fields":[],"discount":0,"display_name":"Мария","email":"","fail_visits_count":0,"id":900001,"is_new":false,"name":"Мария","patronymic":"","phone":"+79161234567","success_visits_count":3,"surname":""},"comment":"","company_id":962302,"confirmed":1,"create_date":"2026-12-06T16:30:00+0300","created_user_id":0,"custom_fields":[],"date":"2026-12-07 11:00:00","datetime":"2026-12-07T11:00:00+03:00","deleted":false,"documents":[],"email_now":0,"email_remain_hours":1,"from_url":"","goods_transactions":[],"id":1000001,"is_mobile":0,"last_change_date":"2026-12-06T16:30:00+0300","length":3600,"master_request":1,"notified":0,"online":true,"paid_full":0,"prepaid":false,"prepaid_confirmed":false,"record_from":"","record_labels":[],"seance_length":3600,"services":[{"amount":1,"cost":2500,"cost_per_unit":2500,"cost_to_pay":2500,"discount":0,"first_cost":2500,"id":5,"manual_cost":2500,"title":"Стрижка женская"}],"sms_before":0,"sms_now":0,"sms_remain_hours":5,"staff":{"avatar":"","id":101,"name":"Анна Петрова","position":{"id":1,"title":"Мастер"},"rating":0,"specialization":"Парикмахер-стилист","votes_count":0},"staff_id":101,"visit_attendance":0,"visit_id":"2000001"}`

// recordsPage is the data of a records page, n copies of record (the reference's record
// object, §5.6, webhookSamples[1]'s data, when empty), as GET /records/{company_id} answers.
func recordsPage(tb testing.TB, n int, record string) []byte {
	if record == "" {
		var wh Webhook
		require.NoError(tb, json.Unmarshal([]byte(webhookSamples[1]), &wh))
		record = string(wh.Data)
	}
	page := []byte{'['}
	for i := range n {
		if i > 0 {
			page = append(page, ',')
		}
		page = append(page, record...)
	}
	return append(page, ']')
}

// decodeRecordsWithEncodingJSON is what records did with every page before the one-pass
// reading: encoding/json into []wireRecord, then each record's staff and client again.
var decodeRecordsWithEncodingJSON = decodeRecordsWith(func(data []byte, ws *wireRecords) error {
	return json.Unmarshal(data, (*[]wireRecord)(ws))
})

// decodeRecords is what records does with every page's data.
var decodeRecords = decodeRecordsWith(func(data []byte, ws *wireRecords) error {
	return decodeValue(data, ws)
})

// decodeRecordsWith decodes a page's data into Records, reading the list with decode.
func decodeRecordsWith(decode func([]byte, *wireRecords) error) func([]byte) ([]Record, error) {
	return func(data []byte) ([]Record, error) {
		var ws wireRecords
		if err := decode(data, &ws); err != nil {
			return nil, err
		}
		out := make([]Record, 0, len(ws))
		for _, w := range ws {
			r, err := w.toRecord()
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
}

// FuzzDecodeRecords: a page of records read in one pass is what encoding/json reads, for every
// page (and every record alone, as a record's GET and webhook read it); refusals included.
func FuzzDecodeRecords(f *testing.F) {
	f.Add(recordsPage(f, 3, ""))
	f.Add(recordsPage(f, 2, fakeRecord))
	for _, s := range webhookSamples {
		var wh Webhook
		if json.Unmarshal([]byte(s), &wh) == nil && len(wh.Data) > 0 {
			f.Add([]byte("[" + string(wh.Data) + "]"))
			f.Add([]byte(wh.Data))
		}
	}
	for _, s := range []string{
		`[]`, `null`, `[null]`, `[{}]`, `[{"id":1},{"id":"x"}]`, `[{"id":1}] `, `[{"id":1}]]`,
		`[{"id":1,"ID":2}]`, `[{"id":1,"id":2}]`, `[{"services":null},{"services":[null]}]`,
		`[{"services":[{"id":1,"Title":"a"}]},{"services":{}}]`, `[{"services":"x"}]`,
		`[{"staff":{"id":1,"name":"a","name":"b"},"client":{"NAME":"c","id":2}}]`,
		`[{"client":{"id":"3","phone":79990001122,"email":null},"staff":[]}]`,
		`[{"comment":"\u0041\n","datetime":"2026-12-06 10:00:00","deleted":"1"}]`,
		"[{\"comment\":\"\xff\",\"client\":{\"name\":\"a\x01\"}}]",
		`[{"datetime":"не время"}]`, `[{"seance_length":1.5}]`, `[{"services":[{"cost":"NaN"}]}]`,
		`[{"id":1}`, `[1]`, `{"id":7,"services":[{"id":1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeRecords(data)
		want, wantErr := decodeRecordsWithEncodingJSON(data)
		require.Equal(t, wantErr == nil, err == nil, "errors: one-pass %v, encoding/json %v", err, wantErr)
		require.Equal(t, want, got)

		var one wireRecord
		oneErr := decodeValue(data, &one)
		var ref wireRecord
		refErr := json.Unmarshal(data, &ref)
		require.Equal(t, refErr == nil, oneErr == nil, "one record's errors: one-pass %v, encoding/json %v", oneErr, refErr)
		if refErr == nil {
			r1, e1 := one.toRecord()
			r2, e2 := ref.toRecord()
			require.Equal(t, e2 == nil, e1 == nil)
			require.Equal(t, r2, r1)
		}
	})
}

// TestRecordsAreReadInOnePass: the pages YClients and our fake send take the one-pass reading
// (a page that fell back to encoding/json would decode the same, only slower, so this is what
// says the fast path is taken), and every fieldScanner names exactly its type's json fields.
func TestRecordsAreReadInOnePass(t *testing.T) {
	var ws wireRecords
	require.True(t, ws.scanData(recordsPage(t, 3, "")))
	require.Len(t, ws, 3)
	require.True(t, ws.scanData(recordsPage(t, 2, fakeRecord)))
	require.Len(t, ws, 2)
	require.Equal(t, wireRecords(nil), func() wireRecords { var n wireRecords; n.scanData([]byte(`[{"id":1,"ID":2}]`)); return n }())
	for _, v := range []fieldScanner{&wireRecord{}, &wireRecordService{}, &wireRecordStaff{}, &wireRecordClient{}} {
		require.NoError(t, scanTargetsMatchTags(v), "%T", v)
	}
}

// BenchmarkDecodeRecords: a page of 100 records (the reference's, and our fake's with every
// field) decoded into Records, against encoding/json's decoding of the same page, in the same
// run.
func BenchmarkDecodeRecords(b *testing.B) {
	for _, c := range []struct {
		name   string
		decode func([]byte) ([]Record, error)
		record string
	}{
		{"reference/one-pass", decodeRecords, ""}, {"reference/encoding-json", decodeRecordsWithEncodingJSON, ""},
		{"fake/one-pass", decodeRecords, fakeRecord}, {"fake/encoding-json", decodeRecordsWithEncodingJSON, fakeRecord},
	} {
		page := recordsPage(b, 100, c.record)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if rs, err := c.decode(page); err != nil || len(rs) != 100 {
					b.Fatal(err)
				}
			}
		})
	}
}

// scanTargetsMatchTags reports the first way v's scanTargets differ from its type's json tags
// (a field left out, a name not its field's); the tests call it for every fieldScanner.
func scanTargetsMatchTags(v fieldScanner) error {
	names, t := v.scanTargets()
	set := 0
	for _, target := range t {
		if target != nil {
			set++
		}
	}
	if set != len(names) {
		return errors.New("names and targets differ in number")
	}
	rv := reflect.ValueOf(v).Elem()
	byAddr := map[uintptr]string{}
	for i := range rv.NumField() {
		tag := rv.Type().Field(i).Tag.Get("json")
		if tag == "" || tag == "-" {
			continue
		}
		byAddr[rv.Field(i).Addr().Pointer()] = tag
	}
	if len(byAddr) != len(names) {
		return errors.New("a tagged field has no target")
	}
	for i, name := range names {
		if byAddr[reflect.ValueOf(t[i]).Pointer()] != name {
			return errors.New("target " + name + " is not the field tagged so")
		}
	}
	return nil
}
