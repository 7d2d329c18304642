package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

func postBody(path string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// requireJSONAnswer decodes a JSON answer; an error answer names its error and reference ID.
func requireJSONAnswer(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	require.Contains(t, w.Header().Get("Content-Type"), "application/json", "got %q; body %s", w.Header().Get("Content-Type"), w.Body)
	var ans map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &ans), "body: got %s, want JSON", w.Body)
	if w.Code >= 400 {
		require.NotEmpty(t, ans["error"], "error answer without an error: %v", ans)
		require.Equal(t, w.Header().Get(RequestIDHeader), ans["request_id"], "error answer: %v", ans)
	}
	return ans
}

// FuzzLifecycleWebhook posts any body to POST /marketplace/webhook. Allowed answers: 400 (not
// JSON, a salon_id that is no positive integer), 401 (partner_token missing or wrong), 200 with
// "ignored" (another application's event, an event we do not know) and 503 from the Temporal
// step only: the one 5xx, meant to make YClients retry. Only a body with our partner token, one
// of the four events, a salon and our application (or none) gets as far as Temporal.
func FuzzLifecycleWebhook(f *testing.F) {
	probe := newTemporalProbe(f)
	h := New(testConfig(), Deps{Temporal: probe, Logger: quietLogger()})
	for _, b := range []string{
		`{"salon_id": 123, "application_id": 777, "event": "uninstall", "partner_token": "test_partner_token"}`,
		`{"salon_id":1,"application_id":777,"event":"freeze","partner_token":"test_partner_token"}`,
		`{"salon_id":"1","application_id":"777","event_type":"Payment ","partner_token":"test_partner_token"}`,
		`{"salon_id":1,"event":"unfreeze","partner_token":"test_partner_token","data":{"sign":"x"}}`,
		`{"salon_id":1,"application_id":778,"event":"uninstall","partner_token":"test_partner_token"}`,
		`{"salon_id":1,"application_id":777,"event":"rename","partner_token":"test_partner_token"}`,
		`{"application_id":777,"event":"freeze","partner_token":"test_partner_token"}`,
		`{"salon_id":"x1","application_id":777,"event":"freeze","partner_token":"test_partner_token"}`,
		`{"salon_id":-1,"application_id":null,"event":"freeze","partner_token":"test_partner_token"}`,
		`{"salon_id":1,"application_id":777,"event":"freeze","partner_token":"test_partner_tokem"}`,
		`{"salon_id":1,"application_id":777,"event":"freeze"}`,
		`{"salon_id": 1, `, `[1,2]`, `null`, ``,
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w, reached := serveProbed(h, probe, postBody("/marketplace/webhook", body))
		requireOnlyTemporal5xx(t, w, reached, http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized,
			http.StatusServiceUnavailable)
		require.Equal(t, reached, w.Code == http.StatusServiceUnavailable, "called Temporal: %v, status %d", reached, w.Code)
		ans := requireJSONAnswer(t, w)
		if w.Code == http.StatusOK {
			require.Equal(t, true, ans["success"], "200: got %v", ans)
			require.Contains(t, []any{"other_application", "unknown_event"}, ans["ignored"], "200 without Temporal: got %v", ans)
		}

		var ev lifecycleEvent
		decodeErr := json.NewDecoder(bytes.NewReader(body)).Decode(&ev)
		if w.Code == http.StatusUnauthorized {
			require.NoError(t, decodeErr, "401 for a body that is not JSON")
			require.NotEqual(t, testPartnerToken, ev.PartnerToken, "401 with the right partner_token")
		}
		if !reached {
			return
		}
		require.NoError(t, decodeErr, "Temporal called for a body that is not JSON")
		require.Equal(t, testPartnerToken, ev.PartnerToken, "Temporal called without our partner_token")
		event := ev.Event
		if strings.TrimSpace(event) == "" {
			event = ev.EventType
		}
		require.Contains(t, lifecycleSignals, strings.ToLower(strings.TrimSpace(event)), "Temporal called for event %q", event)
		require.Positive(t, int64(ev.SalonID), "Temporal called for salon_id %d", ev.SalonID)
		require.Contains(t, []int64{0, 777}, int64(ev.ApplicationID), "Temporal called for application %d", ev.ApplicationID)
	})
}

