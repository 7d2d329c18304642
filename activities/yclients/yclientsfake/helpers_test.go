package yclientsfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

const (
	token = "partner-token-7c2e90"
	appID = int64(18289)
)

// start serves a seeded fake (rate limit lifted unless opts.RPS is set) on httptest.
func start(t *testing.T, opts yclientsfake.Options) (*yclientsfake.Fake, *httptest.Server) {
	t.Helper()
	if opts.PartnerToken == "" {
		opts.PartnerToken = token
	}
	if opts.ApplicationID == 0 {
		opts.ApplicationID = appID
	}
	if opts.RPS == 0 {
		opts.RPS = 10_000
	}
	f := yclientsfake.New(opts)
	t.Cleanup(f.Close) // runs after srv.Close: webhooks still queued are dropped
	f.SeedDemo()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// answer is a decoded HTTP response.
type answer struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
	list   []any
}

// call sends a request; api adds the partner token and the v2 Accept header.
type call struct {
	method, path string
	body         any
	api          bool
	headers      map[string]string
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, srv *httptest.Server, c call) answer {
	t.Helper()
	var rd io.Reader
	if c.body != nil {
		if s, ok := c.body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(c.body)
			require.NoError(t, err)
			rd = bytes.NewReader(b)
		}
	}
	if c.method == "" {
		c.method = http.MethodGet
	}
	req, err := http.NewRequest(c.method, srv.URL+c.path, rd)
	require.NoError(t, err)
	if c.api {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/vnd.yclients.v2+json")
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var v any
		require.NoError(t, json.Unmarshal(raw, &v), string(raw))
		switch x := v.(type) {
		case map[string]any:
			a.json = x
		case []any:
			a.list = x
		}
	}
	return a
}

// metaMessage returns meta.message of an error body.
func (a answer) metaMessage() string {
	meta, _ := a.json["meta"].(map[string]any)
	s, _ := meta["message"].(string)
	return s
}

// data returns the envelope's data as an object.
func (a answer) dataObject(t *testing.T) map[string]any {
	t.Helper()
	require.Equal(t, true, a.json["success"], a.raw)
	d, ok := a.json["data"].(map[string]any)
	require.True(t, ok, "data is an object: %s", a.raw)
	return d
}

// dataList returns the envelope's data as a list of objects.
func (a answer) dataList(t *testing.T) []map[string]any {
	t.Helper()
	require.Equal(t, true, a.json["success"], a.raw)
	items, ok := a.json["data"].([]any)
	require.True(t, ok, "data is a list: %s", a.raw)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, it.(map[string]any))
	}
	return out
}
