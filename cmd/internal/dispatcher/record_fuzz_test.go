package dispatcher

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"

	"github.com/aiadmin/aiadmin/activities/yclients"
)

// FuzzRecordEvent decodes any stored webhook body as the dispatcher does (yclients.ParseWebhook,
// then recordEvent, which decodes the record with yclients.DecodeRecord) into the booking
// workflow's signal. A record that cannot be decoded fails its row (never retried), except a
// delete, which is always a cancellation; a decoded one is a signal Temporal's data converter
// encodes (else the row would be refused until it went dead), with no NUL in its texts (they
// are stored in text columns), its services sorted by ID, one name per ID.
func FuzzRecordEvent(f *testing.F) {
	for _, b := range []string{
		`{"company_id":962302,"resource":"record","status":"create","resource_id":1213336367,"data":{"id":1213336367,
		  "datetime":"2025-08-21T16:00:00+03:00","client":{"name":"Арсен","phone":"+79686484488"},
		  "services":[{"title":"МУЖСКАЯ СТРИЖКА","cost":1000,"first_cost":2000,"discount":50}],"staff":{"name":"Бари"}}}`,
		`{"company_id":4564,"resource":"record","resource_id":2,"status":"update","data":{"id":2,"company_id":4564,"staff_id":9,
		  "services":[{"id":3,"title":"Укладка","cost":"1300,50"},{"id":1,"title":"Наращивание волос","cost":100}],
		  "staff":{"id":9,"name":"Оксана"},"client":{"id":18936825,"name":"Иванов","phone":70001234567},
		  "date":"2019-01-16 16:00:00","datetime":"2019-01-16T16:00:00+09:00","attendance":2,"seance_length":3600,
		  "visit_id":"8262996","deleted":false,"last_change_date":"2019-01-16T20:35:15+0900"}}`,
		`{"resource":"record","resource_id":"500002","status":"delete","data":{"id":"500002","staff":[],"client":null,
		  "services":[],"datetime":1547622000,"attendance":"-1","deleted":"1"}}`,
		`{"resource":"record","resource_id":5,"status":"delete","data":"gone"}`,
		`{"resource":"record","resource_id":5,"status":"create","data":{"client":{"name":"Ан\u0000на","phone":"+7 999\u0000 000"}}}`,
		`{"resource":"record","resource_id":6,"status":"update","data":{"services":[{"id":-9223372036854775808},{"id":9223372036854775807}]}}`,
		`{"resource":"record","resource_id":7,"status":"update","data":{"datetime":"253402300800"}}`,
		`{"resource":"record","resource_id":8,"status":"create","data":{"services":[{"id":1,"cost":"NaN"}]}}`,
	} {
		f.Add([]byte(b))
	}
	received := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	vvo, err := time.LoadLocation("Asia/Vladivostok") // zone-less times are read in it
	require.NoError(f, err)
	clock := salonClock{loc: vvo, activatedAt: received.Add(-time.Hour)}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, resourceID, err := yclients.ParseWebhook(body)
		if err != nil {
			return // refused at the door (FuzzParseWebhook, FuzzEntityWebhook)
		}
		row := inboxRow{ID: 1, SalonID: 100001, Body: body, Resource: env.Resource, ResourceID: resourceID,
			EventStatus: env.Status, ReceivedAt: received}
		ev, err := recordEvent(row, env, clock)
		if err != nil {
			require.NotEqual(t, "delete", env.Status, "a delete must always cancel: %v", err)
			return
		}
		require.Equal(t, env.Status, ev.Status)
		require.Equal(t, row.ID, ev.InboxID)
		if env.Status == "delete" {
			require.True(t, ev.Cancelled(), "a delete that does not cancel: %+v", ev)
		}
		_, err = converter.GetDefaultDataConverter().ToPayload(ev)
		require.NoError(t, err, "the signal cannot be encoded: %+v", ev)
		v := ev.Visit
		for _, s := range append([]string{v.StaffName, v.ClientName, v.ClientPhone}, v.Services...) {
			require.NotContains(t, s, "\x00", "NUL in %q", s)
		}
		require.Len(t, v.Services, len(v.ServiceIDs), "one name per service ID")
		require.True(t, slices.IsSorted(v.ServiceIDs), "services not sorted by ID: %v", v.ServiceIDs)
	})
}

// TestRequestIDOf: the reference ID is read from the headers the HTTP layer stores, and a
// row whose headers are not an object of strings has none, as decoding them into a
// map[string]string gives.
func TestRequestIDOf(t *testing.T) {
	for headers, want := range map[string]string{
		`{"Content-Type":"application/json","User-Agent":"YClients","X-Request-Id":"r-1"}`: "r-1",
		`{"X-Request-Id":"r-\u0032"}`:               "r-2",
		` {"X-Request-Id":"a","X-Request-Id":"b"} `: "b",
		`{"Content-Type":"application/json"}`:       "",
		`{"x-request-id":"lower"}`:                  "",
		`{}`:                                        "",
		`{"X-Request-Id":1}`:                        "",
		`{"User-Agent":null,"X-Request-Id":"r"}`:    "r",
		`{"X-Request-Id":"r","X-Request-Id":null}`:  "",
		`{"X-Request-Id":"r"} {}`:                   "",
		`{"X-Request-Id":"r"`:                       "",
		`["X-Request-Id","r"]`:                      "",
		``:                                          "",
	} {
		require.Equal(t, want, requestIDOf(inboxRow{Headers: []byte(headers)}), "headers %s", headers)
		var m map[string]string
		if json.Unmarshal([]byte(headers), &m) == nil {
			require.Equal(t, m["X-Request-Id"], want, "as a map would give, for %s", headers)
		}
	}
}
