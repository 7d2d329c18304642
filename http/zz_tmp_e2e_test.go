package httpapi

// TEMPORARY: local verification against the real workflow with stub activities. Deleted after use.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/workflows"
)

type memFeed struct {
	mu    sync.Mutex
	items []PairingItem
	next  int64
}

func (f *memFeed) add(it PairingItem) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	it.ID = f.next
	f.items = append(f.items, it)
}

func (f *memFeed) Since(_ context.Context, _ int64, after int64) ([]PairingItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []PairingItem
	for _, it := range f.items {
		if it.ID > after && (it.ExpiresAt.IsZero() || it.ExpiresAt.After(time.Now())) {
			out = append(out, it)
		}
	}
	return out, nil
}

func TestTmpE2E(t *testing.T) {
	tc := realTemporal(t)
	tq := fmt.Sprintf("tmp-e2e-%d", time.Now().UnixNano())
	salon := time.Now().UnixNano() % 1000000000
	feed := &memFeed{}
	ctl := make(chan string, 1)

	w := worker.New(tc, tq, worker.Options{})
	w.RegisterWorkflowWithOptions(workflows.Installation, workflow.RegisterOptions{Name: workflows.InstallationWorkflowName})
	reg := func(name string, fn any) { w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(activities.ActRegister, func(context.Context, activities.SalonRef) (activities.RegisterOutput, error) {
		return activities.RegisterOutput{Title: "Салон Тест", Timezone: "Europe/Moscow"}, nil
	})
	reg(activities.ActSetStatus, func(context.Context, activities.SetStatusInput) error { return nil })
	reg(activities.ActPair, func(ctx context.Context, in activities.PairInput) (activities.PairOutput, error) {
		kind, code := whatsapp.PairQR, "2@secret-qr-payload,abc,def"
		if in.Method == "phone" {
			kind, code = whatsapp.PairCode, "ABCD-EFGH"
		}
		feed.add(PairingItem{Attempt: in.Attempt, Kind: kind, Code: code, ExpiresAt: time.Now().Add(60 * time.Second)})
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return activities.PairOutput{}, ctx.Err()
			case <-tick.C:
				activity.RecordHeartbeat(ctx)
			case ev := <-ctl:
				switch ev {
				case "timeout":
					feed.add(PairingItem{Attempt: in.Attempt, Kind: whatsapp.PairTimeout})
					return activities.PairOutput{Outcome: "timeout"}, nil
				case "scan":
					feed.add(PairingItem{Attempt: in.Attempt, Kind: whatsapp.PairSuccess})
					return activities.PairOutput{Outcome: "success", Phone: "79990001122", Name: "Бархат"}, nil
				}
			}
		}
	})
	reg(activities.ActActivate, func(context.Context, activities.SalonRef) (activities.ActivateOutput, error) {
		return activities.ActivateOutput{RedirectURL: "https://yclients.com/appstore/done"}, nil
	})
	reg(activities.ActSync, func(context.Context, activities.SalonRef) (activities.SyncOutput, error) {
		return activities.SyncOutput{Services: 3, FinishedAt: time.Now()}, nil
	})
	reg(activities.ActSendWelcome, func(context.Context, activities.WelcomeInput) (activities.WelcomeOutput, error) {
		return activities.WelcomeOutput{Sent: true}, nil
	})
	reg(activities.ActNotifyOps, func(context.Context, activities.NotifyInput) error { return nil })
	for _, n := range []string{activities.ActDisconnect, activities.ActReconnect, activities.ActUnlink, activities.ActDeleteSecrets} {
		reg(n, func(context.Context, activities.SalonRef) error { return nil })
	}
	reg(activities.ActIntegrationStatus, func(context.Context, activities.SalonRef) (activities.IntegrationStatusOutput, error) {
		return activities.IntegrationStatusOutput{Status: "active"}, nil
	})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	cfg := testConfig()
	cfg.TaskQueue = tq
	srv := startServer(t, cfg, Deps{Temporal: tc, Pairing: feed, Logger: nil})
	regURL := srv.URL + "/marketplace/register?" + url.Values{"salon_id": {fmt.Sprint(salon)},
		"user_data": {vectorUserData}, "user_data_sign": {vectorSign}}.Encode()

	tokRE := regexp.MustCompile(`data-token="([^"]+)"`)
	register := func() (string, string) {
		status, _, body := get(t, regURL, nil)
		require.Equal(t, 200, status, body)
		require.Contains(t, body, "Салон Тест")
		m := tokRE.FindStringSubmatch(body)
		require.Len(t, m, 2)
		var cl sessionClaims
		_, _, err := jwt.NewParser().ParseUnverified(m[1], &cl)
		require.NoError(t, err)
		require.Equal(t, salon, cl.SalonID)
		return m[1], cl.RunID
	}
	tok, run1 := register()
	_, run1b := register()
	require.Equal(t, run1, run1b, "two clicks, one run")
	require.NotEmpty(t, run1)

	dial := func(token string) *websocket.Conn {
		c, resp, err := websocket.DefaultDialer.Dial(wsURL(srv.URL, token, nil), http.Header{"Origin": {cfg.PublicURL}})
		require.NoError(t, err)
		resp.Body.Close()
		t.Cleanup(func() { c.Close() })
		return c
	}
	nextOf := func(c *websocket.Conn, typ string) map[string]any {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
		for {
			f := readFrame(t, c)
			t.Logf("frame %v", trunc(f))
			if f["type"] == typ {
				return f
			}
			require.NotEqual(t, "error", f["type"], "%v", f)
		}
	}
	c := dial(tok)
	f := nextOf(c, "status")
	require.Equal(t, "pending_whatsapp", f["status"])
	require.Equal(t, "idle", f["pairing"])

	require.NoError(t, c.WriteJSON(map[string]string{"type": "request-qr"}))
	qr := nextOf(c, "qr")
	require.Regexp(t, `^data:image/png;base64,`, qr["image"])
	ctl <- "timeout"
	for {
		f = nextOf(c, "status")
		if f["pairing"] == "timeout" {
			break
		}
	}
	require.Equal(t, textCodeExpired, f["message"])

	require.NoError(t, c.WriteJSON(map[string]string{"type": "request-pairing-code", "phone": "+7 999 000-11-22"}))
	code := nextOf(c, "pairing-code")
	require.Equal(t, "ABCD-EFGH", code["code"])

	// Reload: a new socket resumes with the running code.
	c2 := dial(tok)
	nextOf(c2, "status")
	code2 := nextOf(c2, "pairing-code")
	require.Equal(t, "ABCD-EFGH", code2["code"])
	c2.Close()

	ctl <- "scan"
	conn := nextOf(c, "connected")
	require.Equal(t, "79990001122", conn["phone"])
	act := nextOf(c, "active")
	require.Equal(t, "https://yclients.com/appstore/done", act["redirect_url"])

	c3 := dial(tok)
	f = nextOf(c3, "status")
	require.Equal(t, "active", f["status"])
	nextOf(c3, "connected")
	nextOf(c3, "active")

	// Admin health merges the workflow.
	status, _, body := get(t, fmt.Sprintf("%s/api/installations/%d/health", srv.URL, salon), http.Header{"Authorization": {"Bearer admin-secret"}})
	require.Equal(t, 200, status, body)
	require.Contains(t, body, `"status":"active"`)
	t.Log(body)

	hook := func(event string) int {
		st, b := postJSON(t, srv.URL+"/marketplace/webhook", fmt.Sprintf(`{"salon_id":"%d","application_id":777,"event":"%s","partner_token":"test_partner_token"}`, salon, event), nil)
		t.Logf("%s -> %d %v", event, st, b)
		return st
	}
	require.Equal(t, 200, hook("freeze"))
	for {
		f = nextOf(c, "status")
		if f["status"] == "frozen" {
			break
		}
	}
	require.Equal(t, 200, hook("payment"))
	require.Equal(t, 200, hook("uninstall"))
	for {
		f = nextOf(c, "status")
		if f["status"] == "uninstalled" {
			break
		}
	}
	// Reinstall: a new run.
	_, run2 := register()
	require.NotEqual(t, run1, run2)
	require.NoError(t, tc.SignalWorkflow(context.Background(), workflows.InstallationID(salon), "", workflows.SignalUninstall, struct{}{}))
}

func trunc(f map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range f {
		if s, ok := v.(string); ok && len(s) > 60 {
			v = s[:60] + "…"
		}
		out[k] = v
	}
	return out
}
