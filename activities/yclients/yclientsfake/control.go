package yclientsfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Errors of Lifecycle, mapped by the control API to 404, 422 and 409.
var (
	ErrUnknownSalon   = errors.New("yclientsfake: unknown salon")
	ErrUnknownEvent   = errors.New("yclientsfake: event must be freeze, unfreeze or uninstall")
	ErrBadTransition  = errors.New("yclientsfake: event not allowed in the current status")
	errNoLifecycleURL = errors.New("LifecycleURL is not set")
)

// LifecycleResult is the outcome of a lifecycle event: the new status and the webhook delivery.
type LifecycleResult struct {
	SalonID int64  `json:"salon_id"`
	Status  string `json:"status"`
	// Event is the event sent in the webhook ("payment" for unfreeze).
	Event string `json:"event"`
	// WebhookStatus is the HTTP status our webhook answered (0 when not delivered).
	WebhookStatus int    `json:"webhook_status"`
	WebhookError  string `json:"webhook_error,omitempty"`
}

// Lifecycle plays a marketplace lifecycle event for the salon: it changes the connection
// status and POSTs {"salon_id","application_id","event","partner_token"} to LifecycleURL, as
// YClients does (reference §3).
//
//   - "freeze": active → freezed, event "freeze" (paid period over).
//   - "unfreeze": freezed → active, event "payment". YClients has no unfreeze event; Altegio's
//     internal docs say the callback URL receives "payment" (the reference marks that
//     UNCERTAIN), so this is the fake's best guess at what a renewal looks like.
//   - "uninstall": any → uninstalled, event "uninstall".
//
// Repeating freeze, unfreeze or uninstall in the target status re-sends the webhook without a
// status change, which is how duplicate deliveries can be tested.
func (f *Fake) Lifecycle(ctx context.Context, salonID int64, event string) (LifecycleResult, error) {
	var to, sent string
	var from []string
	switch event {
	case "freeze":
		to, sent, from = StatusFreezed, "freeze", []string{StatusActive, StatusFreezed}
	case "unfreeze":
		to, sent, from = StatusActive, "payment", []string{StatusFreezed, StatusActive}
	case "uninstall":
		to, sent, from = StatusUninstalled, "uninstall", nil
	default:
		return LifecycleResult{}, ErrUnknownEvent
	}
	f.mu.Lock()
	st, ok := f.salons[salonID]
	if !ok {
		f.mu.Unlock()
		return LifecycleResult{}, ErrUnknownSalon
	}
	if from != nil && !slices.Contains(from, st.status) {
		status := st.status
		f.mu.Unlock()
		return LifecycleResult{}, fmt.Errorf("%w: %s in status %s", ErrBadTransition, event, status)
	}
	f.setStatusLocked(st, to, sourceMarketplace)
	f.mu.Unlock()

	res := LifecycleResult{SalonID: salonID, Status: to, Event: sent}
	code, err := f.sendLifecycle(ctx, salonID, sent)
	res.WebhookStatus = code
	if err != nil {
		res.WebhookError = err.Error()
	}
	return res, nil
}

