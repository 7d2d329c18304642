package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/pii"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/secretbox"
	"github.com/aiadmin/aiadmin/http/demo"
)

// undocumentedRoutes are the routes a router may carry that /openapi.json does not describe,
// each with the reason. Nothing else may be left out.
var undocumentedRoutes = map[string]string{
	"POST /demo/whatsapp/{salon_id}/scan":     "the simulated phone: development binary only (http/demo)",
	"GET /demo/whatsapp/{salon_id}/messages":  "the simulated phone: development binary only (http/demo)",
	"POST /demo/whatsapp/{salon_id}/incoming": "the simulated phone: development binary only (http/demo)",
	"POST /demo/whatsapp/{salon_id}/event":    "the simulated phone: development binary only (http/demo)",
}

// openAPIRouter is New with every optional dependency present, so that every route is
// registered: real PostgreSQL behind the cabinet and the inbox, an unreachable Temporal, the
// fake YClients, a codec, metrics, and the development binary's demo routes.
func openAPIRouter(t *testing.T) (*gin.Engine, Config) {
	t.Helper()
	store, _ := dbtest.New(t)
	box, err := secretbox.New(bytes.Repeat([]byte{9}, 32))
	require.NoError(t, err)
	cfg := testConfig()
	cfg.TemporalUIOrigin = testUIOrigin
	salons, _ := testSalons(t)
	e := New(cfg, Deps{Temporal: closedTemporal(t), Pairing: noFeed{}, Salons: salons,
		Cabinet: StoreCabinet{Store: store}, Entity: StoreInbox{Store: store}, Codec: &pii.Codec{Box: box},
		Metrics: promhttp.HandlerFor(metrics.NewRegistry(), promhttp.HandlerOpts{}),
		Routes:  func(e *gin.Engine) { demo.Routes(e, nil) }, Logger: quietLogger()})
	return e, cfg
}

// openAPIDocument is the parts of the document the test checks.
type openAPIDocument struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Paths map[string]map[string]json.RawMessage `json:"paths"`
}

var openAPIMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true,
	"head": true, "patch": true, "trace": true}

// operations returns each documented operation ("GET /path/{param}") with its status codes.
func (d openAPIDocument) operations(t *testing.T) map[string][]int {
	t.Helper()
	ops := map[string][]int{}
	for path, item := range d.Paths {
		for method, raw := range item {
			if !openAPIMethods[method] {
				continue // parameters, summary, … of the path item
			}
			var op struct {
				OperationID string                     `json:"operationId"`
				Responses   map[string]json.RawMessage `json:"responses"`
			}
			require.NoError(t, json.Unmarshal(raw, &op), "%s %s", method, path)
			key := strings.ToUpper(method) + " " + path
			require.NotEmpty(t, op.OperationID, "%s: no operationId", key)
			require.NotEmpty(t, op.Responses, "%s: no responses", key)
			for code := range op.Responses {
				n, err := strconv.Atoi(code)
				require.NoError(t, err, "%s: status %q is not a code", key, code)
				ops[key] = append(ops[key], n)
			}
		}
	}
	return ops
}

// ginParam is a gin path parameter (:name or *name).
var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// routeKey is a gin route as an OpenAPI operation key: "GET /webhook/yclients/{salon_id}/{secret}".
func routeKey(r gin.RouteInfo) string {
	return r.Method + " " + ginParam.ReplaceAllString(r.Path, "{$1}")
}

// fetchOpenAPI reads /openapi.json from the server and checks it is an OpenAPI 3 document
// whose references all resolve.
func fetchOpenAPI(t *testing.T, base string) openAPIDocument {
	t.Helper()
	status, hdr, body := get(t, base+"/openapi.json", nil)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "application/json", hdr.Get("Content-Type"))
	var doc openAPIDocument
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	require.True(t, strings.HasPrefix(doc.OpenAPI, "3."), "openapi: got %q", doc.OpenAPI)
	require.NotEmpty(t, doc.Info.Title)
	require.NotEmpty(t, doc.Info.Version)
	require.NotEmpty(t, doc.Paths)
	var tree any
	require.NoError(t, json.Unmarshal([]byte(body), &tree))
	for _, ref := range regexp.MustCompile(`"\$ref":\s*"#([^"]*)"`).FindAllStringSubmatch(body, -1) {
		require.True(t, resolves(tree, ref[1]), "$ref #%s resolves to nothing", ref[1])
	}
	return doc
}

