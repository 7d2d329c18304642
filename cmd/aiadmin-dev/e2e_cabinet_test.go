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
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/workflows"
)

// openCabinet opens the app again from the fake marketplace, as the owner of an installed
// salon does, and returns the page and its session token.
func (s *stack) openCabinet(salon int64) (string, string) {
	s.t.Helper()
	status, body, token := s.page(s.redirectFor(salon))
	require.Equal(s.t, http.StatusOK, status, body)
	require.True(s.t, strings.Contains(body, "Кабинет салона"), "the marketplace redirect of an installed salon opens the cabinet")
	require.NotEmpty(s.t, token)
	return body, token
}

// cabinetCall calls the cabinet's API with a session token and decodes the JSON answer.
func (s *stack) cabinetCall(token, method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, ok := body.(string)
		if !ok {
			b, err := json.Marshal(body)
			require.NoError(s.t, err)
			raw = string(b)
		}
		rd = strings.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.cfg.PublicURL+path, rd)
	require.NoError(s.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(s.t, err)
	var out map[string]any
	require.NoError(s.t, json.Unmarshal(raw, &out), "%s %s: got %s", method, path, raw)
	return resp.StatusCode, out
}

// mintSession signs a connect-page session token as the api process does, for claims the
// test chooses (a token left from another installation, another salon's).
func (s *stack) mintSession(salon int64, install string) string {
	s.t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"salon_id": salon, "install": install, "jti": "test-" + install, "aud": []string{"aiadmin-connect"},
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(s.cfg.SessionSecret)
	require.NoError(s.t, err)
	return tok
}

// TestEndToEndCabinetAPI drives the cabinet's API as the page does, on the whole stack: the
// marketplace redirect of an installed salon opens the cabinet; settings round-trip, every
// invalid value is refused with a Russian error; tokens of another installation or salon are
// refused; the owner's text and the confirmation question reach the client; a kind turned off
// is skipped; the log masks phones; an example reaches the salon's own number once; and once
// the phone unlinks WhatsApp the owner gets a re-link link from «Переподключить WhatsApp».
func TestEndToEndCabinetAPI(t *testing.T) {
	owner := &ownerInbox{}
	ownerSrv := httptest.NewServer(owner)
	t.Cleanup(ownerSrv.Close)
	s := newStackWith(t, func(c *config.Config) { c.OwnerWebhookURL = ownerSrv.URL })
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)
	page, token := s.openCabinet(salon)
	require.True(t, strings.Contains(page, "7 999 000-11-22 · подключён"), "the linked number")
	require.False(t, strings.Contains(page, "Переподключить WhatsApp"), "WhatsApp is linked")

	t.Run("auth", func(t *testing.T) { cabinetAuth(t, s, salon, token) })
	t.Run("invalid settings", func(t *testing.T) { cabinetInvalidSettings(t, s, token) })
	t.Run("settings round trip", func(t *testing.T) { cabinetRoundTrip(t, s, token) })
	t.Run("the next messages follow the settings", func(t *testing.T) { cabinetMessages(t, s, salon, token) })
	t.Run("example to the salon's own number", func(t *testing.T) { cabinetSample(t, s, salon, token) })
	t.Run("re-link link to the owner", func(t *testing.T) { cabinetRelink(t, s, owner, salon, token) })
}

