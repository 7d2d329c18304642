package yclientsfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Callback is one activation callback the fake received, accepted or not.
type Callback struct {
	// Path is /marketplace/partner/callback/redirect or /marketplace/partner/callback.
	Path          string
	SalonID       int64
	ApplicationID int64
	// APIKey is the full api_key, for Go tests only; the HTTP control API masks it.
	APIKey      string
	WebhookURLs []string
	// Body is the decoded JSON body (nil when it was not a JSON object).
	Body map[string]any
	// StatusCode is what the fake answered.
	StatusCode int
	At         time.Time
}

// UserData is the JSON carried, base64url-encoded, in the redirect's user_data parameter
// (reference §1.2; keys as seen live).
type UserData struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Phone      string `json:"phone"`
	Email      string `json:"email"`
	IsApproved bool   `json:"is_approved"`
	Avatar     string `json:"avatar"`
	SalonName  string `json:"salon_name"`
}

// SignUserData returns user_data_sign: lowercase hex HMAC-SHA256 keyed with the partner token
// over the decoded JSON bytes (not over the base64 text; reference §1.3).
func SignUserData(partnerToken string, userJSON []byte) string {
	mac := hmac.New(sha256.New, []byte(partnerToken))
	mac.Write(userJSON)
	return hex.EncodeToString(mac.Sum(nil))
}

// EncodeUserData returns the user_data parameter (URL-safe base64 with = padding, as YClients
// sends it) and its signature.
func EncodeUserData(partnerToken string, u UserData) (userData, sign string, err error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(u); err != nil {
		return "", "", fmt.Errorf("encode user_data: %w", err)
	}
	raw := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return base64.URLEncoding.EncodeToString(raw), SignUserData(partnerToken, raw), nil
}

// Callbacks returns the activation callbacks received so far, oldest first, with full bodies.
func (f *Fake) Callbacks() []Callback {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Callback, len(f.callbacks))
	copy(out, f.callbacks)
	return out
}

// activationError is a rejected activation: status, message and optional meta.errors.
type activationError struct {
	status int
	msg    string
	errs   []string
}

// handleCallback serves both activation endpoints: /partner/callback/redirect answers 301 with
// a Location, /partner/callback answers 201 (reference §1.4). It checks the partner token itself
// (not in the middleware) so that rejected callbacks are recorded too.
func (f *Fake) handleCallback(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	cb := Callback{Path: r.URL.Path}
	f.mu.Lock()
	cb.At = f.now()
	aerr := f.activateLocked(r, body, &cb)
	if aerr != nil {
		cb.StatusCode = aerr.status
	} else if strings.HasSuffix(r.URL.Path, "/redirect") {
		cb.StatusCode = http.StatusMovedPermanently
	} else {
		cb.StatusCode = http.StatusCreated
	}
	f.callbacks = append(f.callbacks, cb)
	f.mu.Unlock()

	switch {
	case aerr != nil:
		writeV2Error(w, aerr.status, aerr.msg, aerr.errs...)
	case cb.StatusCode == http.StatusCreated:
		writeData(w, http.StatusCreated, nil, nil)
	default:
		loc := baseURL(r) + "/_fake/marketplace/done?salon_id=" + strconv.FormatInt(cb.SalonID, 10)
		w.Header().Set("Location", loc)
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusMovedPermanently)
		// The body a PHP framework's RedirectResponse sends: a client that follows the 301 or
		// parses this as JSON gets HTML, the trap reference §1.4 describes.
		esc := html.EscapeString(loc)
		_, _ = fmt.Fprintf(w, `<!DOCTYPE html><html><head><meta charset="UTF-8" /><meta http-equiv="refresh" content="0;url='%s'" /><title>Redirecting to %s</title></head><body>Redirecting to <a href="%s">%s</a>.</body></html>`, esc, esc, esc, esc)
	}
}

// activateLocked validates an activation callback in the documented order and, when valid,
// moves the link from pending to active. It fills cb with what it could parse.
func (f *Fake) activateLocked(r *http.Request, body []byte, cb *Callback) *activationError {
	var fields map[string]json.RawMessage
	jsonErr := json.Unmarshal(body, &fields)
	if jsonErr == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		_ = dec.Decode(&cb.Body)
		cb.SalonID, _ = flexID(fields["salon_id"])
		cb.ApplicationID, _ = flexID(fields["application_id"])
		cb.APIKey, _ = flexText(fields["api_key"])
		_ = json.Unmarshal(fields["webhook_urls"], &cb.WebhookURLs)
	}
	if !f.tokenOK(partnerToken(r.Header.Get("Authorization"))) {
		return &activationError{status: http.StatusUnauthorized, msg: msgUnauthorized}
	}
	if jsonErr != nil {
		return &activationError{status: http.StatusUnprocessableEntity, msg: msgInvalidParams, errs: []string{"тело запроса должно быть JSON-объектом"}}
	}
	appID, ok := flexID(fields["application_id"])
	if !ok {
		return &activationError{status: http.StatusUnprocessableEntity, msg: msgInvalidParams, errs: []string{"application_id: обязательное числовое поле"}}
	}
	if appID != f.opts.ApplicationID {
		return &activationError{status: http.StatusForbidden, msg: msgNoAccess}
	}
	salonID, ok := flexID(fields["salon_id"])
	if !ok {
		return &activationError{status: http.StatusUnprocessableEntity, msg: msgInvalidParams, errs: []string{"salon_id: обязательное числовое поле"}}
	}
	st, known := f.salons[salonID]
	if !known {
		return &activationError{status: http.StatusNotFound, msg: msgNotInstalled}
	}
	var urls []string
	if raw, present := fields["webhook_urls"]; !present || json.Unmarshal(raw, &urls) != nil || urls == nil {
		return &activationError{status: http.StatusUnprocessableEntity, msg: msgInvalidParams, errs: []string{"webhook_urls: должен быть массивом строк"}}
	}
	if key, ok := flexText(fields["api_key"]); !ok || key == "" {
		return &activationError{status: http.StatusUnprocessableEntity, msg: msgInvalidParams, errs: []string{"api_key: обязательное поле"}}
	}
	switch st.status {
	case StatusActive, StatusFreezed:
		return &activationError{status: http.StatusForbidden, msg: msgAlreadyInstalled}
	case StatusUninstalled:
		return &activationError{status: http.StatusUnprocessableEntity, msg: msgInvalidParams,
			errs: []string{"приложение не ожидает подключения: подключите его заново в маркетплейсе"}}
	}
	if f.now().Sub(st.pendingSince) > f.opts.PendingTTL {
		return &activationError{status: http.StatusUnprocessableEntity, msg: msgInvalidParams,
			errs: []string{"истёк срок подключения: подключите приложение заново в маркетплейсе"}}
	}
	f.setStatusLocked(st, StatusActive, sourcePartnerAPI)
	return nil
}

