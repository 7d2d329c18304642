package httpapi

import (
	"bytes"
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities/salontime"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/workflows"
)

// The salon owner's cabinet: when an installation works (active, frozen, or waiting for a
// re-link), the marketplace redirect opens it instead of the connect page. It shows the
// installation's state and edits the salon's settings and texts through /cabinet/api/…, each
// call authorised by the page's session token (Authorization: Bearer …).

// cabinetStatus reports whether the marketplace redirect opens the cabinet for the status;
// the pairing and transitional statuses keep the connect page.
func cabinetStatus(s workflows.Status) bool {
	return s == workflows.StatusActive || s == workflows.StatusFrozen || s == workflows.StatusNeedsRelink
}

// workflowStarter is the part of the Temporal client that starts the send-sample workflow.
type workflowStarter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Per-salon limits of the cabinet's actions, in this process.
const (
	sampleEvery = 30 * time.Second // «Отправить пример себе»
	relinkEvery = time.Minute      // «Переподключить WhatsApp»
)

// cabinetHandler serves the cabinet page and its API.
type cabinetHandler struct {
	cfg      Config
	store    CabinetStore
	bookings *nextBookings
	owner    OwnerChannel // nil: re-link links are not sent from the cabinet
	starter  workflowStarter
	states   *hub // the installation's state, read as the connect page's websocket reads it
	sessions sessions
	page     *template.Template
	samples  *salonLimiter
	relinks  *salonLimiter
	log      *slog.Logger
	now      func() time.Time
}

func newCabinet(cfg Config, deps Deps, states *hub, sess sessions, log *slog.Logger) *cabinetHandler {
	return &cabinetHandler{cfg: cfg, store: deps.Cabinet, bookings: newNextBookings(deps.Bookings), owner: deps.Owner,
		starter: deps.Temporal, states: states, sessions: sess,
		page:    template.Must(template.ParseFS(templateFS, "templates/cabinet.html", "templates/cabinet_script.html")),
		samples: newSalonLimiter(sampleEvery), relinks: newSalonLimiter(relinkEvery), log: log, now: time.Now}
}

// routes adds the cabinet's API.
func (h *cabinetHandler) routes(e *gin.Engine) {
	api := e.Group("/cabinet/api", noStore, h.auth)
	api.GET("/settings", h.getSettings)
	api.PUT("/settings", h.putSettings)
	api.GET("/texts", h.texts)
	api.POST("/preview", h.preview)
	api.POST("/sample", h.sample)
	api.POST("/relink", h.relink)
	api.GET("/messages", h.messages)
}

// ctxCabinet is the gin context's key of the request's cabinetSession.
const ctxCabinet = "httpapi.cabinet"

// cabinetSession is who a cabinet API request is for: the token's claims and the
// installation's state when it was checked.
type cabinetSession struct {
	claims sessionClaims
	st     workflows.State
}

func sessionOf(c *gin.Context) cabinetSession {
	s, _ := c.Get(ctxCabinet)
	return s.(cabinetSession)
}

// auth admits a request carrying a valid session token (the connect page's audience) of the
// salon's current installation: a token issued before an uninstall and a reinstall, or for
// another salon than a salon_id the request names, is refused.
func (h *cabinetHandler) auth(c *gin.Context) {
	raw, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	claims, err := h.sessions.verify(strings.TrimSpace(raw))
	if err != nil {
		h.unauthorized(c, fail(kindUnauthorized, "invalid or expired session token").because(err))
		return
	}
	if q, ok := c.GetQuery("salon_id"); ok {
		if id, err := parseSalonID(q); err != nil || id != claims.SalonID {
			h.unauthorized(c, fail(kindUnauthorized, "session token is for another salon"))
			return
		}
	}
	u := h.states.current(c.Request.Context(), claims.SalonID)
	switch {
	case workflowNotFound(u.err):
		h.unauthorized(c, fail(kindUnauthorized, "no installation for this session"))
		return
	case u.err != nil:
		abort(c, classify(u.err).saying(textNoServer))
		return
	case u.st.InstallID != claims.Install:
		h.unauthorized(c, fail(kindUnauthorized, "session token of another installation"))
		return
	}
	c.Set(ctxCabinet, cabinetSession{claims: claims, st: u.st})
	c.Next()
}

// textSessionOver is what the page shows when its token is refused.
const textSessionOver = "Сессия истекла. Откройте AI Admin из YClients ещё раз или нажмите «Обновить»."

func (h *cabinetHandler) unauthorized(c *gin.Context, err *apiError) {
	c.Header("WWW-Authenticate", `Bearer realm="aiadmin"`)
	abort(c, err.saying(textSessionOver))
}

