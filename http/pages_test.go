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
	pg := mustPages()
	e := gin.New()
	e.Use(renderErrors(quietLogger(), pg), securityHeaders)
	e.GET("/connect", htmlErrors, func(c *gin.Context) { pg.renderConnect(c, d) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

var urlPattern = regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*`)

func TestConnectPage(t *testing.T) {
	srv := connectPageServer(t, connectData{
		SalonID:   42,
		SalonName: `Лейла <script>alert(1)</script>`,
		Token:     "tok.en.value",
		Status:    "pending_whatsapp",
		Message:   "Подключите WhatsApp салона: это займёт минуту.",
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
		"Вернуться в YClients", `name="viewport"`, `data-token="tok.en.value"`} {
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
	for _, want := range []string{`lang="ru"`, "Неверная ссылка", "маркетплейса YClients", "Код ошибки: 400"} {
		require.Contains(t, body, want, "page: got no %q", want)
	}
	for _, u := range urlPattern.FindAllString(body, -1) {
		require.True(t, strings.HasPrefix(u, "https://yclients.com"), "absolute URL: got %q want only YClients", u)
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t)})
	status, _, body := get(t, srv.URL+"/nope?token=secret", nil)
	require.Equal(t, http.StatusNotFound, status, "status: got %d want 404", status)
	require.JSONEq(t, `{"error":"not found"}`, body, "body: got %s", body)
}