// FuzzEntityWebhook posts any body to a salon's entity webhook URL (right salon, right secret),
// through the real router into the real inbox table. A body that yclients.ParseWebhook refuses
// is answered 400 and stores nothing; one it accepts is answered 200 with the ID of exactly one
// new row, which holds the body byte for byte and the envelope's routing fields. Nothing else is
// allowed: the handler does not call Temporal, and the database is up, so a 5xx here is a body
// the inbox could not store.
func FuzzEntityWebhook(f *testing.F) {
	store, _ := dbtest.New(f)
	const salon, secret = int64(424242), "fuzz-url-secret-0123456789abcdef"
	sum := sha256.Sum256([]byte(secret))
	require.NoError(f, store.UpsertWebhookSecret(context.Background(), sqlc.UpsertWebhookSecretParams{SalonID: salon, WebhookSecretHash: sum[:]}))
	probe := newTemporalProbe(f)
	h := New(testConfig(), Deps{Temporal: probe, Entity: StoreInbox{Store: store}, Logger: quietLogger()})
	path := fmt.Sprintf("/webhook/yclients/%d/%s", salon, secret)
	for _, b := range []string{
		`{"company_id":424242,"resource":"record","resource_id":77,"status":"update","data":{"id":77,"datetime":"2026-12-12T14:30:00+03:00"}}`,
		`{"company_id":962302,"resource":"record","status":"create","resource_id":1213336367,"data":{"id":1213336367,
		  "datetime":"2025-08-21T16:00:00+03:00","client":{"name":"Арсен","phone":"+79686484488"},
		  "services":[{"title":"МУЖСКАЯ СТРИЖКА","cost":1000,"first_cost":2000,"discount":50}],"staff":{"name":"Бари"}}}`,
		`{"company_id":"424242","resource":"client","resource_id":"77","status":"create","data":{"id":"77","name":"Мария","phone":79995556677}}`,
		`{"company_id":424242,"resource":"schedule","resource_id":5905,"status":"update","data":[]}`,
		`{"resource":"client","resource_id":5,"status":"create","data":{"id":5,"name":"Ан\u0000на"}}`,
		`{"resource":"record","resource_id":-1,"status":"delete"}`, `{"resource":"\ud800","status":"delete"}`,
		`{"resource":"record","status":"create"} trailing`,
		`{"resource":`, `[]`, `{"resource":"record","status":"explode"}`, `{"status":"create"}`,
		`{"resource":"rec\u0000ord","resource_id":1,"status":"create","data":{}}`, `{"resource":"record","resource_id":1.5,"status":"create"}`,
	} {
		f.Add([]byte(b))
	}
	count := func(t *testing.T) int64 {
		var n int64
		require.NoError(t, store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM webhook_inbox").Scan(&n))
		return n
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := count(t)
		w, reached := serveProbed(h, probe, postBody(path, body))
		requireOnlyTemporal5xx(t, w, reached, http.StatusOK, http.StatusBadRequest)
		require.False(t, reached, "the entity webhook called Temporal")
		ans := requireJSONAnswer(t, w)
		wh, resourceID, perr := yclients.ParseWebhook(body)
		if perr != nil || len(body) > maxEntityBody {
			require.Equal(t, http.StatusBadRequest, w.Code, "refused body (%v): got %d; answer %v", perr, w.Code, ans)
			require.Equal(t, before, count(t), "a refused body was stored")
			return
		}
		require.Equal(t, http.StatusOK, w.Code, "accepted body: got %d; answer %v", w.Code, ans)
		require.Equal(t, before+1, count(t), "an accepted body stores exactly one row")
		id, ok := ans["id"].(float64)
		require.True(t, ok && id > 0, "answer: got %v, want the row's id", ans)

		var got sqlc.WebhookInbox
		require.NoError(t, store.Pool.QueryRow(context.Background(),
			"SELECT salon_id, resource, resource_id, event_status, body FROM webhook_inbox WHERE id = $1", int64(id)).
			Scan(&got.SalonID, &got.Resource, &got.ResourceID, &got.EventStatus, &got.Body))
		require.Equal(t, sqlc.WebhookInbox{SalonID: salon, Resource: wh.Resource, ResourceID: resourceID, EventStatus: wh.Status,
			Body: body}, got, "row %d", int64(id))
	})
}