// cabinetData fills the cabinet page.
type cabinetData struct {
	Nonce      string
	Token      string
	SalonID    int64
	SalonName  string
	Status     string
	StatusText string
	Warn       bool   // the status needs the owner's attention
	Phone      string // the linked number, «+7 999 000-11-22»
	LinkText   string
	Relink     bool // the phone unlinked WhatsApp: offer «Переподключить WhatsApp»
	LastSync   string
	SyncError  bool
	LastSent   string
	SentToday  int64
	DailyCap   int
	PerMinute  int
	Quiet      string
	BackURL    string
	SupportURL string
}

// show renders the cabinet for an installation the marketplace redirect reached.
func (h *cabinetHandler) show(c *gin.Context, st workflows.State, token, supportURL string) {
	d := h.overview(c.Request.Context(), st)
	d.Nonce, d.Token, d.BackURL, d.SupportURL = newNonce(), token, yclientsURL, supportURL
	if st.RedirectURL != "" {
		d.BackURL = st.RedirectURL
	}
	var buf bytes.Buffer
	if err := h.page.Execute(&buf, d); err != nil {
		abort(c, err)
		return
	}
	c.Header("Content-Security-Policy", cabinetCSP(d.Nonce))
	c.Header("Cache-Control", "no-store") // the page carries a session token
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// cabinetCSP is pageCSP for a page that calls our API with fetch: only our own inline code,
// no CDN, API calls back to this origin, framing by YClients.
func cabinetCSP(nonce string) string {
	return "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce + "'; " +
		"img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; " + frameAncestors
}

// overview is the page's first screen: the WhatsApp link, the last sync, the last message
// and today's budget. What cannot be read now is left out rather than failing the page.
func (h *cabinetHandler) overview(ctx context.Context, st workflows.State) cabinetData {
	d := cabinetData{SalonID: st.SalonID, Status: string(st.Status), SalonName: st.SalonName}
	d.StatusText, d.LinkText, d.Warn = cabinetStatusText(st)
	d.Relink = st.Status == workflows.StatusNeedsRelink
	if p, err := whatsapp.DisplayPhone(st.WhatsApp.Phone); err == nil {
		d.Phone = p
	}
	profile, set, err := h.store.Settings(ctx, st.SalonID)
	if err != nil {
		h.log.Warn("cabinet: settings unreadable", slog.Int64("salonID", st.SalonID), slog.String("error", err.Error()))
	}
	if d.SalonName == "" {
		d.SalonName = profile.Title
	}
	if d.SalonName != "" {
		d.SalonName = "«" + texts.SalonName(d.SalonName) + "»"
	}
	loc, _ := salontime.Location(firstNonEmpty(profile.Timezone, st.Timezone))
	now := h.now()
	if !st.LastSync.At.IsZero() {
		d.LastSync = humanTime(st.LastSync.At, now, loc)
		d.SyncError = st.LastSync.Error != ""
	}
	d.DailyCap, d.PerMinute = set.DailyCap, set.PerMinute
	d.Quiet = set.QuietHours.From + "–" + set.QuietHours.To
	if a, err := h.store.Activity(ctx, st.SalonID, salontime.DayStart(now, loc)); err == nil {
		d.SentToday = a.SentToday
		if a.LastMessageAt != nil {
			d.LastSent = humanTime(*a.LastMessageAt, now, loc)
		}
	}
	return d
}

// cabinetStatusText says how the installation is, what its WhatsApp link is, and whether the
// owner should act.
func cabinetStatusText(st workflows.State) (status, link string, warn bool) {
	switch st.Status {
	case workflows.StatusNeedsRelink:
		return "WhatsApp отвязан от телефона салона, и клиенты сейчас не получают сообщений. " +
			"Нажмите «Переподключить WhatsApp»: мы пришлём владельцу ссылку для повторной привязки.", "отвязан", true
	case workflows.StatusFrozen:
		return statusText(st.Status, "", "", "", st.Reason), "приостановлен", true
	}
	switch st.Link.State {
	case whatsapp.StateTempBanned:
		return "WhatsApp временно ограничил номер салона. Отправка продолжится сама, когда ограничение снимут.", "временно заблокирован", true
	case whatsapp.StateRestricted:
		return "WhatsApp ограничил отправку новым клиентам. Сообщения тем, кто уже писал салону, уходят.", "ограничен", true
	case whatsapp.StateDegraded, whatsapp.StateDisconnected, whatsapp.StateConnecting, whatsapp.StateReplaced:
		return "Связь с WhatsApp неустойчива, сообщения могут задерживаться. Проверьте, что телефон салона включён и в сети.", "нет связи", true
	}
	return "AI Admin работает: клиенты получают подтверждения и напоминания.", "подключён", false
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
