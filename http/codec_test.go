package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/aiadmin/aiadmin/activities/pii"
	"github.com/aiadmin/aiadmin/db/secretbox"
)

type codecVisit struct{ ClientName, ClientPhone string }

func (codecVisit) SensitivePayload() {}

const testUIOrigin = "http://127.0.0.1:8233"

// codecServer serves the codec endpoint with a codec on a fixed key, and returns an encrypted
// payload of a client's data.
func codecServer(t *testing.T) (base string, sealed *commonpb.Payload) {
	t.Helper()
	box, err := secretbox.New(bytes.Repeat([]byte{9}, 32))
	require.NoError(t, err)
	cfg := testConfig()
	cfg.TemporalUIOrigin = testUIOrigin
	srv := startServer(t, cfg, Deps{Temporal: closedTemporal(t), Codec: &pii.Codec{Box: box}})
	sealed, err = pii.DataConverter(box).ToPayload(codecVisit{ClientName: "Анна", ClientPhone: "79161234567"})
	require.NoError(t, err)
	require.Equal(t, pii.EncodingEncrypted, string(sealed.Metadata["encoding"]))
	return srv.URL, sealed
}

// codecPost posts payloads to /codec/<op> and returns the status, headers and body.
func codecPost(t *testing.T, base, op string, p *commonpb.Payload, header http.Header) (int, http.Header, string) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+"/codec/"+op+"?preserveStorageRefs=true", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

func decoded(t *testing.T, body string) *commonpb.Payload {
	t.Helper()
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal([]byte(body), &out), "body %s", body)
	require.Len(t, out.Payloads, 1)
	return out.Payloads[0]
}

func TestCodecEndpointWithAdminToken(t *testing.T) {
	base, sealed := codecServer(t)
	bearer := http.Header{"Authorization": {"Bearer admin-secret"}}

	// The SDK's remote codec (what `temporal --codec-endpoint` uses) round-trips through it.
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: base + "/codec",
		ModifyRequest: func(r *http.Request) error { r.Header.Set("Authorization", "Bearer admin-secret"); return nil }})
	plain, err := remote.Decode([]*commonpb.Payload{sealed})
	require.NoError(t, err)
	require.Equal(t, pii.EncodingSensitive, string(plain[0].Metadata["encoding"]))
	require.JSONEq(t, `{"ClientName":"Анна","ClientPhone":"79161234567"}`, string(plain[0].Data))
	again, err := remote.Encode(plain)
	require.NoError(t, err)
	require.Equal(t, pii.EncodingEncrypted, string(again[0].Metadata["encoding"]))
	require.NotContains(t, string(again[0].Data), "79161234567")

	for _, tc := range []struct {
		name   string
		header http.Header
		want   int
	}{
		{"no token", nil, http.StatusUnauthorized},
		{"wrong token", http.Header{"Authorization": {"Bearer admin-secreT"}}, http.StatusUnauthorized},
		{"forged cookie", http.Header{"Cookie": {codecCookie + "=99999999999.00ff"}}, http.StatusUnauthorized},
		{"token from another site", http.Header{"Authorization": {"Bearer admin-secret"}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"token from the Web UI", http.Header{"Authorization": {"Bearer admin-secret"}, "Origin": {testUIOrigin}}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := codecPost(t, base, "decode", sealed, tc.header)
			require.Equal(t, tc.want, status, "got %d want %d: %s", status, tc.want, body)
			if status != http.StatusOK {
				require.NotContains(t, body, "79161234567")
			}
		})
	}
	status, h, body := codecPost(t, base, "decode", sealed, bearer)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "no-store", h.Get("Cache-Control"))
	require.Contains(t, string(decoded(t, body).Data), "79161234567")
	require.Empty(t, h.Get("Access-Control-Allow-Origin"), "no CORS headers without an Origin")
}

func TestCodecCORSPreflight(t *testing.T) {
	base, _ := codecServer(t)
	preflight := func(origin string) (int, http.Header) {
		req, err := http.NewRequest(http.MethodOptions, base+"/codec/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
		status, h, _ := do(t, req)
		return status, h
	}
	status, h := preflight(testUIOrigin)
	require.Equal(t, http.StatusNoContent, status)
	require.Equal(t, testUIOrigin, h.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))
	require.Equal(t, "POST", h.Get("Access-Control-Allow-Methods"))
	for _, want := range []string{"Authorization", "Content-Type", "X-Namespace"} {
		require.Contains(t, h.Get("Access-Control-Allow-Headers"), want)
	}
	status, h = preflight("https://evil.example")
	require.Equal(t, http.StatusForbidden, status)
	require.Empty(t, h.Get("Access-Control-Allow-Origin"))
}

// The Web UI cannot send the admin token: the operator signs in once, and the UI's fetch (with
// credentials) carries the cookie.
func TestCodecSignInCookie(t *testing.T) {
	base, sealed := codecServer(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status, h, page := get(t, base+"/codec/login", nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `name="token"`)
	require.Contains(t, h.Get("Content-Security-Policy"), "form-action 'self' "+testUIOrigin)

	resp, err := client.PostForm(base+"/codec/login", url.Values{"token": {"wrong"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Empty(t, resp.Cookies())

	resp, err = client.PostForm(base+"/codec/login", url.Values{"token": {"admin-secret"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, testUIOrigin+"/", resp.Header.Get("Location"))
	require.Len(t, resp.Cookies(), 1)
	ck := resp.Cookies()[0]
	require.Equal(t, codecCookie, ck.Name)
	require.True(t, ck.HttpOnly)
	require.Equal(t, "/codec", ck.Path)
	require.Equal(t, http.SameSiteLaxMode, ck.SameSite, "http: same-site Lax (the dev Web UI is on the same host)")
	require.NotContains(t, ck.Value, "admin-secret")

	cookie := http.Header{"Cookie": {ck.Name + "=" + ck.Value}, "Origin": {testUIOrigin}}
	status, h, body := codecPost(t, base, "decode", sealed, cookie)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, testUIOrigin, h.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", h.Get("Access-Control-Allow-Credentials"))
	var v codecVisit
	require.NoError(t, json.Unmarshal(decoded(t, body).Data, &v))
	require.Equal(t, "79161234567", v.ClientPhone)

	cookie.Set("Origin", "https://evil.example")
	status, _, _ = codecPost(t, base, "decode", sealed, cookie)
	require.Equal(t, http.StatusForbidden, status, "the cookie works from the Web UI only")

	// Cookies expire, and another admin token invalidates them.
	cfg := testConfig()
	h1 := newCodecHandler(cfg, nil)
	v1 := h1.cookieValue(time.Now().Add(time.Hour))
	require.True(t, h1.cookieOK(v1))
	h1.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	require.False(t, h1.cookieOK(v1), "expired")
	cfg.AdminToken = "rotated"
	require.False(t, newCodecHandler(cfg, nil).cookieOK(v1), "signed for another admin token")
	require.False(t, newCodecHandler(cfg, nil).cookieOK(strings.Replace(v1, ".", ".0", 1)))
}
