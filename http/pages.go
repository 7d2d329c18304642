package httpapi

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

//go:embed templates/*.html
var templateFS embed.FS

// yclientsURL is where the owner goes back to when YClients gave us no redirect.
const yclientsURL = "https://yclients.com"

// frameAncestors lets YClients show our pages in its iframe (app card settings) and nobody else.
const frameAncestors = "frame-ancestors 'self' https://yclients.com https://*.yclients.com"

// pages renders the HTML pages a salon owner sees.
type pages struct {
	connect    *template.Template
	errPage    *template.Template
	supportURL string // Config.SupportURL; empty: the pages point to the marketplace card
	// patience is how long the connect page waits for a code it asked for before it asks
	// again (Config.CodePatience, else DefaultCodePatience).
	patience time.Duration
}

func mustPages(supportURL string) *pages {
	return &pages{
		connect:    template.Must(template.ParseFS(templateFS, "templates/connect.html")),
		errPage:    template.Must(template.ParseFS(templateFS, "templates/error.html")),
		supportURL: supportURL,
	}
}

// connectData fills the connect page.
type connectData struct {
	SalonID   int64
	SalonName string
	// SalonPhone is the salon's phone from YClients, as written there; the page suggests it for
	// a pairing code when it is a valid number.
	SalonPhone string
	Token      string // session token for the websocket
	Status     string // the installation status when the page was made
	Message    string // its Russian text, shown until the websocket says more
	WSPath     string
	BackURL    string
	SupportURL string
	Nonce      string
	Patience   int // seconds the page waits for a code it asked for before it asks again (0: its default)
}

// errorData fills the error page.
type errorData struct {
	pageText
	Status     int
	Retry      bool   // a reload may help: the page offers «Обновить»
	RequestID  string // the reference ID, also on the request's log lines
	Refresh    int    // the queue page: seconds until it opens itself again (no actions)
	Wait       string // the queue page: when the salon's turn comes
	BackURL    string
	SupportURL string
	Nonce      string
}

// newNonce returns a fresh CSP nonce.
func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)                            // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b) // no characters that HTML would escape
}

// pageCSP allows only our own inline code (by nonce), data: images (the QR code), the websocket
// back to the page's host, and framing by YClients.
func pageCSP(c *gin.Context, nonce string, websocket bool) string {
	csp := "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce + "'; " +
		"img-src data:; base-uri 'none'; form-action 'none'; "
	if websocket {
		// 'self' covers ws: and wss: only in newer browsers, so the page's host is named too.
		host := c.Request.Host
		csp += "connect-src 'self' ws://" + host + " wss://" + host + "; "
	}
	return csp + frameAncestors
}

func (p *pages) renderConnect(c *gin.Context, d connectData) {
	d.Nonce = newNonce()
	d.WSPath = "/ws/connect"
	if d.SalonName != "" {
		d.SalonName = "«" + texts.SalonName(d.SalonName) + "»"
	}
	if d.BackURL == "" {
		d.BackURL = yclientsURL
	}
	d.SalonPhone = prefillPhone(d.SalonPhone)
	d.SupportURL = p.supportURL
	d.Patience = int(p.patience.Round(time.Second) / time.Second)
	var buf bytes.Buffer
	if err := p.connect.Execute(&buf, d); err != nil {
		abort(c, err)
		return
	}
	c.Header("Content-Security-Policy", pageCSP(c, d.Nonce, true))
	c.Header("Cache-Control", "no-store") // the page carries a session token
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// renderQueued shows the page of a salon waiting its turn for YClients (202: the request is
// taken and goes on): the error page's card with no error in it, which opens itself again
// after wait.
func (p *pages) renderQueued(c *gin.Context, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	p.renderComingBack(c, secs, pageText{Title: "Салон в очереди на подключение",
		Message: "Сейчас AI Admin подключают много салонов сразу, а YClients отвечает нам лишь на несколько запросов в секунду.",
		Hint: "Страница обновится сама, ничего нажимать не нужно. Не закрывайте её: когда очередь дойдёт до вашего салона, " +
			"здесь откроется привязка WhatsApp."},
		"Очередь вашего салона подойдёт "+waitText(secs)+".")
}

// renderRegistering shows the page of a salon whose registration Temporal has not finished
// in time (202: it goes on): like the queue page, it opens itself again after wait.
func (p *pages) renderRegistering(c *gin.Context, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	p.renderComingBack(c, secs, pageText{Title: "Регистрируем салон",
		Message: "AI Admin регистрирует ваш салон. Сейчас это занимает больше времени, чем обычно.",
		Hint: "Страница обновится сама, ничего нажимать не нужно. Не закрывайте её: когда регистрация закончится, " +
			"здесь откроется привязка WhatsApp."},
		"Проверим снова через "+strconv.Itoa(secs)+" "+texts.Plural(secs, "секунду", "секунды", "секунд")+".")
}

// renderComingBack renders the error page's card with no error in it, answering 202, which
// opens itself again after secs (Retry-After and a meta refresh).
func (p *pages) renderComingBack(c *gin.Context, secs int, text pageText, wait string) {
	c.Header("Retry-After", strconv.Itoa(secs))
	p.renderCard(c, errorData{pageText: text, Status: http.StatusAccepted, Refresh: secs, Wait: wait, Nonce: newNonce()})
}

// waitText is a wait of secs seconds as the queue page says it: «меньше чем через минуту»,
// «примерно через 3 минуты».
func waitText(secs int) string {
	if secs < 60 {
		return "меньше чем через минуту"
	}
	m := (secs + 59) / 60
	return "примерно через " + strconv.Itoa(m) + " " + texts.Plural(m, "минуту", "минуты", "минут")
}

// prefillPhone is the salon's phone as the page shows it in the pairing code form ("+7 495
// 123-45-67"), or "" when it is not a number WhatsApp could have.
func prefillPhone(raw string) string {
	if raw == "" {
		return ""
	}
	p, err := whatsapp.DisplayPhone(raw)
	if err != nil {
		return ""
	}
	return p
}

// renderError shows the Russian error page. It is used for every HTML error (renderErrors).
func (p *pages) renderError(c *gin.Context, status int, text pageText) {
	d := errorData{pageText: text, Status: status, BackURL: yclientsURL, Nonce: newNonce(),
		Retry:     status >= http.StatusInternalServerError || status == http.StatusConflict,
		RequestID: c.GetString(ctxRequestID), SupportURL: p.supportURL}
	p.renderCard(c, d)
}

// renderCard renders the error page's card with d, answering d.Status.
func (p *pages) renderCard(c *gin.Context, d errorData) {
	var buf bytes.Buffer
	if err := p.errPage.Execute(&buf, d); err != nil {
		c.String(d.Status, "%s\n%s\n%s\nКод обращения: %s\n", d.Title, d.Message, d.Hint, d.RequestID)
		return
	}
	c.Header("Content-Security-Policy", pageCSP(c, d.Nonce, false))
	c.Header("Cache-Control", "no-store")
	c.Data(d.Status, "text/html; charset=utf-8", buf.Bytes())
}
