package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func postJSON(t *testing.T, url, body string, header http.Header) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	status, h, raw := do(t, req)
	require.Contains(t, h.Get("Content-Type"), "application/json", "content type: got %q want JSON; body %s", h.Get("Content-Type"), raw)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &out), "body: got %s, want JSON", raw)
	return status, out
}

func TestLifecycleWebhook(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t)})
	url := srv.URL + "/marketplace/webhook"
	cases := []struct {
		name       string
		body       string
		want       int
		wantIgnore string
	}{
		{"malformed JSON", `{"salon_id": 1, `, http.StatusBadRequest, ""},
		{"not an object", `[1,2]`, http.StatusBadRequest, ""},
		{"salon_id not a number", `{"salon_id":"x1","application_id":777,"event":"freeze","partner_token":"test_partner_token"}`, http.StatusBadRequest, ""},
		{"missing token", `{"salon_id":1,"application_id":777,"event":"freeze"}`, http.StatusUnauthorized, ""},
		{"wrong token", `{"salon_id":1,"application_id":777,"event":"freeze","partner_token":"test_partner_tokem"}`, http.StatusUnauthorized, ""},
		{"other application", `{"salon_id":1,"application_id":778,"event":"uninstall","partner_token":"test_partner_token"}`, http.StatusOK, "other_application"},
		{"other application as string", `{"salon_id":"1","application_id":"778","event":"uninstall","partner_token":"test_partner_token"}`, http.StatusOK, "other_application"},
		{"unknown event", `{"salon_id":1,"application_id":777,"event":"rename","partner_token":"test_partner_token"}`, http.StatusOK, "unknown_event"},
		{"missing salon", `{"application_id":777,"event":"freeze","partner_token":"test_partner_token"}`, http.StatusBadRequest, ""},
		// Known events go to Temporal, which is down: 503 so that YClients retries.
		{"freeze, Temporal down", `{"salon_id":1,"application_id":777,"event":"freeze","partner_token":"test_partner_token"}`, http.StatusServiceUnavailable, ""},
		{"uninstall with string IDs, Temporal down", `{"salon_id":"1","application_id":"777","event":"uninstall","partner_token":"test_partner_token"}`, http.StatusServiceUnavailable, ""},
		{"payment, Temporal down", `{"salon_id":1,"application_id":777,"event":"payment","partner_token":"test_partner_token"}`, http.StatusServiceUnavailable, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postJSON(t, url, tc.body, nil)
			require.Equal(t, tc.want, status, "status: got %d want %d; body %v", status, tc.want, body)
			if tc.wantIgnore != "" {
				require.Equal(t, tc.wantIgnore, body["ignored"], "ignored: got %v want %q", body["ignored"], tc.wantIgnore)
				require.Equal(t, true, body["success"], "success: got %v want true", body["success"])
			}
			if status >= 400 {
				require.NotEmpty(t, body["error"], "error body: got %v want an error field", body)
			}
		})
	}
}

// A lifecycle event for a salon without a workflow is acknowledged (YClients must not retry).
func TestLifecycleWebhookUnknownSalon(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: realTemporal(t)})
	status, body := postJSON(t, srv.URL+"/marketplace/webhook",
		`{"salon_id":987654321,"application_id":777,"event":"uninstall","partner_token":"test_partner_token"}`, nil)
	require.Equal(t, http.StatusOK, status, "status: got %d want 200; body %v", status, body)
	require.Equal(t, "unknown_salon", body["ignored"], "ignored: got %v want unknown_salon", body["ignored"])
}
