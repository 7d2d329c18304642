package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/workflows"
)

// ownerInbox records what the owner channel (OWNER_WEBHOOK_URL) received.
type ownerInbox struct {
	mu      sync.Mutex
	notices []map[string]any
}

func (o *ownerInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var n map[string]any
	_ = json.NewDecoder(r.Body).Decode(&n)
	o.mu.Lock()
	o.notices = append(o.notices, n)
	o.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (o *ownerInbox) url() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range o.notices {
		if n["kind"] == "relink" {
			u, _ := n["url"].(string)
			return u
		}
	}
	return ""
}

// TestEndToEndRelink: the phone unlinks the device → needs_relink, the owner gets a signed
// link on the second channel, opens it, scans again → active; a message that waited while
// unlinked goes out once.
func TestEndToEndRelink(t *testing.T) {
	owner := &ownerInbox{}
	ownerSrv := httptest.NewServer(owner)
	t.Cleanup(ownerSrv.Close)
	s := newStackWith(t, func(c *config.Config) { c.OwnerWebhookURL = ownerSrv.URL })
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)

	resp, err := s.http.Post(s.cfg.PublicURL+fmt.Sprintf("/demo/whatsapp/%d/event", salon), "application/json",
		strings.NewReader(`{"state":"logged_out"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	s.waitSalonStatus(salon, workflows.StatusNeedsRelink)
	s.searchable(workflows.StatusNeedsRelink)

	// A booking made while unlinked waits: nothing can be sent.
	_, local := localIn(t, "Europe/Moscow", 3, "13:00")
	_, err = s.fake.CreateRecord(salon, yclientsfake.RecordInput{StaffID: staffOf(t, s.fake, salon),
		ServiceIDs: []int64{serviceOf(t, s.fake, salon)}, Client: &yclientsfake.ClientInput{Name: "Анна", Phone: clientPhone}, Datetime: local})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.inboxDone(salon) }, 10*time.Second, 20*time.Millisecond)
	require.Empty(t, s.clientTexts(salon))

	// The owner's link: valid, on the second channel, and not a websocket session token.
	require.Eventually(t, func() bool { return owner.url() != "" }, 10*time.Second, 20*time.Millisecond)
	link := owner.url()
	require.True(t, strings.HasPrefix(link, s.cfg.PublicURL+"/connect/relink?token="), link)
	token := strings.TrimPrefix(link, s.cfg.PublicURL+"/connect/relink?token=")
	bad, err := s.http.Get(strings.Replace(s.cfg.PublicURL, "http", "http", 1) + "/ws/connect?token=" + token)
	require.NoError(t, err)
	bad.Body.Close()
	require.Equal(t, http.StatusUnauthorized, bad.StatusCode, "a re-link token is no session token")

	page, err := s.http.Get(link)
	require.NoError(t, err)
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	require.Equal(t, http.StatusOK, page.StatusCode, string(body))
	m := tokenRE.FindStringSubmatch(string(body))
	require.Len(t, m, 2)
	conn := s.dial(m[1])
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	next(t, conn, "qr", nil)
	s.scanSalon(salon)
	next(t, conn, "active", nil)
	s.waitSalonStatus(salon, workflows.StatusActive)
	require.Equal(t, whatsapp.StateLinked, s.stateOf(salon).Link.State)

	// The waiting confirmation goes out once, right after the re-link (resume signal).
	texts := s.waitClientTexts(salon, 1)
	require.Contains(t, texts[0], "Вы записаны")
	time.Sleep(300 * time.Millisecond)
	require.Len(t, s.clientTexts(salon), 1)

	if os.Getenv("AIADMIN_RECORD_HISTORY") != "" {
		require.NoError(t, s.app.Temporal.SignalWorkflow(context.Background(), workflows.InstallationID(salon), "", workflows.SignalUninstall, struct{}{}))
		run := s.app.Temporal.GetWorkflow(context.Background(), workflows.InstallationID(salon), "")
		require.NoError(t, run.Get(context.Background(), nil))
		recordWorkflowHistory(t, s.app.Temporal, workflows.InstallationID(salon), run.GetRunID(), "installation-"+t.Name())
	}

	spent, err := s.http.Get(link)
	require.NoError(t, err)
	spentBody, _ := io.ReadAll(spent.Body)
	spent.Body.Close()
	require.Equal(t, http.StatusForbidden, spent.StatusCode, "a re-link link works once")
	require.Contains(t, string(spentBody), "Ссылка уже использована")

	forged, err := s.http.Get(s.cfg.PublicURL + "/connect/relink?token=" + m[1])
	require.NoError(t, err)
	forged.Body.Close()
	require.Equal(t, http.StatusForbidden, forged.StatusCode, "a session token is no re-link link")
}

func (s *stack) stateOf(salon int64) workflows.State {
	s.t.Helper()
	v, err := s.app.Temporal.QueryWorkflow(context.Background(), workflows.InstallationID(salon), "", workflows.QueryStatus)
	require.NoError(s.t, err)
	var st workflows.State
	require.NoError(s.t, v.Get(&st))
	return st
}
