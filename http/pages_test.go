package httpapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

// connectPageServer serves the connect page as the register handler renders it (the real
// register path needs a running installation workflow, tested end to end elsewhere).
func connectPageServer(t *testing.T, d connectData) *httptest.Server {
	t.Helper()
	return connectPageServerWith(t, d, "")
}

func connectPageServerWith(t *testing.T, d connectData, supportURL string) *httptest.Server {
	t.Helper()
	pg := mustPages(supportURL)
	e := gin.New()
	e.Use(requestID, renderErrors(quietLogger(), pg), securityHeaders)
	e.GET("/connect", htmlErrors, func(c *gin.Context) { pg.renderConnect(c, d) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

var urlPattern = regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*`)

func TestConnectPage(t *testing.T) {
	srv := connectPageServer(t, connectData{
		SalonID:    42,
		SalonName:  `Лейла <script>alert(1)</script>`,
		SalonPhone: "8 (495) 123-45-67",
		Token:      "tok.en.value",
		Status:     "pending_whatsapp",
		Message:    "Подключите WhatsApp салона: это займёт минуту.",
	})
	status, h, body := get(t, srv.URL+"/connect", nil)
	require.Equal(t, http.StatusOK, status, "status: got %d want 200", status)
	require.Contains(t, h.Get("Content-Type"), "text/html", "content type: got %q", h.Get("Content-Type"))

	csp := h.Get("Content-Security-Policy")
	require.Contains(t, csp, "frame-ancestors 'self' https://yclients.com https://*.yclients.com", "CSP: got %q", csp)
	require.Empty(t, h.Get("X-Frame-Options"), "X-Frame-Options: got %q want none", h.Get("X-Frame-Options"))
	require.Equal(t, "no-store", h.Get("Cache-Control"), "Cache-Control: got %q want no-store", h.Get("Cache-Control"))

	// Only our own inline code runs: every script and style carries the CSP nonce.
	m := regexp.MustCompile(`'nonce-([^']+)'`).FindStringSubmatch(csp)
	require.Len(t, m, 2, "CSP: got %q, want a nonce", csp)
	for _, tag := range regexp.MustCompile(`<(script|style)[^>]*>`).FindAllString(body, -1) {
		require.Contains(t, tag, `nonce="`+m[1]+`"`, "tag %s: got no nonce, want %s", tag, m[1])
		require.NotContains(t, tag, "src=", "tag %s: got an external source, want inline code", tag)
	}
	require.NotRegexp(t, `<link[^>]*(stylesheet|preload|font)`, body, "got an external stylesheet or font link")
	require.NotContains(t, body, "@import", "got a CSS import")
	require.NotContains(t, body, "url(", "got a CSS url(), want none (fonts, images)")

	// The only absolute URL on the page is the link back to YClients.
	for _, u := range urlPattern.FindAllString(body, -1) {
		require.Equal(t, "https://yclients.com", u, "absolute URL on the page: got %q want only https://yclients.com", u)
	}

	// Russian texts the owner relies on.
	for _, want := range []string{`lang="ru"`, "Подключение WhatsApp", "Показать новый код", "Получить код",
		"Привязать по номеру телефона", "Связанные устройства", "Привязка устройства", "WhatsApp подключён",
		"Вернуться в YClients", `name="viewport"`, `data-token="tok.en.value"`, "WhatsApp Business", ">Обновить</button>",
		`value="&#43;7 495 123-45-67"`, "карточке приложения", "prefers-reduced-motion: reduce"} {
		require.Contains(t, body, want, "page: got no %q", want)
	}
	require.NotContains(t, body, "<script>alert(1)</script>", "salon name: got it unescaped")
	require.Contains(t, body, "Лейла &lt;script&gt;", "salon name: got it missing or wrongly escaped")
}

func TestErrorPage(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t)})
	status, h, body := get(t, srv.URL+"/marketplace/register", nil)
	require.Equal(t, http.StatusBadRequest, status, "status: got %d want 400", status)
	require.Contains(t, h.Get("Content-Security-Policy"), frameAncestors, "CSP: got %q", h.Get("Content-Security-Policy"))
	require.NotContains(t, body, "<script", "error page: got a script, want none")
	id := h.Get(RequestIDHeader)
	require.Regexp(t, `^[A-Z2-7]{10}$`, id, "X-Request-Id: got %q want 10 base32 characters", id)
	for _, want := range []string{`lang="ru"`, "Неверная ссылка", "маркетплейса YClients",
		`Код обращения: <b id="request-id">` + id + `</b>`, "карточке приложения"} {
		require.Contains(t, body, want, "page: got no %q", want)
	}
	require.NotContains(t, body, "Обновить", "a bad link: got «Обновить», want none (reloading cannot help)")
	for _, u := range urlPattern.FindAllString(body, -1) {
		require.True(t, strings.HasPrefix(u, "https://yclients.com"), "absolute URL: got %q want only YClients", u)
	}
}

// With SUPPORT_URL the error page links to support; an error that a reload may cure (Temporal
// unreachable: 503) offers «Обновить».
func TestErrorPageSupportAndRetry(t *testing.T) {
	cfg := testConfig()
	cfg.SupportURL = "https://t.me/aiadmin_support"
	cfg.RequireSignedUserData = false
	srv := startServer(t, cfg, Deps{Temporal: closedTemporal(t)})
	status, h, body := get(t, srv.URL+"/marketplace/register?salon_id=42", nil)
	require.Equal(t, http.StatusServiceUnavailable, status, "status: got %d want 503; body %s", status, body)
	for _, want := range []string{"Сервис временно недоступен", `<a id="reload" class="btn" href="">Обновить</a>`,
		`<a id="support" href="https://t.me/aiadmin_support" target="_blank" rel="noopener">напишите в поддержку AI Admin</a>`,
		`Код обращения: <b id="request-id">` + h.Get(RequestIDHeader) + `</b>`} {
		require.Contains(t, body, want, "page: got no %q", want)
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t)})
	status, h, body := get(t, srv.URL+"/nope?token=secret", nil)
	require.Equal(t, http.StatusNotFound, status, "status: got %d want 404", status)
	requireJSONError(t, h, body, "not found")
}

// The phone is suggested only when it is a number WhatsApp could have.
func TestConnectPagePhonePrefill(t *testing.T) {
	for raw, want := range map[string]string{
		"+7 495 123-45-67": `value="&#43;7 495 123-45-67"`,
		"79990001122":      `value="&#43;7 999 000-11-22"`,
		"":                 `value=""`,
		"12-34":            `value=""`,
		"звонить Ирине":    `value=""`,
	} {
		srv := connectPageServer(t, connectData{SalonID: 42, SalonPhone: raw, Token: "t", Status: "pending_whatsapp"})
		status, _, body := get(t, srv.URL+"/connect", nil)
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, body, want, "phone %q: got no %s", raw, want)
		require.Equal(t, want != `value=""`, strings.Contains(body, `id="phone-hint"`), "phone %q: the hint goes with a suggestion", raw)
	}
}
