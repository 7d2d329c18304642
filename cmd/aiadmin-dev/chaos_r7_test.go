package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/aiadmin/aiadmin/workflows"
)

// needle is one secret value that must never appear in clear.
type needle struct{ kind, value string }

// qrPayloadPrefix starts every WhatsApp QR payload (the simulated phone's too).
const qrPayloadPrefix = "https://wa.me/settings/linked_devices#"

var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// runR7 (secrets scan): a short workload of its own that produces every kind of secret (QR
// and code pairing, bookings, the phone unlinking and the owner's re-link), then every
// history of every workflow run of the suite and every line of every process's log are
// searched for QR payloads, pairing codes, api keys, webhook secrets, session and re-link
// tokens, the cluster's keys and the clients' phone numbers, in clear.
func runR7(t *testing.T, s *chaosSuite) {
	s.up(t)
	began := time.Now()
	s.secretWorkload(t)
	needles := s.needles()
	counts := map[string]int{}
	for _, n := range needles {
		counts[n.kind]++
	}
	var found []string
	runs, events, err := s.scanHistories(func(where, text string) { found = append(found, scan(where, text, needles)...) })
	require.NoError(t, err)
	lines := 0
	require.NoError(t, s.logLines(func(file string, n int, line string) {
		lines++
		found = append(found, scan(fmt.Sprintf("%s line %d", file, n), line, needles)...)
	}))
	kinds := []string{"QR payload", "pairing code", "api key", "webhook secret", "session token", "re-link token", "client phone", "cluster key"}
	var figures []string
	for _, k := range kinds {
		hits := 0
		for _, f := range found {
			if strings.HasPrefix(f, k+":") {
				hits++
			}
		}
		figures = append(figures, fmt.Sprintf("%d %ss (of %d)", hits, k, counts[k]))
	}
	report(t, "R7: scanned %d workflow runs (%d events) and %d log lines of the suite: %s in clear; in %s",
		runs, events, lines, strings.Join(figures, ", "), time.Since(began).Round(time.Second))
	require.Empty(t, found, "secrets in clear:\n  %s", firstFew(found, 40))
}

// secretWorkload installs two salons (one by QR, one by pairing code), books a client at each,
// and has the first one's phone unlink the device and its owner re-link by the link they get.
func (s *chaosSuite) secretWorkload(t *testing.T) {
	salons := s.addSalons(2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, s.installOwner(ctx, salons[0], false))
	require.NoError(t, s.installOwner(ctx, salons[1], true))
	var bookings []chaosBooking
	for _, sl := range salons {
		b, err := s.book(sl, 3, 2)
		require.NoError(t, err)
		bookings = append(bookings, b)
	}
	s.waitUntil(t, time.Minute, "R7: bookings confirmed", func() (bool, string) {
		waiting, wrong := s.checkConfirmed(bookings)
		return len(waiting)+len(wrong) == 0, firstFew(append(waiting, wrong...), 5)
	})
	sl := salons[0]
	require.NoError(t, postJSON(s.hc, s.simURL+"/control/emit", map[string]any{"salon_id": sl.ID, "status": map[string]string{"state": "logged_out"}}))
	var link string
	s.waitUntil(t, time.Minute, "R7: the owner's re-link link", func() (bool, string) {
		for _, n := range s.owners.all() {
			if n.SalonID == sl.ID && n.Kind == "relink" && n.URL != "" {
				link = n.URL
				return true, ""
			}
		}
		return false, "no re-link notice yet"
	})
	token, err := s.openRelink(link)
	require.NoError(t, err)
	s.seen.add(&s.seen.tokens, token)
	require.NoError(t, s.pairOnPage(ctx, sl, token, false))
	s.waitUntil(t, time.Minute, "R7: re-linked", func() (bool, string) {
		st, err := s.installState(sl.ID)
		return err == nil && st.Status == workflows.StatusActive, fmt.Sprintf("%s (%v)", st.Status, err)
	})
}

// openRelink opens the owner's re-link link and returns the connect page's session token.
func (s *chaosSuite) openRelink(link string) (string, error) {
	resp, err := s.hc.Get(link)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := tokenRE.FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || len(m) != 2 {
		return "", fmt.Errorf("re-link page: %d", resp.StatusCode)
	}
	return m[1], nil
}

