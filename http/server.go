// Package httpapi is AI Admin's HTTP layer: the YClients marketplace redirect and lifecycle
// webhook, the entity webhook inbox, the connect page with its websocket and health endpoints.
// It is thin: it starts, signals, updates and queries the installation workflows and keeps no
// business logic of its own.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/aiadmin/aiadmin/workflows"
)

// Config is the HTTP layer's configuration; main fills it from the environment.
type Config struct {
	PartnerToken          string   // YClients partner token: HMAC key of user_data, webhook secret
	ApplicationID         int64    // our YClients application; lifecycle events of others are ignored
	RequireSignedUserData bool     // reject marketplace redirects without user_data + user_data_sign
	SessionSecret         []byte   // HS256 key of the connect page's session tokens
	PublicURL             string   // e.g. http://127.0.0.1:8080; its origin may open the websocket
	AdminToken            string   // bearer token of /api/installations/...; empty disables them
	AllowedOrigins        []string // more websocket origins; "https://*.example.com" matches subdomains
	TaskQueue             string   // task queue of new installation workflows
	Timings               workflows.Timings
	// TrustedProxies are the load balancers whose X-Forwarded-For names the client (CIDRs or
	// addresses); none by default.
	TrustedProxies []string
	// IPRequestEvery is the sustained rate per client IP of the marketplace redirect and the
	// websocket (default one request per 2 s, bursts of ipBurst); negative turns the limit off.
	IPRequestEvery time.Duration
	// RequestQREvery bounds how often a salon's pages may ask for a new QR code (default 10 s;
	// tests with shortened pairing timings shorten it too).
	RequestQREvery time.Duration
	// WebhookHMACSecret, when set, requires X-Webhook-Signature (hex HMAC-SHA256 of the raw
	// body) on entity webhooks. YClients documents no signature, so it is off by default.
	WebhookHMACSecret string
	// SupportURL is where a salon owner writes to AI Admin support (an https: or mailto: link),
	// shown on the connect and error pages; empty: they point to the marketplace card.
	SupportURL string
	// TemporalUIOrigin is the Temporal Web UI allowed to call the codec endpoint (CORS).
	TemporalUIOrigin string
	// CodePatience is how long the connect page waits for a QR or pairing code it asked for
	// before it asks once more by itself, and then tells the owner (default
	// DefaultCodePatience; tests shorten it).
	CodePatience time.Duration
	// RegisterTimeout bounds the register page's request: YClients' reads and the register
	// update (default and at most 30 s; tests shorten it).
	RegisterTimeout time.Duration
}

// Deps are the HTTP layer's collaborators.
type Deps struct {
	Temporal client.Client  // required
	Pairing  PairingFeed    // required for the connect page
	Salons   SalonDirectory // required for the marketplace redirect
	Health   HealthSource   // optional: admin health then shows the workflow only
	Entity   EntityInbox    // the entity webhook inbox; nil: the route is not served
	// Cabinet is the salon owner's cabinet's data; nil: no cabinet (an installation that
	// works shows its status on the connect page).
	Cabinet  CabinetStore
	Bookings UpcomingBookings // the cabinet's previews use the nearest booking; nil: an example visit
	Owner    OwnerChannel     // the owners' second channel (the cabinet's re-link link)
	Ready    []ReadyCheck
	// Metrics, when set, is served on GET /metrics (the process's Prometheus registry).
	Metrics http.Handler
	// Websockets, when set, is how the process closes the connect pages' websockets when it
	// stops (see Websockets).
	Websockets *Websockets
	// Codec, when set, is served at /codec/decode and /codec/encode for operators (codec.go).
	Codec converter.PayloadCodec
	// Routes, when set, adds routes of the process's own (the development binary adds the
	// simulated phone's).
	Routes func(*gin.Engine)
	Logger *slog.Logger // nil: discard
}

// temporalAPI is the part of the Temporal client the handlers use.
type temporalAPI interface {
	NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation
	UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	QueryWorkflow(ctx context.Context, workflowID, runID, queryType string, args ...any) (converter.EncodedValue, error)
	SignalWorkflow(ctx context.Context, workflowID, runID, signalName string, arg any) error
}

// DefaultCodePatience is how long the connect page waits for a code it asked for before it
// asks once more by itself.
const DefaultCodePatience = 20 * time.Second

// Timeouts of calls to Temporal made while a request waits.
const (
	registerTimeout = 30 * time.Second // the register step calls YClients
	queryTimeout    = 5 * time.Second
	updateTimeout   = 15 * time.Second
	signalTimeout   = 10 * time.Second
	readyTimeout    = 2 * time.Second
)

