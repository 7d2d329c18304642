package yclientsfake_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// verifyUserData is what our registration handler must do (reference §1.3): decode user_data
// with the URL-safe alphabet (falling back to the standard one) and compare the HMAC over the
// decoded bytes.
func verifyUserData(key, userData, sign string) ([]byte, bool) {
	raw, err := base64.URLEncoding.DecodeString(userData)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(userData); err != nil {
			return nil, false
		}
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(raw)
	want := hex.EncodeToString(mac.Sum(nil))
	return raw, hmac.Equal([]byte(want), []byte(sign))
}

func TestUserDataReferenceVector(t *testing.T) {
	const (
		key      = "test_partner_token"
		jsonText = `{"id":123,"name":"Alex Smith","phone":"79990009900","email":"owner@example.com","is_approved":true,"avatar":"","salon_name":"Test Salon"}`
		userData = "eyJpZCI6MTIzLCJuYW1lIjoiQWxleCBTbWl0aCIsInBob25lIjoiNzk5OTAwMDk5MDAiLCJlbWFpbCI6Im93bmVyQGV4YW1wbGUuY29tIiwiaXNfYXBwcm92ZWQiOnRydWUsImF2YXRhciI6IiIsInNhbG9uX25hbWUiOiJUZXN0IFNhbG9uIn0="
		sign     = "32a3c88581d1d382cc5af617aa4e75d1b07569887d79c3753837ecd56bb1f1d7"
	)
	t.Run("verify", func(t *testing.T) {
		raw, ok := verifyUserData(key, userData, sign)
		require.True(t, ok)
		require.Equal(t, jsonText, string(raw))
		_, ok = verifyUserData("other_token", userData, sign)
		require.False(t, ok)
	})
	t.Run("sign over decoded bytes, not base64", func(t *testing.T) {
		require.Equal(t, sign, yclientsfake.SignUserData(key, []byte(jsonText)))
		require.NotEqual(t, sign, yclientsfake.SignUserData(key, []byte(userData)))
	})
	t.Run("the fake encodes the same bytes", func(t *testing.T) {
		gotData, gotSign, err := yclientsfake.EncodeUserData(key, yclientsfake.UserData{
			ID: 123, Name: "Alex Smith", Phone: "79990009900", Email: "owner@example.com", IsApproved: true, SalonName: "Test Salon",
		})
		require.NoError(t, err)
		require.Equal(t, userData, gotData)
		require.Equal(t, sign, gotSign)
	})
}

func TestMarketplaceRedirect(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{RegisterURL: "http://127.0.0.1:8080/marketplace/register?src=yc"})

	a := do(t, srv, call{path: "/_fake/marketplace/redirect?salon_id=100001"})
	require.Equal(t, http.StatusFound, a.status)
	loc, err := url.Parse(a.header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:8080", loc.Host)
	require.Equal(t, "/marketplace/register", loc.Path)
	q := loc.Query()
	require.Equal(t, "yc", q.Get("src"), "RegisterURL's own query is kept")
	require.Equal(t, "100001", q.Get("salon_id"))
	require.Regexp(t, `^[A-Za-z0-9_-]+=*$`, q.Get("user_data"), "URL-safe base64 with = padding")
	require.Regexp(t, `^[0-9a-f]{64}$`, q.Get("user_data_sign"))

	raw, ok := verifyUserData(token, q.Get("user_data"), q.Get("user_data_sign"))
	require.True(t, ok, "HMAC-SHA256(partner token, decoded JSON)")
	var u map[string]any
	require.NoError(t, json.Unmarshal(raw, &u))
	require.Equal(t, map[string]any{
		"id": 9000001.0, "name": "Ирина Петрова", "phone": "79161234567", "email": "owner@barhat-salon.ru",
		"is_approved": true, "avatar": "https://assets.yclients.com/main_service_image/basic/no-avatar.png",
		"salon_name": `Салон красоты "Бархат"`,
	}, u)

	t.Run("unknown and bad salons", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, do(t, srv, call{path: "/_fake/marketplace/redirect?salon_id=7"}).status)
		require.Equal(t, http.StatusBadRequest, do(t, srv, call{path: "/_fake/marketplace/redirect?salon_id=abc"}).status)
	})
	t.Run("reconnect makes the link pending unless installed", func(t *testing.T) {
		f.SetStatus(100002, yclientsfake.StatusUninstalled)
		do(t, srv, call{path: "/_fake/marketplace/redirect?salon_id=100002"})
		require.Equal(t, yclientsfake.StatusPending, f.Status(100002))
		f.SetStatus(100002, yclientsfake.StatusActive)
		do(t, srv, call{path: "/_fake/marketplace/redirect?salon_id=100002"})
		require.Equal(t, yclientsfake.StatusActive, f.Status(100002))
	})
}

