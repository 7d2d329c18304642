package yclients

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// webhookSamples are entity webhook bodies as YClients and our fake send them: the reference's
// envelope (yclients-api.md §4), its record object (§5.6) as a webhook's data, the IDs-as-
// strings and PHP-style empty forms, a client, and the refused shapes of the unit tests.
var webhookSamples = []string{
	`{"company_id":962302,"resource":"record","status":"create","resource_id":1213336367,"data":{"id":1213336367,
	  "datetime":"2025-08-21T16:00:00+03:00","client":{"name":"Арсен","phone":"+79686484488"},
	  "services":[{"title":"МУЖСКАЯ СТРИЖКА","cost":1000,"first_cost":2000,"discount":50}],"staff":{"name":"Бари"}}}`,
	`{"company_id":4564,"resource":"record","resource_id":2,"status":"update","data":{"id":2,"company_id":4564,"staff_id":9,
	  "services":[{"id":1,"title":"Наращивание волос","cost":100,"cost_to_pay":100,"manual_cost":100,"discount":0,"first_cost":100,"amount":1}],
	  "staff":{"id":9,"name":"Оксана","position":{"id":1,"title":"Администратор"}},
	  "client":{"id":18936825,"name":"Иванов","display_name":"Иван Иванович Иванов","phone":70001234567,"email":"client@example.com"},
	  "date":"2019-01-16 16:00:00","datetime":"2019-01-16T16:00:00+09:00","create_date":"2019-01-16T20:35:11+0900",
	  "comment":"","attendance":0,"confirmed":1,"seance_length":3600,"length":3600,"visit_id":"8262996","deleted":false,
	  "last_change_date":"2019-01-16T20:35:15+0900","record_labels":[],"custom_fields":[]}}`,
	`{"company_id":"100001","resource":"record","resource_id":"500002","status":"delete","data":{"id":"500002","staff":[],
	  "client":null,"services":[],"datetime":1547622000,"seance_length":"2700","attendance":"-1","deleted":"1"}}`,
	`{"company_id":"1","resource":"record","resource_id":"42","status":"create","data":{}}`,
	`{"company_id":"1","resource":"record","resource_id":"43","status":"update","data":{"id":43,
	  "services":[{"id":"7","title":"Стрижка","cost":"1300,50"},{"id":8,"cost":"NaN"}],"datetime":"253402300799"}}`,
	`{"company_id":100001,"resource":"client","resource_id":77,"status":"create","data":{"id":"77","name":"Мария","phone":79995556677}}`,
	`{"company_id":100001,"resource":"schedule","resource_id":5905,"status":"update","data":[]}`,
	`{"resource":"client","resource_id":5,"status":"create","data":{"id":5,"name":"Ан\u0000на"}}`,
	`{"resource":"rec\u0000ord","resource_id":1,"status":"create","data":{}}`,
	`{"resource":"record","resource_id":"x","status":"create"}`,
	`{"resource":"record","status":"nope"}`,
	`[]`,
	``,
	// Bodies the one-pass reading leaves to encoding/json (webhook_scan.go), which must come
	// out as encoding/json reads them: names matched regardless of case, fields repeated,
	// nulls, escaped values, IDs in strings that hold no number, something after the object;
	// and an escaped name, which both read as the field's.
	`{"Resource":"record","resource_id":1,"status":"create","data":{}}`,
	`{"reſource":"client","resource_id":1,"STATUS":"update","Data":{"id":1}}`,
	`{"\u0072esource":"record","resource_id":1,"status":"create","data":{}}`,
	`{"resource":"record","resource":"client","resource_id":1,"status":"create","data":{"id":1}}`,
	`{"resource":"record","resource_id":1,"status":"create","data":{},"data":[1]}`,
	`{"resource":null,"resource_id":null,"company_id":null,"status":"delete","data":null}`,
	`{"resource":"rec\u006frd","resource_id":"1","status":"cr\u0065ate","data":{}}`,
	`{"resource":"record","resource_id":"1e3","status":"create","data":{}}`,
	`{"resource":"record","resource_id":" 1","status":"create","data":{}}`,
	`{"resource":"record","resource_id":"-","status":"create","data":{}}`,
	`{"resource":"record","resource_id":true,"status":"create","data":{}}`,
	`{"resource":"record","resource_id":1,"status":"create","data":{}} {}`,
	` {"resource":"client","resource_id":2,"status":"update","data":{"id":2}}` + "\n\t",
	"{\"resource\":\"re\xffcord\",\"resource_id\":3,\"status\":\"create\",\"data\":{\"name\":\"\xfe\"}}",
	`{"resource":"record","resource_id":1,"status":"create","data":{"a":[[[{"b":"\ud800"}]]]}}`,
	`{"resource":"record","resource_id":1,"status":"create","data":{"a":1,"a":2}}`,
	`{"resource":"record","resource_id":1,"status":"create","data":{},}`,
}