func cabinetAuth(t *testing.T, s *stack, salon int64, token string) {
	status, body := s.cabinetCall(token, http.MethodGet, "/cabinet/api/settings", nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	install := s.stateOf(salon).InstallID
	for _, c := range []struct {
		name, token, path string
	}{
		{"no token", "", "/cabinet/api/settings"},
		{"garbage", "not-a-token", "/cabinet/api/settings"},
		{"another installation of the salon", s.mintSession(salon, install+"-before"), "/cabinet/api/settings"},
		{"another salon's token", s.mintSession(s.vladivostok, install), "/cabinet/api/settings"},
		{"this token for another salon", token, fmt.Sprintf("/cabinet/api/settings?salon_id=%d", s.vladivostok)},
		{"messages with another installation's token", s.mintSession(salon, "other"), "/cabinet/api/messages"},
	} {
		status, body := s.cabinetCall(c.token, http.MethodGet, c.path, nil)
		require.Equal(t, http.StatusUnauthorized, status, "%s: got %v", c.name, body)
		require.Contains(t, body["message"], "Сессия истекла", c.name)
	}
	status, _ = s.cabinetCall(s.mintSession(salon, install), http.MethodPut, "/cabinet/api/settings",
		map[string]any{"daily_cap": 5})
	require.Equal(t, http.StatusOK, status, "a token of the current installation is admitted")
	status, _ = s.cabinetCall(token, http.MethodPut, "/cabinet/api/settings", map[string]any{"daily_cap": 300})
	require.Equal(t, http.StatusOK, status)
}

func cabinetInvalidSettings(t *testing.T, s *stack, token string) {
	_, before := s.cabinetCall(token, http.MethodGet, "/cabinet/api/settings", nil)
	for _, c := range []struct {
		body  string
		field string
	}{
		{`{"reminder_day_before_hour": 24}`, "reminder_day_before_hour"},
		{`{"reminder_day_before_hour": -1}`, "reminder_day_before_hour"},
		{`{"reminder_day_before_hour": "18"}`, "reminder_day_before_hour"},
		{`{"reminder_hours_before": 0}`, "reminder_hours_before"},
		{`{"reminder_hours_before": 25}`, "reminder_hours_before"},
		{`{"review_delay_minutes": 10}`, "review_delay_minutes"},
		{`{"review_delay_minutes": 10081}`, "review_delay_minutes"},
		{`{"review_url": "http://yandex.ru/maps/org/1"}`, "review_url"},
		{`{"review_url": "yandex.ru/maps"}`, "review_url"},
		{`{"review_url": "javascript:alert(1)"}`, "review_url"},
		{`{"review_url": "https://ya ndex.ru"}`, "review_url"},
		{`{"quiet_hours": {"from": "25:00"}}`, "quiet_hours.from"},
		{`{"quiet_hours": {"to": "9:00"}}`, "quiet_hours.to"},
		{`{"per_minute": 21}`, "per_minute"},
		{`{"per_minute": -3}`, "per_minute"},
		{`{"daily_cap": 0}`, "daily_cap"},
		{`{"daily_cap": 1001}`, "daily_cap"},
		{`{"confirm_by_reply": "yes"}`, "confirm_by_reply"},
		{`{"templates": {"confirmation": "Привет, {{.Name}}!"}}`, "templates.confirmation"},
		{`{"templates": {"confirmation": "{{if .ClientName}}без конца"}}`, "templates.confirmation"},
		{`{"templates": {"opt_out_ack": "Пока"}}`, "templates.opt_out_ack"},
		{`{"colour": "green"}`, "colour"},
	} {
		status, body := s.cabinetCall(token, http.MethodPut, "/cabinet/api/settings", c.body)
		require.Equal(t, http.StatusBadRequest, status, "%s: got %v", c.body, body)
		fields, _ := body["fields"].(map[string]any)
		msg, _ := fields[c.field].(string)
		require.Regexp(t, `[А-Яа-яЁё]`, msg, "%s: got fields %v, want a Russian error for %s", c.body, fields, c.field)
		require.Contains(t, body["message"], "Настройки не сохранены")
	}
	_, after := s.cabinetCall(token, http.MethodGet, "/cabinet/api/settings", nil)
	require.Equal(t, before, after, "nothing was saved")
}

func cabinetRoundTrip(t *testing.T, s *stack, token string) {
	status, got := s.cabinetCall(token, http.MethodGet, "/cabinet/api/settings", nil)
	require.Equal(t, http.StatusOK, status)
	for k, want := range map[string]any{"confirm_by_reply": true, "confirm_on_booking": false, "review_requests": false,
		"review_delay_minutes": 180.0, "review_url": "", "reminder_day_before_hour": 18.0, "reminder_hours_before": 2.0,
		"send_confirmation": true, "send_change": true, "decline_cancels": false} {
		require.Equal(t, want, got[k], "default %s: got %v", k, got[k])
	}
	require.Equal(t, map[string]any{"from": "21:00", "to": "09:00"}, got["quiet_hours"])
	change := map[string]any{"reminder_day_before_hour": 20, "reminder_hours_before": 3, "review_requests": true,
		"review_delay_minutes": 120, "review_url": "https://yandex.ru/maps/org/barkhat/1", "confirm_on_booking": true,
		"quiet_hours": map[string]string{"from": "22:30", "to": "08:00"}, "per_minute": 12, "daily_cap": 500,
		"templates": map[string]string{"confirmation": "{{.ClientName}}, ждём вас {{.When}} в «{{.SalonName}}»!"}}
	status, put := s.cabinetCall(token, http.MethodPut, "/cabinet/api/settings", change)
	require.Equal(t, http.StatusOK, status, "%v", put)
	_, again := s.cabinetCall(token, http.MethodGet, "/cabinet/api/settings", nil)
	require.Equal(t, put, again, "PUT answers what GET then reads")
	for k, want := range map[string]any{"reminder_day_before_hour": 20.0, "reminder_hours_before": 3.0, "review_requests": true,
		"review_delay_minutes": 120.0, "review_url": "https://yandex.ru/maps/org/barkhat/1", "confirm_on_booking": true,
		"per_minute": 12.0, "daily_cap": 500.0, "confirm_by_reply": true, "send_cancellation": true} {
		require.Equal(t, want, again[k], "%s: got %v", k, again[k])
	}
	require.Equal(t, map[string]any{"from": "22:30", "to": "08:00"}, again["quiet_hours"])
	require.Equal(t, map[string]any{"confirmation": "{{.ClientName}}, ждём вас {{.When}} в «{{.SalonName}}»!"}, again["templates"])

	// Texts merge by kind; a blank one is the standard text again («Вернуть стандартный текст»).
	status, put = s.cabinetCall(token, http.MethodPut, "/cabinet/api/settings",
		map[string]any{"templates": map[string]string{"change": "Перенесли на {{.When}}"}})
	require.Equal(t, http.StatusOK, status, "%v", put)
	require.Len(t, put["templates"], 2)
	status, put = s.cabinetCall(token, http.MethodPut, "/cabinet/api/settings",
		map[string]any{"templates": map[string]string{"change": ""}})
	require.Equal(t, http.StatusOK, status, "%v", put)
	require.Equal(t, again["templates"], put["templates"])

	status, texts := s.cabinetCall(token, http.MethodGet, "/cabinet/api/texts", nil)
	require.Equal(t, http.StatusOK, status)
	titles := map[string]string{}
	for _, k := range texts["kinds"].([]any) {
		k := k.(map[string]any)
		titles[k["kind"].(string)] = k["title"].(string)
	}
	require.Equal(t, "Напоминание за 3 ч", titles["reminder_2h"], "the second reminder is titled with the salon's hours")
	require.Equal(t, "Подтверждение записи", titles["confirmation"])
}

// cabinetMessages: the owner's confirmation text, with the confirmation question (asked on
// booking), reaches the client; reminders follow the new hours; the change notice, turned
// off, is skipped with its reason; the log shows it all with the phone masked.
func cabinetMessages(t *testing.T, s *stack, salon int64, token string) {
	start, local := localIn(t, "Europe/Moscow", 3, "14:30")
	rec := s.bookRecord(salon, local)
	got := s.waitClientTexts(salon, 1)
	want, err := texts.Render(texts.Confirmation, texts.Salon{Name: s.stateOf(salon).SalonName},
		texts.Visit{ClientName: "Анна", Start: start, AskConfirm: true},
		texts.Overrides{texts.Confirmation: "{{.ClientName}}, ждём вас {{.When}} в «{{.SalonName}}»!"})
	require.NoError(t, err)
	require.Equal(t, want, got[0], "the owner's text, with the confirmation question")
	require.True(t, strings.HasSuffix(got[0], texts.ConfirmLine), "got %q", got[0])
	require.Eventually(t, func() bool { return len(s.booking(salon, rec.ID).Reminders) == 2 }, 15*time.Second, 50*time.Millisecond)
	rs := s.booking(salon, rec.ID).Reminders
	require.Equal(t, "20:00", rs[0].At.In(start.Location()).Format("15:04"), "the day-before reminder at the new hour")
	require.True(t, rs[1].At.Equal(start.Add(-3*time.Hour)), "the second reminder 3 h before: got %v", rs[1].At)

	status, _ := s.cabinetCall(token, http.MethodPut, "/cabinet/api/settings", map[string]any{"send_change": false})
	require.Equal(t, http.StatusOK, status)
	moved := start.Add(24 * time.Hour).Format("2006-01-02 15:04:05")
	_, err = s.fake.UpdateRecord(salon, rec.ID, yclientsfake.RecordChange{Datetime: &moved})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		for _, m := range s.booking(salon, rec.ID).Messages {
			if m.Kind == texts.Change && m.Reason == activities.ReasonTurnedOff {
				return true
			}
		}
		return false
	}, 15*time.Second, 50*time.Millisecond, "the change notice is skipped: turned off")
	require.Len(t, s.clientTexts(salon), 1, "no change notice went out")

	status, log := s.cabinetCall(token, http.MethodGet, "/cabinet/api/messages", nil)
	require.Equal(t, http.StatusOK, status)
	raw, _ := json.Marshal(log)
	require.NotContains(t, string(raw), clientPhone, "no whole phone in the log")
	require.NotContains(t, string(raw), "123-45", "no whole phone in the log")
	entries := log["messages"].([]any)
	byKind := map[string]map[string]any{}
	for _, e := range entries {
		e := e.(map[string]any)
		if _, seen := byKind[e["kind"].(string)]; !seen {
			byKind[e["kind"].(string)] = e
		}
	}
	conf := byKind["confirmation"]
	require.Equal(t, "sent", conf["status"], "%v", conf)
	require.Equal(t, "+7 916 •••-••-67", conf["phone"])
	require.Equal(t, "Подтверждение записи", conf["title"])
	ch := byKind["change"]
	require.Equal(t, "skipped", ch["status"], "%v", ch)
	require.Equal(t, "turned_off", ch["reason"])
	require.Equal(t, "сообщение выключено в настройках", ch["reason_text"])
	require.Equal(t, "+7 999 •••-••-22", byKind["welcome"]["phone"], "the salon's own number, masked too")
}