func TestActivationCallback(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{})
	const key = "2f181e2a-5c22-4ae7-9d9b-07104f312c28"
	good := map[string]any{"salon_id": 100001, "application_id": appID, "api_key": key, "webhook_urls": []string{"https://example.com/webhook"}}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	const path = "/marketplace/partner/callback/redirect"
	rejections := []struct {
		name   string
		body   any
		auth   string
		status int
		msg    string
	}{
		{"no token", good, "-", 401, "Необходима авторизация"},
		{"wrong token", good, "Bearer nope", 401, "Необходима авторизация"},
		{"not JSON", "salon_id=100001", "", 422, "Переданы невалидные параметры"},
		{"other application", with("application_id", 1), "", 403, "Нет доступа к приложению"},
		{"no application", with("application_id", nil), "", 422, "Переданы невалидные параметры"},
		{"unknown salon", with("salon_id", 4040), "", 404, "Приложение не установлено в салоне"},
		{"webhook_urls object", with("webhook_urls", map[string]any{}), "", 422, "Переданы невалидные параметры"},
		{"webhook_urls not strings", with("webhook_urls", []any{"https://a", 1}), "", 422, "Переданы невалидные параметры"},
		{"webhook_urls missing", with("webhook_urls", nil), "", 422, "Переданы невалидные параметры"},
		{"api_key missing", with("api_key", nil), "", 422, "Переданы невалидные параметры"},
	}
	for _, c := range rejections {
		t.Run(c.name, func(t *testing.T) {
			headers := map[string]string{}
			if c.auth == "-" {
				headers["Authorization"] = ""
			} else if c.auth != "" {
				headers["Authorization"] = c.auth
			}
			a := do(t, srv, call{method: http.MethodPost, path: path, body: c.body, api: true, headers: headers})
			require.Equal(t, c.status, a.status, a.raw)
			require.Equal(t, c.msg, a.metaMessage())
			require.Equal(t, yclientsfake.StatusPending, f.Status(100001))
		})
	}

	t.Run("pending becomes active with 301", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPost, path: path, body: good, api: true})
		require.Equal(t, http.StatusMovedPermanently, a.status)
		require.Equal(t, srv.URL+"/_fake/marketplace/done?salon_id=100001", a.header.Get("Location"))
		require.Equal(t, yclientsfake.StatusActive, f.Status(100001))
		done := do(t, srv, call{path: "/_fake/marketplace/done?salon_id=100001"})
		require.Equal(t, http.StatusOK, done.status)
		require.Contains(t, done.raw, "Интеграция подключена")
	})
	t.Run("again is 403 already installed", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPost, path: path, body: good, api: true})
		require.Equal(t, http.StatusForbidden, a.status)
		require.JSONEq(t, `{"success":false,"data":null,"meta":{"message":"Пользователь уже установил это приложение"}}`, a.raw)
	})
	t.Run("server-to-server callback answers 201", func(t *testing.T) {
		a := do(t, srv, call{method: http.MethodPost, path: "/marketplace/partner/callback", body: with("salon_id", 100003), api: true})
		require.Equal(t, http.StatusCreated, a.status, a.raw)
		require.Equal(t, yclientsfake.StatusActive, f.Status(100003))
	})

	cbs := f.Callbacks()
	require.Len(t, cbs, len(rejections)+3, "rejected callbacks are recorded too")
	require.Equal(t, http.StatusUnauthorized, cbs[0].StatusCode)
	require.Equal(t, key, cbs[0].APIKey, "Go callers see the full key")

	t.Run("control API masks api_key", func(t *testing.T) {
		a := do(t, srv, call{path: "/_fake/callbacks"})
		require.Equal(t, http.StatusOK, a.status)
		require.NotContains(t, a.raw, key)
		require.Len(t, a.list, len(cbs))
		first := a.list[0].(map[string]any)
		require.Equal(t, "***2c28", first["api_key"])
		require.Equal(t, "***2c28", first["body"].(map[string]any)["api_key"])
		require.Equal(t, []any{"https://example.com/webhook"}, first["webhook_urls"])
		require.Equal(t, 401.0, first["status_code"])
	})
}