// FuzzParseWebhook: an entity webhook body is either refused as malformed (the handler answers
// 400 and stores nothing) or gives routing fields PostgreSQL can store, and its data decodes as
// a record or a client without panicking, into values Temporal's JSON payloads can carry.
func FuzzParseWebhook(f *testing.F) {
	for _, s := range webhookSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		wh, id, err := ParseWebhook(body)
		// What encoding/json makes of the body, which defines what ParseWebhook and
		// ParseEnvelope take; they read plain bodies in one pass of their own.
		ref, refID, refErr := referenceParse(body)
		require.Equal(t, fmt.Sprint(refErr), fmt.Sprint(err), "ParseWebhook's error against encoding/json's")
		if err == nil {
			require.Equal(t, ref, wh, "ParseWebhook's webhook against encoding/json's")
			require.Equal(t, refID, id)
		}
		// The intake's ParseEnvelope takes and refuses exactly the same bodies, with the
		// same routing fields: what it stores, the dispatcher can read.
		env, envID, envErr := ParseEnvelope(body)
		require.Equal(t, err == nil, envErr == nil, "ParseWebhook: %v; ParseEnvelope: %v", err, envErr)
		refEnv, refErr := decodeEnvelope(body)
		if refErr == nil {
			_, refErr = refEnv.check()
		}
		require.Equal(t, fmt.Sprint(refErr), fmt.Sprint(envErr), "ParseEnvelope's error against encoding/json's")
		if err == nil {
			require.Equal(t, wh.Envelope, env)
			require.Equal(t, id, envID)
		}
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedWebhook, "a refused body must be ErrMalformedWebhook (answered 400)")
			return
		}
		require.NotEmpty(t, wh.Resource, "accepted without a resource")
		require.True(t, utf8.ValidString(wh.Resource) && !strings.ContainsRune(wh.Resource, 0),
			"resource %q cannot be stored in a text column", wh.Resource)
		require.Contains(t, []string{"create", "update", "delete"}, wh.Status, "status: got %q", wh.Status)
		if wh.ResourceID == "" {
			require.Zero(t, id, "no resource_id: got id %d", id)
		} else {
			want, err := strconv.ParseInt(wh.ResourceID.String(), 10, 64)
			require.NoError(t, err, "accepted resource_id %q that is not an int64", wh.ResourceID)
			require.Equal(t, want, id, "resource_id %q: got id %d", wh.ResourceID, id)
		}

		if rec, err := DecodeRecord(wh.Data); err == nil {
			_, err := json.Marshal(rec)
			require.NoError(t, err, "a decoded record must be encodable as a Temporal payload: %+v", rec)
			if rec.Client != nil {
				require.True(t, rec.Client.ID != 0 || rec.Client.Name != "" || rec.Client.Phone != "",
					"an empty client must be nil: %+v", rec.Client)
			}
		}
		if c, err := DecodeClient(wh.Data); err == nil {
			require.NotZero(t, c.ID, "a decoded client has an ID")
		}
	})
}

// referenceParse is ParseWebhook done by encoding/json alone.
func referenceParse(body []byte) (Webhook, int64, error) {
	wh, err := decodeWebhook(body)
	if err != nil {
		return wh, 0, err
	}
	id, err := wh.check()
	return wh, id, err
}

// TestPlainWebhooksAreReadInOnePass: the bodies YClients sends (the reference's and our fake's
// forms) take the one-pass reading, so that it does not quietly fall through to encoding/json
// for all of them; the unusual ones are left to encoding/json; and either way the result is
// encoding/json's.
func TestPlainWebhooksAreReadInOnePass(t *testing.T) {
	for i, s := range webhookSamples {
		body := []byte(s)
		_, scanErr := scanWebhook(body, true)
		_, envScanErr := scanWebhook(body, false)
		// The plain ones: the samples before the refused shapes but the one with an escape in
		// its resource, the refused one whose status is a plain string, and of the later
		// ones the escaped name (compared unescaped, as encoding/json compares names), the ID
		// "1e3" (a number in a string, refused later by both as no integer), whitespace
		// around the object, and oddities inside the data (kept raw by both).
		plain := i <= 7 || slices.Contains([]int{10, 15, 20, 25, 27, 28}, i)
		if plain {
			require.NoError(t, scanErr, "sample %d is read in one pass: %s", i, s)
			require.NoError(t, envScanErr, "sample %d's envelope is read in one pass: %s", i, s)
		} else {
			require.ErrorIs(t, scanErr, errNotPlain, "sample %d is left to encoding/json: %s", i, s)
		}
		wh, id, err := ParseWebhook(body)
		ref, refID, refErr := referenceParse(body)
		require.Equal(t, fmt.Sprint(refErr), fmt.Sprint(err), "sample %d: %s", i, s)
		require.Equal(t, ref, wh, "sample %d: %s", i, s)
		require.Equal(t, refID, id, "sample %d: %s", i, s)
	}
}

// BenchmarkParseWebhook: the intake's and the dispatcher's reading of a record webhook (the
// reference's record as data, 1 KB), in one pass against encoding/json's reading of the same
// body in the same run.
func BenchmarkParseWebhook(b *testing.B) {
	body := []byte(webhookSamples[1])
	for _, c := range []struct {
		name  string
		parse func([]byte) (Webhook, int64, error)
	}{{"one-pass", ParseWebhook}, {"encoding-json", referenceParse}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
