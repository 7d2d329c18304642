package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// registerRouter is the real router with the salon directory over the fake YClients, Temporal
// behind a probe, and the per-IP limit off (a fuzzer is one IP sending thousands of requests;
// with the limit on, everything after the first 20 would be a 429).
func registerRouter(t testing.TB) (*gin.Engine, *temporalProbe) {
	cfg := testConfig()
	cfg.IPRequestEvery = -1
	probe := newTemporalProbe(t)
	salons, _ := testSalons(t)
	return New(cfg, Deps{Temporal: probe, Salons: salons, Logger: quietLogger()}), probe
}

func registerRequest(rawQuery string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/marketplace/register", nil)
	req.URL.RawQuery = rawQuery
	return req
}

// requireRegisterAnswer: the marketplace redirect answers bad input with 400 (no usable
// salon_id), 403 (user_data missing, not signed by our partner token, not JSON, or signed for
// another salon) or 404 (a salon YClients does not know), always as the Russian error page
// with the request's reference ID; 503 only from the Temporal step. With Temporal closed, every
// request that calls it is answered 503.
func requireRegisterAnswer(t *testing.T, w *httptest.ResponseRecorder, reached bool) {
	t.Helper()
	requireOnlyTemporal5xx(t, w, reached, http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound,
		http.StatusServiceUnavailable)
	require.Equal(t, reached, w.Code == http.StatusServiceUnavailable, "called Temporal: %v, status %d", reached, w.Code)
	require.Contains(t, w.Header().Get("Content-Type"), "text/html", "the owner's browser gets a page: got %q", w.Header().Get("Content-Type"))
	id := w.Header().Get(RequestIDHeader)
	require.Contains(t, w.Body.String(), id, "the page shows its reference ID %s", id)
}

// signedBy reports whether sign is the HMAC-SHA256 (hex) of user_data's bytes under the partner
// token: the one thing that lets a redirect through to Temporal.
func signedBy(data, sign string) bool {
	raw, err := decodeBase64Any(data)
	got, herr := hex.DecodeString(sign)
	if err != nil || herr != nil || data == "" {
		return false
	}
	mac := hmac.New(sha256.New, []byte(testPartnerToken))
	mac.Write(raw)
	return hmac.Equal(got, mac.Sum(nil))
}

// FuzzRegisterQuery sends any query string to GET /marketplace/register. Besides the answers of
// requireRegisterAnswer: nothing reaches Temporal unless user_data carries our partner token's
// signature and names the salon of salon_id.
func FuzzRegisterQuery(f *testing.F) {
	h, probe := registerRouter(f)
	odd := []byte(`{"id":1,"salon_name":"Салон ~~~ ??? >>>"}`)
	oddSign := sign(testPartnerToken, odd)
	vector := "&user_data=" + url.QueryEscape(vectorUserData) + "&user_data_sign=" + vectorSign
	for _, q := range []string{
		"salon_id=123" + vector, "salon_ids[0]=123" + vector, "salon_ids%5B%5D=123&salon_ids%5B%5D=456" + vector,
		"salon_id=123&user_data=" + vectorUserData + "&user_data_sign=" + strings.ToUpper(vectorSign),
		"salon_id=124&user_data=" + base64.StdEncoding.EncodeToString(odd) + "&user_data_sign=" + oddSign,
		"salon_id=124&user_data=" + base64.RawURLEncoding.EncodeToString(odd) + "&user_data_sign=" + oddSign,
		"salon_id=42" + vector, "salon_id=125&user_data=" + base64.URLEncoding.EncodeToString([]byte(`{"salon_name":"Салон «Готово»"}`)) +
			"&user_data_sign=" + sign(testPartnerToken, []byte(`{"salon_name":"Салон «Готово»"}`)),
		"", "salon_id=", "salon_id=abc", "salon_id=0", "salon_id=-5", "salon_id=1.5", "salon_id=99999999999999999999",
		"salon_id=%00", "salon_id=123&user_data=%%%&user_data_sign=zz", "salon_id=123&user_data_sign=" + vectorSign,
		"salon_id=123&salon_id=42" + vector, "salon_id=+123" + vector, "salon_id=123;user_data=x",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := registerRequest(rawQuery)
		w, reached := serveProbed(h, probe, req)
		requireRegisterAnswer(t, w, reached)
		if reached {
			q := req.URL.Query()
			require.True(t, signedBy(q.Get("user_data"), q.Get("user_data_sign")), "Temporal called for an unsigned redirect %q", rawQuery)
		}
	})
}