func TestPendingTTL(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	f, srv := start(t, yclientsfake.Options{Now: clock, PendingTTL: 10 * time.Minute, RegisterURL: "http://127.0.0.1:8080/r"})
	body := func(salon int64) map[string]any {
		return map[string]any{"salon_id": salon, "application_id": appID, "api_key": "k-123456", "webhook_urls": []string{}}
	}
	advance(9 * time.Minute)
	require.Equal(t, http.StatusMovedPermanently, do(t, srv, call{method: http.MethodPost, path: "/marketplace/partner/callback/redirect", body: body(100001), api: true}).status)
	advance(2 * time.Minute)
	a := do(t, srv, call{method: http.MethodPost, path: "/marketplace/partner/callback/redirect", body: body(100002), api: true})
	require.Equal(t, http.StatusUnprocessableEntity, a.status)
	require.Contains(t, a.raw, "истёк срок подключения")
	do(t, srv, call{path: "/_fake/marketplace/redirect?salon_id=100002"})
	require.Equal(t, http.StatusMovedPermanently, do(t, srv, call{method: http.MethodPost, path: "/marketplace/partner/callback/redirect", body: body(100002), api: true}).status)
	require.Equal(t, yclientsfake.StatusActive, f.Status(100002))
}

func TestIntegrationStatusShape(t *testing.T) {
	f, srv := start(t, yclientsfake.Options{})
	f.SetStatus(100001, yclientsfake.StatusActive)
	f.SetStatus(100001, yclientsfake.StatusFreezed)
	a := do(t, srv, call{path: "/marketplace/salon/100001/application/18289", api: true})
	data := a.dataObject(t)
	conn, ok := data["connection_status"].(map[string]any)
	require.True(t, ok, "connection_status is an object")
	require.Equal(t, "freezed", conn["status"])
	naive := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	require.Regexp(t, naive, conn["created_at"])
	require.Equal(t, []any{}, data["payments"])
	logs := data["logs"].([]any)
	require.Len(t, logs, 3)
	last := logs[2].(map[string]any)
	require.Equal(t, "active", last["status_from"])
	require.Equal(t, "freezed", last["status_to"])
	require.Equal(t, "marketplace", last["source"])
	require.Regexp(t, naive, last["changed_at"])

	require.Equal(t, http.StatusForbidden, do(t, srv, call{path: "/marketplace/salon/100001/application/1", api: true}).status)
	require.Equal(t, http.StatusNotFound, do(t, srv, call{path: "/marketplace/salon/4/application/18289", api: true}).status)
}

func TestRequestLogHasNoQueries(t *testing.T) {
	_, srv := start(t, yclientsfake.Options{})
	do(t, srv, call{path: "/api/v1/company/100001?secret=s3cr3t-value", api: true})
	a := do(t, srv, call{path: "/_fake/requests"})
	require.NotContains(t, a.raw, "s3cr3t-value")
	require.NotContains(t, a.raw, token)
	require.Len(t, a.list, 1)
	entry := a.list[0].(map[string]any)
	require.Equal(t, "GET", entry["method"])
	require.Equal(t, "/api/v1/company/100001", entry["path"])
	require.Equal(t, 200.0, entry["status"])
	require.True(t, strings.HasPrefix(entry["at"].(string), "20"))
}
