package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// badRequest is one malformed request of R6's table.
type badRequest struct {
	name, method, path string
	header             http.Header
	body               []byte
}

// runR6 (bad input): a table of malformed requests, mutations of a real webhook body and the
// Go fuzz corpora of the repository (testdata/fuzz) against the live api → only 4xx (2xx for
// a mutation that is still a well-formed webhook), never a 5xx, never a panic.
func runR6(t *testing.T, s *chaosSuite) {
	s.up(t)
	began := time.Now()
	logsAt := s.logSizes()
	salons := s.addSalons(1)
	require.Empty(t, s.installAll(salons, 1, s.size.settle, nil), "install")
	sl := salons[0]
	b, err := s.book(sl, 3, 1)
	require.NoError(t, err)
	hookURL, seed := s.webhookOf(t, b)
	table := badRequests(s, sl.ID, hookURL)
	var fails []string
	statuses := map[int]int{}
	for _, r := range table {
		code := s.send(r)
		statuses[code/100*100]++
		if code/100 != 4 {
			fails = append(fails, fmt.Sprintf("%s (%s %s): answered %d, want 4xx", r.name, r.method, redactPath(r.path), code))
		}
	}
	for _, w := range badWebsockets(s, sl.ID) {
		code := s.dialStatus(w.token, w.origin)
		statuses[code/100*100]++
		if code/100 != 4 {
			fails = append(fails, fmt.Sprintf("websocket %s: handshake answered %d, want 4xx", w.name, code))
		}
	}
	bodies := mutations(seed, s.size.r6Mutations)
	corpus := fuzzCorpora(t)
	wellFormed := 0
	for i, body := range append(bodies, corpus...) {
		code := s.send(badRequest{method: http.MethodPost, path: hookURL, body: body,
			header: http.Header{"Content-Type": {"application/json"}}})
		statuses[code/100*100]++
		switch {
		case code/100 == 2 && envelope(body, sl.ID):
			wellFormed++
		case code/100 != 4:
			fails = append(fails, fmt.Sprintf("webhook body #%d (%s): answered %d, want 4xx", i, mutationOf(seed, body), code))
		}
	}
	time.Sleep(2 * time.Second) // what the dispatcher makes of the stored ones
	panics := s.panicsSince(logsAt)
	report(t, "R6: %d malformed requests (table), %d mutated webhook bodies, %d fuzz corpus entries: %d×4xx, %d×2xx (well-formed mutations: %d), %d×5xx, %d not 4xx when they should be; %d panics in the logs; in %s",
		len(table)+len(badWebsockets(s, sl.ID)), len(bodies), len(corpus), statuses[400], statuses[200], wellFormed, statuses[500],
		len(fails), len(panics), time.Since(began).Round(time.Second))
	require.Empty(t, panics, "panics in the processes' logs")
	require.Empty(t, s.c.crashed(), "processes that died")
	require.Empty(t, fails, "answers that are not 4xx:\n  %s", firstFew(fails, 40))
}

// webhookOf waits for the booking's create webhook and returns its URL and body.
func (s *chaosSuite) webhookOf(t *testing.T, b chaosBooking) (string, []byte) {
	var d yclientsfake.Delivery
	s.waitUntil(t, time.Minute, "R6: a real webhook to start from", func() (bool, string) {
		for _, x := range s.fake.Deliveries() {
			if x.ResourceID == b.record && x.HTTPStatus == 200 {
				d = x
				return true, ""
			}
		}
		return false, "no delivery yet"
	})
	return d.URL, d.Body
}