// base64Forms are the ways YClients and browsers hand user_data over: URL-safe or standard
// alphabet, padded or not, and standard with its '+' unescaped (it arrives as a space).
var base64Forms = []func([]byte) string{
	func(b []byte) string { return url.QueryEscape(base64.URLEncoding.EncodeToString(b)) },
	func(b []byte) string { return url.QueryEscape(base64.RawURLEncoding.EncodeToString(b)) },
	func(b []byte) string { return url.QueryEscape(base64.StdEncoding.EncodeToString(b)) },
	func(b []byte) string { return url.QueryEscape(base64.RawStdEncoding.EncodeToString(b)) },
	func(b []byte) string { return base64.StdEncoding.EncodeToString(b) },
}

// FuzzRegisterUserData signs any payload with our partner token, as YClients would, and sends it
// in one of base64Forms for any salon_id, so that the fuzzer explores what lies behind the
// signature check: the payload's JSON and the binding of the signed salon name to the salon.
// Each form decodes back to the payload, and the answer is exactly the one the payload calls
// for: 400 for a salon_id that is no positive integer, 403 for a payload that is not a JSON
// object of the expected fields, 404 for a salon the fake YClients does not know, 403 for a
// salon_name that does not name it, and else the Temporal step (503).
func FuzzRegisterUserData(f *testing.F) {
	h, probe := registerRouter(f)
	vector, err := base64.StdEncoding.DecodeString(vectorUserData)
	require.NoError(f, err)
	for i, p := range []string{string(vector), `{"id":1,"salon_name":"Салон ~~~ ??? >>>"}`, `{"id":"7","salon_name":"  салон \"бархат\" "}`,
		`{"user_id":7,"salon_name":"Салон «Готово»"}`, `{"id":7}`, `not json`, `null`, `[]`, `{"id":"x"}`, `{"id":1e3}`, ``} {
		f.Add([]string{"123", "124", "42", "125", "42", "123", "123", "123", "123", "123", "123"}[i], []byte(p), uint8(i))
	}
	f.Add(" 123", vector, uint8(4))
	f.Add("999", vector, uint8(1))
	f.Add("abc", vector, uint8(2))
	f.Fuzz(func(t *testing.T, salon string, payload []byte, form uint8) {
		encoded := base64Forms[int(form)%len(base64Forms)](payload)
		req := registerRequest("salon_id=" + url.QueryEscape(salon) + "&user_data=" + encoded +
			"&user_data_sign=" + sign(testPartnerToken, payload))
		arrived := req.URL.Query().Get("user_data")
		decoded, err := decodeBase64Any(arrived)
		require.NoError(t, err, "form %d of %q arrives as %q", form, payload, arrived)
		require.True(t, bytes.Equal(payload, decoded), "form %d: %q arrives as %q and decodes to %q", form, payload, arrived, decoded)

		w, reached := serveProbed(h, probe, req)
		requireRegisterAnswer(t, w, reached)
		want := registerOutcome(salon, payload)
		require.Equal(t, want, w.Code, "salon_id %q, payload %q: got %d want %d; body %s", salon, payload, w.Code, want, w.Body)
	})
}

// registerOutcome is the status a correctly signed redirect calls for.
func registerOutcome(salon string, payload []byte) int {
	id, err := strconv.ParseInt(strings.TrimSpace(salon), 10, 64)
	if err != nil || id <= 0 {
		return http.StatusBadRequest
	}
	var ud userData
	if json.Unmarshal(payload, &ud) != nil {
		return http.StatusForbidden
	}
	title, ok := testSalonTitles[id]
	switch {
	case !ok:
		return http.StatusNotFound
	case !sameSalonName(ud.SalonName, title):
		return http.StatusForbidden
	}
	return http.StatusServiceUnavailable
}