// resolves reports whether the JSON pointer names a value in tree.
func resolves(tree any, pointer string) bool {
	for _, part := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		m, ok := tree.(map[string]any)
		if !ok {
			return false
		}
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		if tree, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPIDescribesEveryRoute checks /openapi.json against the router: every route New
// registers is documented (or listed in undocumentedRoutes with its reason), every documented
// operation is a route, and every documented operation answers a documented status to a real
// request (openAPIProbes).
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	e, cfg := openAPIRouter(t)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	doc := fetchOpenAPI(t, srv.URL)
	ops := doc.operations(t)

	registered := map[string]bool{}
	for _, r := range e.Routes() {
		registered[routeKey(r)] = true
	}
	var missing, stale, extra []string
	for k := range registered {
		if _, ok := ops[k]; !ok && undocumentedRoutes[k] == "" {
			missing = append(missing, k)
		}
	}
	for k := range ops {
		if !registered[k] {
			stale = append(stale, k)
		}
		if undocumentedRoutes[k] != "" {
			extra = append(extra, k)
		}
	}
	for k := range undocumentedRoutes {
		if !registered[k] {
			stale = append(stale, k+" (undocumentedRoutes)")
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	require.Empty(t, missing, "routes not in /openapi.json (document them, or list them in undocumentedRoutes with a reason)")
	require.Empty(t, stale, "documented operations that no route serves")
	require.Empty(t, extra, "routes both documented and listed as undocumented")

	probed := map[string]bool{}
	for _, p := range openAPIProbes(cfg) {
		t.Run(p.op+" "+strconv.Itoa(p.want), func(t *testing.T) {
			codes, ok := ops[p.op]
			require.True(t, ok, "probe of an undocumented operation")
			require.Contains(t, codes, p.want, "the probe's status is not documented")
			resp, err := noRedirects.Do(p.request(t, srv.URL))
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			require.NoError(t, resp.Body.Close())
			require.Equal(t, p.want, resp.StatusCode, "body: %s", body)
		})
		probed[p.op] = true
	}
	for k := range ops {
		require.True(t, probed[k], "%s: no probe shows one of its documented statuses (add one to openAPIProbes)", k)
	}
}

// noRedirects answers a redirect itself (the codec sign-in's 303 points at the Web UI).
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// openAPIProbe is a request that must get the status want, documented for the operation op.
type openAPIProbe struct {
	op     string // "METHOD /template"
	path   string // the concrete path and query
	header http.Header
	body   string
	want   int
}

func (p openAPIProbe) request(t *testing.T, base string) *http.Request {
	t.Helper()
	method, _, _ := strings.Cut(p.op, " ")
	req, err := http.NewRequest(method, base+p.path, strings.NewReader(p.body))
	require.NoError(t, err)
	for k, v := range p.header {
		req.Header[k] = v
	}
	return req
}

// openAPIProbes are the requests that show each operation's statuses are real: at least one
// per operation, mostly refusals that need neither Temporal nor YClients.
func openAPIProbes(cfg Config) []openAPIProbe {
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	admin := bearer(cfg.AdminToken)
	jsonBody := http.Header{"Content-Type": {"application/json"}}
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	lifecycle := func(token, event string) string {
		b, _ := json.Marshal(map[string]any{"salon_id": 42, "application_id": cfg.ApplicationID, "event": event, "partner_token": token})
		return string(b)
	}
	envelope := `{"company_id":42,"resource":"record","resource_id":1,"status":"create","data":{"id":1}}`
	probes := []openAPIProbe{
		{op: "GET /marketplace/register", path: "/marketplace/register", want: 400},
		{op: "GET /marketplace/register", path: "/marketplace/register?salon_id=42", want: 403},
		{op: "POST /marketplace/webhook", path: "/marketplace/webhook", header: jsonBody, body: "{", want: 400},
		{op: "POST /marketplace/webhook", path: "/marketplace/webhook", header: jsonBody, body: lifecycle("wrong", "freeze"), want: 401},
		{op: "POST /marketplace/webhook", path: "/marketplace/webhook", header: jsonBody, body: lifecycle(cfg.PartnerToken, "nonsense"), want: 200},
		{op: "POST /marketplace/webhook", path: "/marketplace/webhook", header: jsonBody, body: lifecycle(cfg.PartnerToken, "freeze"), want: 503},
		{op: "POST /webhook/yclients/{salon_id}/{secret}", path: "/webhook/yclients/abc/s", header: jsonBody, body: envelope, want: 400},
		{op: "POST /webhook/yclients/{salon_id}/{secret}", path: "/webhook/yclients/42/wrong", header: jsonBody, body: envelope, want: 403},
		{op: "GET /connect/relink", path: "/connect/relink?token=x", want: 403},
		{op: "GET /ws/connect", path: "/ws/connect?token=x", want: 401},
		{op: "GET /healthz", path: "/healthz", want: 200},
		{op: "GET /readyz", path: "/readyz", want: 200},
		{op: "GET /metrics", path: "/metrics", want: 200},
		{op: "GET /api/installations/{salon_id}/health", path: "/api/installations/42/health", want: 401},
		{op: "GET /api/installations/{salon_id}/health", path: "/api/installations/abc/health", header: admin, want: 400},
		{op: "GET /codec/login", path: "/codec/login", want: 200},
		{op: "POST /codec/login", path: "/codec/login", header: form, body: "token=wrong", want: 401},
		{op: "POST /codec/login", path: "/codec/login", header: form, body: url.Values{"token": {cfg.AdminToken}}.Encode(), want: 303},
		{op: "GET /openapi.json", path: "/openapi.json", want: 200},
	}
	for _, op := range []string{"decode", "encode"} {
		path := "/codec/" + op
		probes = append(probes,
			openAPIProbe{op: "OPTIONS " + path, path: path, header: http.Header{"Origin": {"https://evil.example"}}, want: 403},
			openAPIProbe{op: "OPTIONS " + path, path: path, header: http.Header{"Origin": {cfg.TemporalUIOrigin}}, want: 204},
			openAPIProbe{op: "POST " + path, path: path, header: jsonBody, body: `{"payloads":[]}`, want: 401},
			openAPIProbe{op: "POST " + path, path: path, header: admin, body: "not json", want: 400},
			openAPIProbe{op: "POST " + path, path: path, header: admin, body: `{"payloads":[]}`, want: 200})
	}
	for _, op := range []string{"GET /cabinet/api/settings", "PUT /cabinet/api/settings", "GET /cabinet/api/texts",
		"POST /cabinet/api/preview", "POST /cabinet/api/sample", "POST /cabinet/api/relink", "GET /cabinet/api/messages"} {
		_, path, _ := strings.Cut(op, " ")
		probes = append(probes,
			openAPIProbe{op: op, path: path, header: jsonBody, body: "{}", want: 401},
			// A valid session reaches Temporal to check its installation: unreachable here.
			openAPIProbe{op: op, path: path, header: bearer(cabinetToken(cfg)), body: "{}", want: 503})
	}
	return probes
}

// cabinetToken is a valid session token of salon 42.
func cabinetToken(cfg Config) string {
	tok, err := newSessions(cfg.SessionSecret, audSession).issue(sessionClaims{SalonID: 42, Install: "install-1"}, sessionTTL)
	if err != nil {
		panic(err)
	}
	return tok
}