// badRequests is the table: every endpoint with what it must refuse.
func badRequests(s *chaosSuite, salon int64, hookURL string) []badRequest {
	pub := s.c.Addrs.PublicURL
	base := hookURL[:strings.LastIndex(hookURL, "/")]
	secret := hookURL[strings.LastIndex(hookURL, "/")+1:]
	envelope := func(fields string) []byte {
		return []byte(fmt.Sprintf(`{"company_id":%d,%s,"data":{}}`, salon, fields))
	}
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	post := func(name, path string, body []byte) badRequest {
		return badRequest{name: name, method: http.MethodPost, path: path, body: body, header: jsonHdr}
	}
	deep := bytes.Repeat([]byte("["), 100_000)
	huge := append(append([]byte(`{"resource":"record","status":"create","resource_id":1,"data":"`), bytes.Repeat([]byte("я"), 1<<20)...), []byte(`"}`)...)
	ud, sign, _ := yclientsfake.EncodeUserData(clusterPartnerToken, yclientsfake.UserData{ID: 1, Name: "X"})
	reg := func(q string) string { return pub + "/marketplace/register?" + q }
	lifecycle := func(body string) badRequest { return post("lifecycle "+body, pub+"/marketplace/webhook", []byte(body)) }
	admin := http.Header{"Authorization": {"Bearer " + clusterAdminToken}}
	return []badRequest{
		post("webhook: wrong secret", base+"/"+strings.Repeat("x", len(secret)), envelope(`"resource":"record","status":"create","resource_id":1`)),
		post("webhook: empty secret", base+"/", nil),
		post("webhook: another salon's URL", strings.Replace(hookURL, fmt.Sprint(salon), fmt.Sprint(salon+1), 1), nil),
		post("webhook: salon not a number", pub+"/webhook/yclients/abc/"+secret, nil),
		post("webhook: salon zero", pub+"/webhook/yclients/0/"+secret, nil),
		post("webhook: salon negative", pub+"/webhook/yclients/-5/"+secret, nil),
		post("webhook: salon overflows", pub+"/webhook/yclients/99999999999999999999999/"+secret, nil),
		post("webhook: empty body", hookURL, nil),
		post("webhook: not JSON", hookURL, []byte("not json at all")),
		post("webhook: JSON array", hookURL, []byte(`[1,2,3]`)),
		post("webhook: empty object", hookURL, []byte(`{}`)),
		post("webhook: unknown status", hookURL, envelope(`"resource":"record","status":"explode","resource_id":1`)),
		post("webhook: resource_id text", hookURL, envelope(`"resource":"record","status":"create","resource_id":"abc"`)),
		post("webhook: resource_id overflows", hookURL, envelope(`"resource":"record","status":"create","resource_id":1e30`)),
		post("webhook: NUL in resource", hookURL, envelope(`"resource":"rec\u0000ord","status":"create","resource_id":1`)),
		post("webhook: truncated", hookURL, envelope(`"resource":"record","status":"create","resource_id":1`)[:30]),
		post("webhook: data after the JSON object", hookURL, append(envelope(`"resource":"record","status":"create","resource_id":1`), " trailing"...)),
		post("webhook: record without resource_id", hookURL, envelope(`"resource":"record","status":"create"`)),
		post("webhook: nested 100k deep", hookURL, deep),
		post("webhook: 2 MB body", hookURL, huge),
		{name: "webhook: GET", method: http.MethodGet, path: hookURL},
		{name: "webhook: PUT", method: http.MethodPut, path: hookURL, body: []byte(`{}`)},
		lifecycle(`not json`),
		lifecycle(`{}`),
		lifecycle(`{"salon_id":1,"application_id":1,"event":"uninstall","partner_token":"wrong"}`),
		lifecycle(`{"salon_id":"abc","application_id":1,"event":"uninstall","partner_token":"` + clusterPartnerToken + `"}`),
		lifecycle(`{"salon_id":-3,"application_id":1,"event":"uninstall","partner_token":"` + clusterPartnerToken + `"}`),
		post("lifecycle: 100 KB body", pub+"/marketplace/webhook", bytes.Repeat([]byte(" "), 100<<10)),
		{name: "lifecycle: GET", method: http.MethodGet, path: pub + "/marketplace/webhook"},
		{name: "register: no parameters", method: http.MethodGet, path: reg("")},
		{name: "register: salon not a number", method: http.MethodGet, path: reg("salon_id=abc&user_data=" + ud + "&user_data_sign=" + sign)},
		{name: "register: user_data not base64", method: http.MethodGet, path: reg(fmt.Sprintf("salon_id=%d&user_data=%%%%%%&user_data_sign=%s", salon, sign))},
		{name: "register: bad signature", method: http.MethodGet, path: reg(fmt.Sprintf("salon_id=%d&user_data=%s&user_data_sign=%s", salon, ud, strings.Repeat("0", 64)))},
		{name: "register: unsigned", method: http.MethodGet, path: reg(fmt.Sprintf("salon_id=%d&user_data=%s", salon, ud))},
		{name: "register: signed, salon unknown to YClients", method: http.MethodGet, path: reg("salon_id=987654321&user_data=" + url.QueryEscape(ud) + "&user_data_sign=" + sign)},
		{name: "relink: garbage token", method: http.MethodGet, path: pub + "/connect/relink?token=garbage"},
		{name: "relink: no token", method: http.MethodGet, path: pub + "/connect/relink"},
		{name: "health: no token", method: http.MethodGet, path: fmt.Sprintf("%s/api/installations/%d/health", pub, salon)},
		{name: "health: wrong token", method: http.MethodGet, path: fmt.Sprintf("%s/api/installations/%d/health", pub, salon),
			header: http.Header{"Authorization": {"Bearer wrong"}}},
		{name: "health: salon not a number", method: http.MethodGet, path: pub + "/api/installations/abc/health", header: admin},
		{name: "unknown path", method: http.MethodGet, path: pub + "/no/such/page"},
		{name: "POST on readyz", method: http.MethodPost, path: pub + "/readyz"},
		{name: "1 MB header", method: http.MethodGet, path: pub + "/healthz", header: http.Header{"X-Big": {strings.Repeat("a", 1<<20)}}},
	}
}

type badWebsocket struct{ name, token, origin string }

