package simserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// handlePair runs one pairing attempt for as long as the request lasts: NDJSON items (qr or
// code, then one terminal item). On success the pairing client holds the live connection, as
// whatsmeow hands the new device to a long-lived client in the same process. The codes travel
// here as they would over WhatsApp's socket; the client never logs them.
func (s *Server) handlePair(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client := q.Get("client")
	salonID, err := strconv.ParseInt(q.Get("salon_id"), 10, 64)
	flusher, ok := w.(http.Flusher)
	if err != nil || client == "" || !ok {
		writeError(w, fmt.Errorf("%w: client and salon_id required", errBadRequest))
		return
	}
	s.mu.Lock()
	online := s.sessions[client] != nil
	s.linkLocked(salonID)
	s.mu.Unlock()
	if !online {
		writeError(w, ErrNoStream)
		return
	}
	var ch <-chan whatsapp.PairEvent
	if q.Get("method") == "phone" {
		ch, err = s.phone.PairPhone(r.Context(), salonID, q.Get("phone"))
	} else {
		ch, err = s.phone.PairQR(r.Context(), salonID)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	enc := json.NewEncoder(w)
	for ev := range ch {
		if ev.Kind == whatsapp.PairSuccess {
			s.adopt(client, salonID)
		}
		out := event{Type: string(ev.Kind), Code: ev.Code, ExpiresMs: ev.ExpiresIn.Milliseconds(),
			Phone: ev.Phone, Name: ev.Name, JID: ev.JID}
		if ev.Err != nil {
			out.Err = &wireError{Code: codeOf(ev.Err), Message: ev.Err.Error()}
		}
		if enc.Encode(out) != nil {
			return // the client went away; cancelling r's context ends the attempt
		}
		flusher.Flush()
	}
}

// adopt gives the newly paired device's connection to the pairing client. A connection to the
// salon's previous device ends: that device was logged out by the new pairing.
func (s *Server) adopt(client string, salonID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.linkLocked(salonID)
	if prev := l.live; prev != "" && prev != client {
		l.kicked[prev] = whatsapp.StateLoggedOut
		s.pushStatusLocked(prev, salonID, whatsapp.Status{State: whatsapp.StateLoggedOut, Reason: "device replaced by a new pairing"})
	}
	l.live, l.frozen = "", false
	if s.sessions[client] == nil {
		// The pairing process lost its session meanwhile: the device stays linked, unconnected.
		_ = s.phone.Disconnect(context.Background(), salonID)
		return
	}
	l.live, l.since = client, time.Now()
	delete(l.kicked, client)
	l.seen[client] = true
}

// onIncoming hands a message a client wrote to the salon's number to the client holding the
// salon's live connection, over its session stream.
func (s *Server) onIncoming(_ context.Context, m whatsapp.Incoming) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.links[m.SalonID]
	if l == nil || l.live == "" {
		s.log.Warn("simserver: incoming message for a salon nobody is connected to; dropped", "salonID", m.SalonID)
		return
	}
	s.pushLocked(l.live, event{Type: "incoming", SalonID: m.SalonID,
		Incoming: &wireIncoming{ID: m.ID, From: m.From, Name: m.Name, Text: m.Text, At: m.At}})
}

// handleScan plays the owner scanning the QR code: POST {"salon_id", "phone", "name"}.
func (s *Server) handleScan(w http.ResponseWriter, r *http.Request) {
	var req scanRequest
	if !decode(w, r, &req) {
		return
	}
	if err := s.phone.Scan(req.SalonID, req.Phone, req.Name); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// handleReceive plays a client writing to the salon: POST {"salon_id", "from", "text"}.
func (s *Server) handleReceive(w http.ResponseWriter, r *http.Request) {
	var req receiveRequest
	if !decode(w, r, &req) {
		return
	}
	if err := s.phone.Receive(req.SalonID, req.From, req.Text); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// handleEmit plays a link event from WhatsApp: POST {"salon_id", "status": {"state": ...}}.
// The client holding the live connection is told.
func (s *Server) handleEmit(w http.ResponseWriter, r *http.Request) {
	var req emitRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phone.Emit(req.SalonID, req.Status.status())
	switch req.Status.State {
	case whatsapp.StateLoggedOut, whatsapp.StateUnlinked:
		s.resetLocked(req.SalonID, "", req.Status.State)
	default:
		if l := s.linkLocked(req.SalonID); l.live != "" {
			s.pushStatusLocked(l.live, req.SalonID, s.statusLocked(l.live, req.SalonID))
		}
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// connectionsResponse is GET /control/connections.
type connectionsResponse struct {
	Connections []Connection `json:"connections"`
	Clients     []string     `json:"clients"`
	Stats
}

func (s *Server) handleConnections(w http.ResponseWriter, _ *http.Request) {
	resp := connectionsResponse{Connections: s.Connections(), Stats: s.Stats()}
	s.mu.Lock()
	for id := range s.sessions {
		resp.Clients = append(resp.Clients, id)
	}
	s.mu.Unlock()
	if resp.Connections == nil {
		resp.Connections = []Connection{}
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleMessages is GET /messages?salon_id=: what was sent for the salon, with the IDs.
func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	salonID, err := strconv.ParseInt(r.URL.Query().Get("salon_id"), 10, 64)
	if err != nil {
		writeError(w, fmt.Errorf("%w: salon_id", errBadRequest))
		return
	}
	writeJSON(w, http.StatusOK, s.Messages(salonID))
}