// flexID reads a positive integer sent as a JSON number or numeric string.
func flexID(raw json.RawMessage) (int64, bool) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(n.String(), 10, 64)
	return id, err == nil && id > 0
}

// flexText reads a JSON string or number as text (the docs call api_key a "number").
func flexText(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

// handleIntegrationStatus answers GET /marketplace/salon/{salon_id}/application/{application_id}
// with logs, payments and connection_status as an object (reference §2 #7).
func (f *Fake) handleIntegrationStatus(w http.ResponseWriter, r *http.Request) {
	appID, _ := pathID(r, "application_id")
	if appID != f.opts.ApplicationID {
		writeV2Error(w, http.StatusForbidden, msgNoAccess)
		return
	}
	salonID, _ := pathID(r, "salon_id")
	f.mu.Lock()
	st, ok := f.salons[salonID]
	var data map[string]any
	if ok {
		logs := make([]map[string]any, 0, len(st.logs))
		for _, l := range st.logs {
			logs = append(logs, map[string]any{"changed_at": serverTime(l.ChangedAt),
				"status_from": l.StatusFrom, "status_to": l.StatusTo, "source": l.Source})
		}
		data = map[string]any{
			"logs": logs, "payments": []any{},
			"connection_status": map[string]any{"status": st.status, "created_at": serverTime(st.createdAt)},
		}
	}
	f.mu.Unlock()
	if !ok {
		writeV2Error(w, http.StatusNotFound, msgNotInstalled)
		return
	}
	writeData(w, http.StatusOK, data, nil)
}

// moscow is YClients' server time zone, used for the naive "Y-m-d H:i:s" marketplace times.
var moscow = mustLoad("Europe/Moscow")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("MSK", 3*60*60)
	}
	return loc
}

func serverTime(t time.Time) string { return t.In(moscow).Format(layoutNaive) }

// handleMarketplaceRedirect plays the owner clicking "Подключить": the link becomes pending
// (with a fresh activation window) unless the app is already installed, and the browser is sent
// to RegisterURL with salon_id, user_data and user_data_sign.
func (f *Fake) handleMarketplaceRedirect(w http.ResponseWriter, r *http.Request) {
	salonID, err := strconv.ParseInt(r.URL.Query().Get("salon_id"), 10, 64)
	if err != nil || salonID <= 0 {
		writeControlError(w, http.StatusBadRequest, "salon_id: нужен положительный целый номер")
		return
	}
	if f.opts.RegisterURL == "" {
		writeControlError(w, http.StatusConflict, "RegisterURL не задан в Options")
		return
	}
	target, err := url.Parse(f.opts.RegisterURL)
	if err != nil {
		writeControlError(w, http.StatusConflict, "RegisterURL не разбирается как URL")
		return
	}
	f.mu.Lock()
	st, ok := f.salons[salonID]
	var u UserData
	if ok {
		// Freezed is still installed: the state machine has no freezed → pending edge.
		if st.status != StatusActive && st.status != StatusFreezed {
			f.setStatusLocked(st, StatusPending, sourceMarketplace)
		}
		o := st.salon.Owner
		u = UserData{ID: o.ID, Name: o.Name, Phone: o.Phone, Email: o.Email, IsApproved: o.IsApproved, Avatar: o.Avatar, SalonName: st.salon.Title}
	}
	f.mu.Unlock()
	if !ok {
		writeControlError(w, http.StatusNotFound, "салон не найден")
		return
	}
	userData, sign, err := EncodeUserData(f.opts.PartnerToken, u)
	if err != nil {
		writeControlError(w, http.StatusInternalServerError, err.Error())
		return
	}
	q := target.Query()
	q.Set("salon_id", strconv.FormatInt(salonID, 10))
	q.Set("user_data", userData)
	q.Set("user_data_sign", sign)
	target.RawQuery = q.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// handleDone is where the 301 from the activation callback points.
func (f *Fake) handleDone(w http.ResponseWriter, r *http.Request) {
	salonID, _ := strconv.ParseInt(r.URL.Query().Get("salon_id"), 10, 64)
	f.mu.Lock()
	title := ""
	if st, ok := f.salons[salonID]; ok {
		title = st.salon.Title
	}
	f.mu.Unlock()
	text := "Приложение подключено. Можно вернуться в YClients."
	if title != "" {
		text = "Приложение подключено к филиалу «" + title + "». Можно вернуться в YClients."
	}
	writeHTML(w, http.StatusOK, "Интеграция подключена", text)
}

// baseURL is the fake's own origin as the client addressed it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