func cabinetSample(t *testing.T, s *stack, salon int64, token string) {
	own := func() []string {
		var out []string
		for _, m := range s.phone.Messages(salon) {
			if m.Phone == "79990001122" {
				out = append(out, m.Text)
			}
		}
		return out
	}
	before := len(own())
	status, body := s.cabinetCall(token, http.MethodPost, "/cabinet/api/sample",
		map[string]string{"kind": "reminder_day", "text": "Пример: {{.ClientName}}, {{.Day}} ждём вас в {{.Time}}."})
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "sent", body["status"], "%v", body)
	require.Contains(t, body["message"], "+7 999 000-11-22")
	require.Eventually(t, func() bool { return len(own()) == before+1 }, 10*time.Second, 20*time.Millisecond)
	got := own()[before]
	require.Equal(t, "Пример: Анна, завтра ждём вас в 14:30.\n"+texts.ConfirmLine, got,
		"an example visit (no client's data), as the day-before reminder asks")

	status, body = s.cabinetCall(token, http.MethodPost, "/cabinet/api/sample", map[string]string{"kind": "confirmation"})
	require.Equal(t, http.StatusTooManyRequests, status, "%v", body)
	require.Contains(t, body["message"], "раз в 30 секунд")
	status, body = s.cabinetCall(token, http.MethodPost, "/cabinet/api/sample", map[string]string{"kind": "welcome"})
	require.Equal(t, http.StatusBadRequest, status, "the owner's own welcome is not editable: %v", body)
	time.Sleep(300 * time.Millisecond)
	require.Len(t, own(), before+1, "one example")
	rows, err := s.app.Store.ListMessages(context.Background(), salon)
	require.NoError(t, err)
	samples := 0
	for _, r := range rows {
		if r.Kind == string(activities.KindSample) {
			samples++
			require.Equal(t, "sent", r.Status)
		}
	}
	require.Equal(t, 1, samples, "one ledger row of kind sample")
	query := fmt.Sprintf(`WorkflowType = %q AND SalonID = "%d"`, workflows.SendSampleWorkflowName, salon)
	var runs []*workflowpb.WorkflowExecutionInfo
	require.Eventually(t, func() bool {
		resp, err := s.app.Temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		runs = resp.GetExecutions()
		return err == nil && len(runs) == 1
	}, 15*time.Second, 100*time.Millisecond, "visibility lists the example's workflow")
	e := runs[0].GetExecution()
	desc, err := s.app.Temporal.DescribeWorkflowExecution(context.Background(), e.GetWorkflowId(), e.GetRunId())
	require.NoError(t, err)
	require.EqualValues(t, workflows.OwnerWaiting.PriorityKey, desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey(),
		"the owner waits for the example: it goes ahead of a backlog of clients' messages")
	if os.Getenv("AIADMIN_RECORD_HISTORY") != "" {
		recordWorkflowHistory(t, s.app.Temporal, e.GetWorkflowId(), e.GetRunId(), "send-sample-TestEndToEndCabinetAPI")
	}
}