func badWebsockets(s *chaosSuite, salon int64) []badWebsocket {
	pub := s.c.Addrs.PublicURL
	forged := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + // {"alg":"none","typ":"JWT"}
		"eyJzYWxvbiI6MSwicGFpciI6dHJ1ZX0." // {"salon":1,"pair":true}
	return []badWebsocket{
		{"no token", "", pub}, {"garbage token", "garbage", pub}, {"alg none token", forged, pub},
		{"wrong origin", "garbage", "https://evil.example"},
	}
}

// send makes one request through the public URL; 0 when it got no answer.
func (s *chaosSuite) send(r badRequest) int {
	req, err := http.NewRequest(r.method, r.path, bytes.NewReader(r.body))
	if err != nil {
		return 0
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// dialStatus opens the connect page's websocket and returns the handshake's status.
func (s *chaosSuite) dialStatus(token, origin string) int {
	u := "ws" + strings.TrimPrefix(s.c.Addrs.PublicURL, "http") + "/ws/connect"
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	conn, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {origin}})
	if err == nil {
		conn.Close()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// mutations derives n malformed or odd bodies from a real webhook body, deterministically:
// truncations, flipped, inserted, deleted and repeated bytes, NULs, invalid UTF-8, and values
// of the wrong type.
func mutations(seed []byte, n int) [][]byte {
	rnd := rand.New(rand.NewPCG(42, 7))
	odd := [][]byte{{0}, {0xff, 0xfe}, []byte(`"`), []byte(`{`), []byte(`]`), []byte(`\u0000`), []byte(`null`), []byte(`1e999`), []byte(`-`)}
	swaps := [][2]string{{`"record"`, `null`}, {`"create"`, `42`}, {`"status"`, `"stat\u0000us"`}, {`"data":{`, `"data":[`},
		{`"resource_id":`, `"resource_id":-`}, {`"company_id":`, `"company_id":"x`}, {`"resource"`, `"resource2"`}}
	out := make([][]byte, 0, n)
	for len(out) < n {
		b := bytes.Clone(seed)
		i := rnd.IntN(len(b))
		switch rnd.IntN(7) {
		case 0:
			b = b[:i]
		case 1:
			b[i] ^= byte(1 << rnd.IntN(8))
		case 2:
			b = append(b[:i], append(bytes.Clone(odd[rnd.IntN(len(odd))]), b[i:]...)...)
		case 3:
			b = append(b[:i], b[min(len(b), i+1+rnd.IntN(20)):]...)
		case 4:
			j := min(len(b), i+1+rnd.IntN(40))
			b = append(b[:j], append(bytes.Clone(b[i:j]), b[j:]...)...)
		default:
			sw := swaps[rnd.IntN(len(swaps))]
			b = bytes.Replace(b, []byte(sw[0]), []byte(sw[1]), 1)
		}
		out = append(out, b)
	}
	return out
}

// envelope is an independent check that a body is still a well-formed webhook of the salon:
// a JSON object with a known resource and status and an integer resource_id.
func envelope(body []byte, salon int64) bool {
	var env struct {
		CompanyID  json.Number `json:"company_id"`
		Resource   string      `json:"resource"`
		Status     string      `json:"status"`
		ResourceID json.Number `json:"resource_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if !json.Valid(body) || dec.Decode(&env) != nil {
		return false
	}
	_, idErr := env.ResourceID.Int64()
	return env.Resource != "" && !strings.ContainsRune(env.Resource, 0) && idErr == nil &&
		(env.Status == "create" || env.Status == "update" || env.Status == "delete")
}

// fuzzCorpora reads every Go fuzz corpus of the repository (testdata/fuzz/<Fuzz>/<entry>,
// "go test fuzz v1"): each []byte or string value is a body to post.
func fuzzCorpora(t *testing.T) [][]byte {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	var out [][]byte
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, string(filepath.Separator)+filepath.Join("testdata", "fuzz")+string(filepath.Separator)) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.HasPrefix(b, []byte("go test fuzz v1")) {
			return nil
		}
		out = append(out, corpusValues(string(b))...)
		return nil
	})
	return out
}

// mutationOf describes how body differs from seed: where, and what replaced what.
func mutationOf(seed, body []byte) string {
	p := 0
	for p < len(seed) && p < len(body) && seed[p] == body[p] {
		p++
	}
	q := 0
	for q < len(seed)-p && q < len(body)-p && seed[len(seed)-1-q] == body[len(body)-1-q] {
		q++
	}
	return whatsapp.RedactPhones(fmt.Sprintf("%d bytes; at byte %d %q became %q, after %q", len(body), p,
		clip(seed[p:len(seed)-q], 40), clip(body[p:len(body)-q], 40), clip(seed[max(0, p-30):p], 30)))
}

// clip is the start of a body for a failure text.
func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// redactPath leaves a webhook URL's secret out of a failure text.
func redactPath(p string) string {
	if i := strings.Index(p, "/webhook/yclients/"); i >= 0 {
		if j := strings.LastIndex(p, "/"); j > i+len("/webhook/yclients/") {
			return p[:j+1] + "***"
		}
	}
	return p
}