// needles gathers every secret the suite saw pass.
func (s *chaosSuite) needles() []needle {
	out := []needle{{"QR payload", qrPayloadPrefix}}
	for _, cb := range s.fake.Callbacks() {
		out = append(out, needle{"api key", cb.APIKey})
		for _, u := range cb.WebhookURLs {
			if p, err := url.Parse(u); err == nil {
				out = append(out, needle{"webhook secret", path.Base(p.Path)})
			}
		}
	}
	for _, n := range s.owners.all() {
		if u, err := url.Parse(n.URL); err == nil && u.Query().Get("token") != "" {
			out = append(out, needle{"re-link token", u.Query().Get("token")})
		}
	}
	tokens, codes, phones := s.seen.snapshot()
	for _, v := range tokens {
		out = append(out, needle{"session token", v})
	}
	for _, v := range codes {
		out = append(out, needle{"pairing code", v})
	}
	for _, v := range phones {
		out = append(out, needle{"client phone", v})
	}
	for _, kv := range s.c.env {
		for _, k := range []string{"SECRET_KEY=", "SESSION_SECRET=", "YCLIENTS_PARTNER_TOKEN="} {
			if v, ok := strings.CutPrefix(kv, k); ok {
				out = append(out, needle{"cluster key", v})
			}
		}
	}
	return out
}

// scan reports every needle in text, and any JWT, naming where; the value itself is masked.
func scan(where, text string, needles []needle) []string {
	var out []string
	for _, n := range needles {
		if n.value != "" && strings.Contains(text, n.value) {
			out = append(out, fmt.Sprintf("%s: %s in %s: %s", n.kind, maskSecret(n.value), where,
				clip([]byte(strings.ReplaceAll(text, n.value, "«"+n.kind+"»")), 240)))
		}
	}
	for _, m := range jwtRE.FindAllString(text, -1) {
		out = append(out, fmt.Sprintf("session token: a JWT %s in %s", maskSecret(m), where))
	}
	return out
}

func maskSecret(v string) string {
	if len(v) <= 6 {
		return "***"
	}
	return "…" + v[len(v)-4:]
}

var payloadDataRE = regexp.MustCompile(`"data":\s*"([A-Za-z0-9+/=]+)"`)

// scanHistories calls fn with the text of every event of every workflow run in the
// namespace: its JSON, and the decoded data of its payloads (encrypted payloads stay
// ciphertext).
func (s *chaosSuite) scanHistories(fn func(where, text string)) (runs, events int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var token []byte
	for {
		resp, err := s.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{NextPageToken: token, PageSize: 1000})
		if err != nil {
			return runs, events, err
		}
		for _, e := range resp.Executions {
			runs++
			id, run := e.Execution.WorkflowId, e.Execution.RunId
			it := s.temporal.GetWorkflowHistory(ctx, id, run, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					return runs, events, fmt.Errorf("history of %s: %w", id, err)
				}
				events++
				raw, _ := protojson.Marshal(ev)
				text := string(raw)
				for _, m := range payloadDataRE.FindAllStringSubmatch(text, -1) {
					if b, err := base64.StdEncoding.DecodeString(m[1]); err == nil {
						text += "\n" + string(b)
					}
				}
				fn(fmt.Sprintf("history of %s event %d (%s)", id, ev.GetEventId(), ev.GetEventType()), text)
			}
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return runs, events, nil
		}
	}
}

// TestChaosSecretScan: R7's scan finds a planted secret and any JWT, and names them without
// repeating the value.
func TestChaosSecretScan(t *testing.T) {
	key := "4f1c9a0e77b2d3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c"
	needles := []needle{{"api key", key}, {"client phone", "79160000042"}}
	line := `time=… msg="activation" body="{\"api_key\":\"` + key + `\"}" token=eyJhbGciOiJIUzI1NiJ9.eyJzYWxvbiI6MX0.c2lnbmF0dXJlLXZhbHVl`
	found := scan("worker-1.log line 7", line, needles)
	require.Len(t, found, 2, "%q", found)
	require.Contains(t, found[0], "api key: …4b5c in worker-1.log line 7")
	require.Contains(t, found[1], "session token: a JWT")
	for _, f := range found {
		require.NotContains(t, f, key)
	}
	require.Empty(t, scan("api-1.log line 1", `phone=7916***0042 path=/webhook/yclients/1/***`, needles))
}