// New builds the router: gin.New with an explicit middleware list (request ID, request
// metrics, request log, error rendering, recovery, security headers) and the routes of the
// HTTP layer.
func New(cfg Config, deps Deps) *gin.Engine {
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pg := mustPages(cfg.SupportURL)
	pg.patience = cfg.CodePatience
	if pg.patience <= 0 {
		pg.patience = DefaultCodePatience
	}
	tc := temporalAPI(deps.Temporal)
	sess := newSessions(cfg.SessionSecret, audSession)

	e := newEngine(cfg, log)
	perIP := newIPLimits(cfg.limitEvery(), ipBurst)
	if cfg.IPRequestEvery < 0 {
		perIP = nil
	}
	e.Use(requestID, requestMetrics, requestLog(log), renderErrors(log, pg), recovery(log), securityHeaders)
	e.NoRoute(notFoundRoute)

	reg := &registerHandler{cfg: cfg, temporal: tc, salons: deps.Salons, sessions: sess, pages: pg, log: log}
	e.GET("/marketplace/register", htmlErrors, noStore, perIP.limit, reg.register)

	wh := &webhookHandler{partnerToken: cfg.PartnerToken, applicationID: cfg.ApplicationID, temporal: tc, log: log}
	e.POST("/marketplace/webhook", wh.lifecycle)

	if deps.Entity != nil {
		eh := &entityHandler{inbox: deps.Entity, hmacSecret: []byte(cfg.WebhookHMACSecret), log: log}
		e.POST("/webhook/yclients/:salon_id/:secret", eh.receive)
	}

	rl := &relinkHandler{relink: newSessions(relinkKey(cfg.SessionSecret), audRelink), sessions: sess,
		temporal: tc, pages: pg, log: log}
	e.GET("/connect/relink", htmlErrors, noStore, rl.open)

	ws := newWSHandler(tc, deps.Pairing, sess, newOriginPolicy(cfg.PublicURL, cfg.AllowedOrigins), log)
	if cfg.RequestQREvery > 0 {
		ws.hub.requestQREvery = cfg.RequestQREvery
	}
	e.GET("/ws/connect", perIP.limit, ws.connect)
	deps.Websockets.add(ws.hub)

	if deps.Cabinet != nil { // the marketplace redirect opens it for an installation that works
		reg.cabinet = newCabinet(cfg, deps, ws.hub, sess, log)
		reg.cabinet.routes(e)
	}

	hh := &healthHandler{ready: deps.Ready, health: deps.Health, temporal: tc, log: log}
	e.GET("/healthz", hh.healthz)
	e.GET("/readyz", noStore, hh.readyz)
	e.GET("/api/installations/:salon_id/health", noStore, bearerAuth(cfg.AdminToken), hh.installation)
	if deps.Metrics != nil {
		e.GET("/metrics", noStore, gin.WrapH(deps.Metrics))
	}

	if deps.Codec != nil {
		newCodecHandler(cfg, deps.Codec).routes(e, perIP.limit)
	}

	e.GET("/openapi.json", openAPI)

	if deps.Routes != nil {
		deps.Routes(e) // e.g. the demo phone's routes in development
	}
	return e
}

// newEngine is a bare Gin engine: release mode, no trailing-slash redirects, forwarded
// addresses believed only from the configured proxies.
func newEngine(cfg Config, log *slog.Logger) *gin.Engine {
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode) // no debug route dump in logs
	}
	e := gin.New()
	// A path with a trailing slash is not another name of a route: no redirect (a POST
	// redirected loses its body, and a webhook URL with its secret missing is a 404).
	e.RedirectTrailingSlash = false
	// ClientIP keys the per-IP limits: X-Forwarded-For is believed only from the configured
	// proxies (the load balancer), never from anyone.
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		log.Error("TRUSTED_PROXIES ignored", slog.String("error", err.Error()))
		_ = e.SetTrustedProxies(nil)
	}
	return e
}

// ipBurst is how many redirects or websockets one IP may open at once.
const ipBurst = 20

func (c Config) limitEvery() time.Duration {
	if c.IPRequestEvery > 0 {
		return c.IPRequestEvery
	}
	return 2 * time.Second
}

// NewServer wraps the router in an http.Server with timeouts suited to it: slow headers are cut
// off, and websockets manage their own deadlines after the upgrade.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      registerTimeout + 15*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}
