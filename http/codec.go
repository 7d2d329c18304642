package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/converter"
)

// The payload codec endpoint lets the Temporal Web UI (and the temporal CLI's --codec-endpoint)
// show the clients' data that the workflows' payloads carry encrypted: POST /codec/decode and
// /codec/encode are the SDK's remote codec handler on our codec. Operators only: the admin
// token as a bearer token (CLI, proxies), or the cookie that signing in at /codec/login with
// it sets, which the Web UI sends when its codec settings include credentials. Browsers may
// call it from TEMPORAL_UI_ORIGIN only (CORS).
const (
	codecCookie    = "aiadmin_codec"
	codecCookieTTL = 12 * time.Hour
	codecMaxBody   = 4 << 20
	// codecAllowHeaders are what the Web UI sends: the bearer token (passAccessToken), its
	// extras, the JSON content type and the namespace.
	codecAllowHeaders = "Authorization, Authorization-Extras, Content-Type, X-Namespace"
)

// codecHandler serves the codec endpoint and its sign-in page.
type codecHandler struct {
	handler    http.Handler // converter.NewPayloadCodecHTTPHandler
	adminToken string
	uiOrigin   string // the Web UI allowed by CORS; "" for none
	cookieKey  []byte // signs the sign-in cookie; derived from the session secret and the admin token
	secure     bool   // PUBLIC_URL is https: the cookie is Secure and SameSite=None
	now        func() time.Time
}

func newCodecHandler(cfg Config, codec converter.PayloadCodec) *codecHandler {
	mac := hmac.New(sha256.New, cfg.SessionSecret)
	mac.Write([]byte("aiadmin codec v1\x00" + cfg.AdminToken)) // a new admin token signs everyone out
	return &codecHandler{
		handler: converter.NewPayloadCodecHTTPHandler(codec), adminToken: cfg.AdminToken,
		uiOrigin: cfg.TemporalUIOrigin, cookieKey: mac.Sum(nil),
		secure: strings.HasPrefix(cfg.PublicURL, "https://"), now: time.Now,
	}
}

// routes registers the endpoint; limit throttles sign-in attempts per client IP.
func (h *codecHandler) routes(e *gin.Engine, limit gin.HandlerFunc) {
	for _, path := range []string{"/codec/decode", "/codec/encode"} {
		e.OPTIONS(path, h.preflight)
		e.POST(path, noStore, h.cors, h.auth, h.serve)
	}
	e.GET("/codec/login", noStore, h.loginPage)
	e.POST("/codec/login", noStore, limit, h.login)
}

// allowedOrigin reports whether a browser request's Origin may call the endpoint: none (not a
// browser, or same-origin navigation) or the Web UI's.
func (h *codecHandler) allowedOrigin(origin string) bool {
	return origin == "" || h.uiOrigin != "" && origin == h.uiOrigin
}

// preflight answers the browser's CORS preflight, which carries no credentials.
func (h *codecHandler) preflight(c *gin.Context) {
	origin := c.GetHeader("Origin")
	c.Header("Vary", "Origin")
	if origin == "" || !h.allowedOrigin(origin) {
		abort(c, fail(kindForbidden, "origin not allowed"))
		return
	}
	hdr := c.Writer.Header()
	hdr.Set("Access-Control-Allow-Origin", origin)
	hdr.Set("Access-Control-Allow-Credentials", "true")
	hdr.Set("Access-Control-Allow-Methods", "POST")
	hdr.Set("Access-Control-Allow-Headers", codecAllowHeaders)
	hdr.Set("Access-Control-Max-Age", "600")
	c.Status(http.StatusNoContent)
}

// cors refuses other origins and lets the Web UI read the answers, errors included.
func (h *codecHandler) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	c.Header("Vary", "Origin")
	if !h.allowedOrigin(origin) {
		abort(c, fail(kindForbidden, "origin not allowed"))
		return
	}
	if origin != "" {
		c.Header("Access-Control-Allow-Origin", origin)
		c.Header("Access-Control-Allow-Credentials", "true")
	}
	c.Next()
}

