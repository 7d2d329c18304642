package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Problem is one thing wrong with the configuration: an error refuses the start, a warning is
// logged at start and shown by check-config.
type Problem struct {
	Var     string // the environment variable, e.g. PUBLIC_URL
	Message string
	Warning bool
}

func (p Problem) String() string { return p.Var + ": " + p.Message }

// Error is a configuration refused: every error found, not only the first.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "configuration refused (%d problem%s; `aiadmin check-config` shows it all):", len(e.Problems),
		map[bool]string{true: "", false: "s"}[len(e.Problems) == 1])
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// problems collects what Load finds.
type problems []Problem

func (p *problems) errorf(name, format string, args ...any) {
	*p = append(*p, Problem{Var: name, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) warnf(name, format string, args ...any) {
	*p = append(*p, Problem{Var: name, Message: fmt.Sprintf(format, args...), Warning: true})
}

// has reports a problem already found with the variable.
func (p problems) has(name string) bool {
	for _, x := range p {
		if x.Var == name {
			return true
		}
	}
	return false
}

func (p problems) errors() []Problem {
	var out []Problem
	for _, x := range p {
		if !x.Warning {
			out = append(out, x)
		}
	}
	return out
}

// check finds what cannot work, or cannot work safely outside demo mode.
func (c *Config) check(o Options, p *problems) {
	switch c.WhatsAppMode {
	case "sim", "simserver", "whatsmeow":
	default:
		p.errorf("WHATSAPP_MODE", "want whatsmeow (or, in the development binary, sim or simserver), got %q", c.WhatsAppMode)
	}
	if c.WhatsAppMode == "simserver" && c.WhatsAppSimURL == "" {
		p.errorf("WHATSAPP_SIM_URL", "WHATSAPP_MODE=simserver needs the fake WhatsApp server's URL")
	}
	if err := checkSupportURL(c.SupportURL); err != nil {
		p.errorf("SUPPORT_URL", "%v", strings.TrimPrefix(err.Error(), "SUPPORT_URL: "))
	}
	if c.TemporalUIOrigin != "" {
		if u, err := url.Parse(c.TemporalUIOrigin); err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
			u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			p.errorf("TEMPORAL_UI_ORIGIN", "want an origin such as https://temporal.example.com (no path), got %q", c.TemporalUIOrigin)
		}
	}
	switch c.TemporalCompression {
	case "", "none", "gzip":
	default:
		p.errorf("TEMPORAL_GRPC_COMPRESSION", "want none or gzip, got %q", c.TemporalCompression)
	}
	if err := checkPProfAddr(c.PProfAddr); err != nil {
		p.errorf("PPROF_ADDR", "%v", err)
	}
	for _, hook := range []struct{ name, raw string }{{"OPS_WEBHOOK_URL", c.OpsWebhookURL}, {"OWNER_WEBHOOK_URL", c.OwnerWebhookURL}} {
		if u, err := url.Parse(hook.raw); hook.raw != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			p.errorf(hook.name, "want an absolute http(s) URL")
		}
	}
	if c.Demo {
		return
	}
	c.checkPublicURL(o, p)
	if c.YClientsPartnerToken == "" {
		p.errorf("YCLIENTS_PARTNER_TOKEN", "required outside demo mode: the partner token from the YClients developer cabinet")
	}
	if c.YClientsApplicationID == 0 && !p.has("YCLIENTS_APPLICATION_ID") {
		p.errorf("YCLIENTS_APPLICATION_ID", "required outside demo mode: our marketplace application's ID")
	}
	if c.AdminToken == "" {
		p.errorf("ADMIN_TOKEN", "required outside demo mode: the operators' bearer token (health, codec endpoint)")
	}
	switch {
	case c.WhatsAppMode == "sim":
		p.errorf("WHATSAPP_MODE", "sim is the in-process simulated phone: demo mode only")
	case c.WhatsAppMode == "simserver" && !o.Local:
		p.errorf("WHATSAPP_MODE", "simserver is the fake WhatsApp server: the development binary only")
	}
	if !c.RequireSignedUserData {
		p.errorf("REQUIRE_SIGNED_USER_DATA", "false is allowed in demo mode only: unsigned redirects would let anyone open any salon's connect page")
	}
	if c.OwnerWebhookURL == "" {
		p.warnf("OWNER_WEBHOOK_URL", "not set: owner notices (the 24 h re-link link after the phone unlinked WhatsApp) are only logged, without the link, and reach nobody")
	}
}

// checkPublicURL refuses a PUBLIC_URL that YClients cannot reach: it becomes the webhook URL
// given to YClients at activation, and a wrong one silently loses every booking.
func (c *Config) checkPublicURL(o Options, p *problems) {
	const why = "it becomes the webhook URL given to YClients, and a wrong one silently loses every booking"
	if !c.publicURLSet {
		p.errorf("PUBLIC_URL", "required outside demo mode: the public https origin of the API (%s)", why)
		return
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		p.errorf("PUBLIC_URL", "want an absolute https URL, got %q (%s)", c.PublicURL, why)
		return
	}
	local := localHost(u.Hostname())
	switch {
	case o.Local && local && u.Scheme == "http" && loopback(u.Hostname()):
		p.warnf("PUBLIC_URL", "%s is on this machine: YClients cannot reach it (allowed in the development binary only)", c.PublicURL)
	case u.Scheme != "https":
		p.errorf("PUBLIC_URL", "want https, got %q (%s)", c.PublicURL, why)
	case local:
		p.errorf("PUBLIC_URL", "%q is a loopback or private address that YClients cannot reach (%s)", u.Hostname(), why)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		p.errorf("PUBLIC_URL", "want no query or fragment, got %q", c.PublicURL)
	}
}

// localHost reports a host name or address that is not reachable from the internet: loopback,
// private, link-local or unspecified addresses, localhost and .localhost/.local/.internal names.
func localHost(host string) bool {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast()
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || strings.HasSuffix(h, ".local") ||
		strings.HasSuffix(h, ".internal") || !strings.Contains(h, ".")
}

// loopback reports a loopback address or localhost.
func loopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	h := strings.ToLower(host)
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// checkPProfAddr accepts an empty PPROF_ADDR (no profiles) or host:port on a loopback or
// private address (or localhost): never every interface or a public one, since a profile
// shows the process's internals and /debug/pprof/profile costs CPU while it runs.
func checkPProfAddr(addr string) error {
	if addr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port such as 127.0.0.1:6060, got %q", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("want a port number, got %q", addr)
	}
	if loopback(host) {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && (a.IsPrivate() || a.IsLinkLocalUnicast()) {
		return nil
	}
	return fmt.Errorf("want a loopback or private address (profiles show the process's internals), got %q", addr)
}

// checkSupportURL accepts an empty SUPPORT_URL, an absolute http(s) URL or a mailto: address:
// the links a browser opens from the owner's pages (html/template would blank anything else).
func checkSupportURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("SUPPORT_URL: %w", err)
	case (u.Scheme == "https" || u.Scheme == "http") && u.Host != "":
		return nil
	case u.Scheme == "mailto" && strings.Contains(u.Opaque, "@"):
		return nil
	}
	return fmt.Errorf("SUPPORT_URL: want an https:// link or a mailto: address, got %q", raw)
}