func cabinetRelink(t *testing.T, s *stack, owner *ownerInbox, salon int64, token string) {
	status, body := s.cabinetCall(token, http.MethodPost, "/cabinet/api/relink", nil)
	require.Equal(t, http.StatusConflict, status, "nothing to re-link while linked: %v", body)

	resp, err := s.http.Post(s.cfg.PublicURL+fmt.Sprintf("/demo/whatsapp/%d/event", salon), "application/json",
		strings.NewReader(`{"state":"logged_out"}`))
	require.NoError(t, err)
	resp.Body.Close()
	s.waitSalonStatus(salon, workflows.StatusNeedsRelink)
	require.Eventually(t, func() bool { return len(owner.links()) == 1 }, 10*time.Second, 20*time.Millisecond,
		"the installation sent its own link")
	page, token := s.openCabinet(salon)
	require.True(t, strings.Contains(page, "Переподключить WhatsApp"), "the re-link button")

	status, body = s.cabinetCall(token, http.MethodPost, "/cabinet/api/relink", nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "Ссылка отправлена владельцу", body["message"])
	links := owner.links()
	require.Len(t, links, 2, "a fresh link on the owner's channel")
	require.True(t, strings.HasPrefix(links[1], s.cfg.PublicURL+"/connect/relink?token="), links[1])
	status, body = s.cabinetCall(token, http.MethodPost, "/cabinet/api/relink", nil)
	require.Equal(t, http.StatusTooManyRequests, status, "%v", body)
	require.Len(t, owner.links(), 2)

	// The link opens the re-link page (the cabinet itself never pairs).
	status, relinkPage, _ := s.page(links[1])
	require.Equal(t, http.StatusOK, status, relinkPage)
	require.True(t, strings.Contains(relinkPage, "Подключение WhatsApp"), "the re-link page")
}

// links are the re-link links the owner channel received, in order.
func (o *ownerInbox) links() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, n := range o.notices {
		if n["kind"] == "relink" {
			u, _ := n["url"].(string)
			out = append(out, u)
		}
	}
	return out
}