// auth admits the admin token as a bearer token, or a valid sign-in cookie.
func (h *codecHandler) auth(c *gin.Context) {
	if got, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok && h.tokenOK(strings.TrimSpace(got)) {
		c.Next()
		return
	}
	if v, err := c.Cookie(codecCookie); err == nil && h.cookieOK(v) {
		c.Next()
		return
	}
	c.Header("WWW-Authenticate", `Bearer realm="aiadmin"`)
	abort(c, fail(kindUnauthorized, "unauthorized: the admin token as a bearer token, or sign in at /codec/login"))
}

func (h *codecHandler) tokenOK(got string) bool {
	return h.adminToken != "" && subtle.ConstantTimeCompare([]byte(got), []byte(h.adminToken)) == 1
}

func (h *codecHandler) serve(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, codecMaxBody)
	h.handler.ServeHTTP(c.Writer, c.Request)
}

// cookieValue is "<expiry unix>.<hex HMAC of it>".
func (h *codecHandler) cookieValue(exp time.Time) string {
	s := strconv.FormatInt(exp.Unix(), 10)
	mac := hmac.New(sha256.New, h.cookieKey)
	mac.Write([]byte(s))
	return s + "." + hex.EncodeToString(mac.Sum(nil))
}

func (h *codecHandler) cookieOK(v string) bool {
	s, _, ok := strings.Cut(v, ".")
	exp, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || h.adminToken == "" || h.now().Unix() >= exp {
		return false
	}
	return hmac.Equal([]byte(v), []byte(h.cookieValue(time.Unix(exp, 0))))
}

// login checks the admin token posted by the sign-in form and sets the cookie.
func (h *codecHandler) login(c *gin.Context) {
	if !h.tokenOK(strings.TrimSpace(c.PostForm("token"))) {
		h.renderLogin(c, http.StatusUnauthorized, "Токен не подошёл. Нужен ADMIN_TOKEN этого сервиса.")
		return
	}
	exp := h.now().Add(codecCookieTTL)
	cookie := &http.Cookie{Name: codecCookie, Value: h.cookieValue(exp), Path: "/codec", Expires: exp,
		MaxAge: int(codecCookieTTL.Seconds()), HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode}
	if h.secure {
		cookie.SameSite = http.SameSiteNoneMode // the Web UI is on another site: its fetch must carry it
	}
	http.SetCookie(c.Writer, cookie)
	if h.uiOrigin != "" {
		c.Redirect(http.StatusSeeOther, h.uiOrigin+"/")
		return
	}
	h.renderLogin(c, http.StatusOK, "Готово: расшифровка работает 12 часов в этом браузере.")
}

func (h *codecHandler) loginPage(c *gin.Context) { h.renderLogin(c, http.StatusOK, "") }

var codecLoginPage = template.Must(template.New("codec-login").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>AI Admin: данные в Temporal Web UI</title>
<style nonce="{{.Nonce}}">body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
input,button{font:inherit;padding:.5rem .75rem}input{width:100%;box-sizing:border-box;margin:.5rem 0 1rem}
button{background:#1d4ed8;color:#fff;border:0;border-radius:.375rem}p.note{background:#f1f5f9;padding:.75rem}</style></head>
<body><h1>Расшифровка данных клиентов в Temporal Web UI</h1>
<p>Имена и телефоны клиентов хранятся в Temporal зашифрованными. Войдите с токеном администратора, и Web UI{{if .UI}} ({{.UI}}){{end}} покажет их в этом браузере.</p>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
<form method="post" action="/codec/login"><label>Токен администратора (ADMIN_TOKEN)
<input type="password" name="token" autocomplete="off" required autofocus></label>
<button type="submit">Войти</button></form></body></html>`))

func (h *codecHandler) renderLogin(c *gin.Context, status int, note string) {
	nonce := newNonce()
	var buf bytes.Buffer
	if err := codecLoginPage.Execute(&buf, struct{ Nonce, UI, Note string }{nonce, h.uiOrigin, note}); err != nil {
		abort(c, err)
		return
	}
	// form-action covers the redirect to the Web UI after signing in.
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; form-action 'self' "+
		h.uiOrigin+"; base-uri 'none'; frame-ancestors 'none'")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