// sendLifecycle POSTs the documented lifecycle body. The partner token travels in the body
// (YClients echoes the partner's own token); it is never logged.
func (f *Fake) sendLifecycle(ctx context.Context, salonID int64, event string) (int, error) {
	if f.opts.LifecycleURL == "" {
		return 0, errNoLifecycleURL
	}
	body, err := json.Marshal(struct {
		SalonID       int64  `json:"salon_id"`
		ApplicationID int64  `json:"application_id"`
		Event         string `json:"event"`
		PartnerToken  string `json:"partner_token"`
	}{salonID, f.opts.ApplicationID, event, f.opts.PartnerToken})
	if err != nil {
		return 0, fmt.Errorf("encode webhook: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.opts.LifecycleURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := f.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("deliver webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}

func writeControlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}

func (f *Fake) handleLifecycle(w http.ResponseWriter, r *http.Request) {
	salonID, ok := pathID(r, "salon_id")
	if !ok {
		writeControlError(w, http.StatusNotFound, "салон не найден")
		return
	}
	var in struct {
		Event string `json:"event"`
	}
	if err := readJSON(r, &in); err != nil {
		writeBodyError(w, err)
		return
	}
	res, err := f.Lifecycle(r.Context(), salonID, in.Event)
	switch {
	case errors.Is(err, ErrUnknownSalon):
		writeControlError(w, http.StatusNotFound, "салон не найден")
	case errors.Is(err, ErrUnknownEvent):
		writeControlError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, ErrBadTransition):
		writeControlError(w, http.StatusConflict, err.Error())
	case err != nil:
		writeControlError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

func (f *Fake) handleListSalons(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	out := make([]map[string]any, 0, len(f.salons))
	for _, st := range f.salons {
		out = append(out, st.summary())
	}
	f.mu.Unlock()
	slices.SortFunc(out, func(a, b map[string]any) int { return int(a["id"].(int64) - b["id"].(int64)) })
	writeJSON(w, http.StatusOK, out)
}

// summary is a salon as GET /_fake/salons lists it: its masters and services counted.
func (st *salonState) summary() map[string]any {
	return map[string]any{
		"id": st.salon.ID, "title": st.salon.Title, "city": st.salon.City,
		"timezone": st.salon.Timezone, "status": st.status,
		"services": len(st.salon.Services), "staff": len(st.salon.Staff), "records": len(st.salon.Records),
	}
}

// handleGetSalon answers one salon as the list does, with its masters and services listed
// instead of counted: the IDs a booking made through POST /_fake/salons/{salon_id}/records names.
func (f *Fake) handleGetSalon(w http.ResponseWriter, r *http.Request) {
	salonID, _ := pathID(r, "salon_id")
	out, ok := f.salonDetail(salonID)
	if !ok {
		writeControlError(w, http.StatusNotFound, "салон не найден")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) salonDetail(salonID int64) (map[string]any, bool) {
	type master struct {
		ID             int64  `json:"id"`
		Name           string `json:"name"`
		Specialization string `json:"specialization"`
		Bookable       bool   `json:"bookable"`
		Fired          bool   `json:"fired"`
	}
	type service struct {
		ID              int64   `json:"id"`
		Title           string  `json:"title"`
		PriceMin        float64 `json:"price_min"`
		DurationSeconds int     `json:"duration_seconds"`
		Active          bool    `json:"active"`
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.salons[salonID]
	if !ok {
		return nil, false
	}
	staff := make([]master, 0, len(st.salon.Staff))
	for _, m := range st.salon.Staff {
		staff = append(staff, master{ID: m.ID, Name: m.Name, Specialization: m.Specialization, Bookable: m.Bookable, Fired: m.Fired})
	}
	services := make([]service, 0, len(st.salon.Services))
	for _, sv := range st.salon.Services {
		services = append(services, service{ID: sv.ID, Title: sv.Title, PriceMin: sv.PriceMin, DurationSeconds: sv.DurationSeconds, Active: sv.Active})
	}
	out := st.summary()
	out["staff"], out["services"] = staff, services
	return out, true
}

func (f *Fake) handleAddSalon(w http.ResponseWriter, r *http.Request) {
	var s Salon
	if err := readJSON(r, &s); err != nil {
		writeBodyError(w, err)
		return
	}
	switch {
	case s.ID <= 0 || s.Title == "":
		writeControlError(w, http.StatusUnprocessableEntity, "id (> 0) и title обязательны")
		return
	case s.Status != "" && !validStatus(s.Status):
		writeControlError(w, http.StatusUnprocessableEntity, "status: pending, active, freezed или uninstalled")
		return
	case s.Timezone != "":
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			writeControlError(w, http.StatusUnprocessableEntity, "timezone: неизвестная зона "+s.Timezone)
			return
		}
	}
	f.AddSalon(s)
	writeJSON(w, http.StatusCreated, map[string]any{"id": s.ID, "status": f.Status(s.ID)})
}

func (f *Fake) handleSetStatus(w http.ResponseWriter, r *http.Request) {
	salonID, _ := pathID(r, "salon_id")
	var in struct {
		Status string `json:"status"`
	}
	if err := readJSON(r, &in); err != nil {
		writeBodyError(w, err)
		return
	}
	if !validStatus(in.Status) {
		writeControlError(w, http.StatusUnprocessableEntity, "status: pending, active, freezed или uninstalled")
		return
	}
	if f.Status(salonID) == "" {
		writeControlError(w, http.StatusNotFound, "салон не найден")
		return
	}
	f.SetStatus(salonID, in.Status)
	writeJSON(w, http.StatusOK, map[string]any{"salon_id": salonID, "status": f.Status(salonID)})
}

// handleCallbacks lists activation callbacks with api_key and any token masked: the control API
// never returns secrets.
func (f *Fake) handleCallbacks(w http.ResponseWriter, _ *http.Request) {
	out := []map[string]any{}
	for _, cb := range f.Callbacks() {
		body := map[string]any{}
		for k, v := range cb.Body {
			if isSecretKey(k) {
				s, _ := flexText(mustJSON(v))
				v = mask(s)
			}
			body[k] = v
		}
		out = append(out, map[string]any{
			"path": cb.Path, "salon_id": cb.SalonID, "application_id": cb.ApplicationID,
			"api_key": mask(cb.APIKey), "webhook_urls": cb.WebhookURLs, "body": body,
			"status_code": cb.StatusCode, "at": cb.At,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) handleRequests(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, f.Requests())
}

func (f *Fake) handleAddFault(w http.ResponseWriter, r *http.Request) {
	var ft Fault
	if err := readJSON(r, &ft); err != nil {
		writeBodyError(w, err)
		return
	}
	if err := f.AddFault(ft); err != nil {
		writeControlError(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"faults": f.Faults()})
}

func (f *Fake) handleListFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, f.Faults())
}

func (f *Fake) handleClearFaults(w http.ResponseWriter, _ *http.Request) {
	f.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	return k == "api_key" || strings.Contains(k, "token") || strings.Contains(k, "secret")
}

// mask keeps the last 4 characters of a secret: "***" + last4 ("***" alone for short ones).
func mask(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return ""
	}
	if len(r) <= 4 {
		return "***"
	}
	return "***" + string(r[len(r)-4:])
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
