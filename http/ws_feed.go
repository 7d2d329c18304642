package httpapi

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/aiadmin/aiadmin/activities/pairing"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/workflows"
)

// Frames sent to the page.
type (
	statusFrame struct {
		Type    string `json:"type"` // "status"
		Status  string `json:"status"`
		Message string `json:"message"`
		Pairing string `json:"pairing"` // pairing phase, see status_text.go
		Attempt int    `json:"attempt"`
	}
	qrFrame struct {
		Type      string `json:"type"`  // "qr"
		Image     string `json:"image"` // PNG data URL; carries the secret payload
		ExpiresIn int    `json:"expires_in"`
	}
	codeFrame struct {
		Type      string `json:"type"` // "pairing-code"
		Code      string `json:"code"` // secret
		ExpiresIn int    `json:"expires_in"`
	}
	connectedFrame struct {
		Type  string `json:"type"` // "connected"
		Phone string `json:"phone"`
		Name  string `json:"name"`
	}
	activeFrame struct {
		Type        string `json:"type"` // "active"
		RedirectURL string `json:"redirect_url"`
	}
	messageFrame struct {
		Type    string `json:"type"` // "error"
		Message string `json:"message"`
	}
	closedFrame struct {
		Type    string `json:"type"` // "closed": the server closed this page; do not reconnect
		Message string `json:"message"`
	}
)

func errorFrame(msg string) messageFrame { return messageFrame{Type: "error", Message: msg} }

// feed is the state of one connection's feed goroutine.
type feed struct {
	s *wsSession

	st        workflows.State
	haveState bool
	primed    bool  // the pairing table has been read once
	cursor    int64 // last pairing item seen
	attempt   int   // newest pairing attempt known; items of older attempts are stale

	// The feed's own view of the newest attempt, which is ahead of the workflow's state: an
	// attempt is running once the update that started it returned or one of its codes arrived,
	// and has ended once its terminal item arrived.
	startedAttempt int
	endedAttempt   int
	endedPhase     string // timeout or error

	last          statusFrame
	connectedSent bool
	activeSent    bool
	queryFailing  bool      // the page was told that the state cannot be read
	failingSince  time.Time // the first of the readings failing now (zero: the last one was good)
	feedFailing   bool
}

// runFeed sends the current state once the hub has a reading, then each new reading, and polls
// the session's pairing items.
func (s *wsSession) runFeed() {
	f := &feed{s: s}
	feedTick := time.NewTicker(s.h.feedEvery)
	defer feedTick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case attempt := <-s.kick:
			f.attempt = max(f.attempt, attempt)
			f.startedAttempt = max(f.startedAttempt, attempt)
			if f.haveState {
				f.publish()
			}
			s.h.hub.kickPoll(s.salonID)
		case <-s.updates:
			if u, ok := s.takeUpdate(); ok && f.apply(u) {
				if !f.primed {
					f.connect()
				} else {
					f.publish()
				}
			}
		case <-feedTick.C:
			f.pollPairing()
		}
	}
}

// connect tells a newly connected page where things stand, once the first reading is in: the
// status, then the running attempt's current code. The pairing table is read before the
// status goes out, so that the status already reflects the attempt the code belongs to.
func (f *feed) connect() {
	// Read even when not pairing (yet): the cursor must move past items of earlier runs.
	var resume []pairing.Item
	if items, ok := f.readPairing(); ok {
		f.primed = true
		resume = f.resumable(items)
	}
	f.publish()
	for _, it := range resume {
		f.handleItem(it)
	}
}

// apply takes one reading of the installation's state. Failed readings tell the page once: at
// once when the installation is gone or the page has no state yet, else when the server has not
// answered for queryGrace (a busy server's late answer is not worth a red line on the owner's
// page). A reading of another installation than the session's closes the page. It reports whether
// the state is usable.
func (f *feed) apply(u stateUpdate) bool {
	if u.err != nil {
		if f.s.ctx.Err() != nil || f.queryFailing {
			return false
		}
		now := f.s.h.now()
		if f.failingSince.IsZero() {
			f.failingSince = now
			f.s.log.Warn("status query failed", slog.String("error", u.err.Error()))
		}
		msg := textNoServer
		switch {
		case workflowNotFound(u.err):
			msg = textUnknownSalon
		case f.haveState && temporalUnavailable(u.err) && now.Sub(f.failingSince) < queryGrace:
			return false // the page keeps showing the last state a while: the server may be busy
		}
		f.queryFailing = true
		f.s.sendFrame(errorFrame(msg))
		return false
	}
	f.failingSince = time.Time{}
	if u.st.InstallID != f.s.claims.Install {
		f.s.closeWith(textGone)
		return false
	}
	if f.queryFailing {
		f.queryFailing = false
		f.last = statusFrame{} // send the status again: it clears the page's error line
	}
	f.st, f.haveState = u.st, true
	f.attempt = max(f.attempt, u.st.Pairing.Attempt)
	f.s.setStatus(u.st.Status)
	return true
}

// publish sends what changed: a status frame, then connected and active once each.
func (f *feed) publish() {
	st := f.st
	f.sendStatus()
	if st.WhatsApp.Phone != "" && !f.connectedSent {
		f.connectedSent = true
		f.s.sendFrame(connectedFrame{Type: "connected", Phone: st.WhatsApp.Phone, Name: st.WhatsApp.Name})
	}
	if st.Status == workflows.StatusActive && !f.activeSent {
		f.activeSent = true
		f.s.sendFrame(activeFrame{Type: "active", RedirectURL: safeRedirect(st.RedirectURL)})
	}
}

// phase is the pairing phase the page shows: the feed's own knowledge of the newest attempt
// first, then the workflow's pairing state.
func (f *feed) phase() string {
	st := f.st.Pairing
	current := max(st.Attempt, f.attempt)
	switch {
	case current > 0 && f.endedAttempt >= current:
		return f.endedPhase
	case current > 0 && f.startedAttempt >= current:
		return phaseRunning
	case st.Session != "" && st.Session != f.s.claims.session() && st.Attempt >= current:
		return phaseElsewhere // the codes go to the window that asked for them
	case st.Running:
		return phaseRunning
	}
	return pairingPhase(st)
}

// sendStatus sends the status frame when it differs from the last one sent.
func (f *feed) sendStatus() {
	st := f.st
	phase := pairingPhase(st.Pairing)
	if pairingStatus(st.Status) {
		phase = f.phase()
	}
	lastError := st.Pairing.LastError
	if f.endedAttempt > 0 && phase == f.endedPhase {
		lastError = "" // the item's own message went out as an error frame
	}
	frame := statusFrame{
		Type:    "status",
		Status:  string(st.Status),
		Message: statusText(st.Status, phase, st.Pairing.Method, lastError, st.Reason),
		Pairing: phase,
		Attempt: max(st.Pairing.Attempt, f.attempt),
	}
	if frame != f.last {
		f.last = frame
		f.s.sendFrame(frame)
	}
}

// pollPairing reads new pairing items while the owner is pairing. The first read also sets the
// cursor past older items, and resends the newest unexpired code of a running attempt.
func (f *feed) pollPairing() {
	if !f.haveState || (f.primed && !pairingStatus(f.st.Status)) {
		return
	}
	items, ok := f.readPairing()
	if !ok {
		return
	}
	if !f.primed {
		f.primed = true
		items = f.resumable(items)
		f.sendStatus()
	}
	for _, it := range items {
		f.cursor = max(f.cursor, it.ID)
		if it.Attempt < f.attempt {
			continue // superseded by a newer attempt
		}
		f.attempt = it.Attempt
		f.handleItem(it)
	}
}

// readPairing reads the items after the cursor; a failure is logged once until it recovers.
func (f *feed) readPairing() ([]pairing.Item, bool) {
	ctx, cancel := context.WithTimeout(f.s.ctx, queryTimeout)
	defer cancel()
	items, err := f.s.h.feed.Since(ctx, f.s.salonID, f.s.claims.session(), f.cursor)
	if err != nil {
		if f.s.ctx.Err() == nil && !f.feedFailing {
			f.feedFailing = true
			f.s.log.Warn("pairing feed failed", slog.String("error", err.Error()))
		}
		return nil, false
	}
	f.feedFailing = false
	return items, true
}

// resumable picks, of the items present when the page connects, what a reloaded page still
// needs: the current attempt's unexpired code, unless that attempt has ended (then its end is
// recorded without repeating its frames). The cursor moves past everything. The current attempt
// is the workflow's: its items exist only after the update that numbered it, so items with other
// numbers are stale (an earlier attempt, or an earlier run of the workflow). Within the attempt
// the items are taken in order, so a code after an end belongs to a newer run.
func (f *feed) resumable(items []pairing.Item) []pairing.Item {
	current := f.st.Pairing.Attempt
	var code *pairing.Item
	ended := false
	for i := range items {
		it := &items[i]
		f.cursor = max(f.cursor, it.ID)
		if current == 0 || it.Attempt != current {
			continue
		}
		switch it.Kind {
		case whatsapp.PairQR, whatsapp.PairCode:
			code, ended = it, false
			f.endedAttempt, f.endedPhase = 0, ""
		case whatsapp.PairTimeout:
			code, ended = nil, true
			f.endedAttempt, f.endedPhase = it.Attempt, phaseTimeout
		case whatsapp.PairError:
			code, ended = nil, true
			f.endedAttempt, f.endedPhase = it.Attempt, phaseError
		case whatsapp.PairSuccess:
			code, ended = nil, true
		}
	}
	if ended || code == nil {
		return nil
	}
	f.startedAttempt = max(f.startedAttempt, current)
	return []pairing.Item{*code}
}

// handleItem turns one pairing item into frames. Codes are secrets: they go to the page only.
func (f *feed) handleItem(it pairing.Item) {
	switch it.Kind {
	case whatsapp.PairQR:
		left := secondsLeft(it.ExpiresAt)
		if left <= 0 {
			return
		}
		f.started(it.Attempt)
		img, err := whatsapp.QRDataURL(it.Code)
		if err != nil {
			f.s.log.Error("render QR", slog.Int64("itemID", it.ID), slog.String("error", err.Error()))
			f.s.sendFrame(errorFrame(textQRFailed))
			return
		}
		f.s.sendFrame(qrFrame{Type: "qr", Image: img, ExpiresIn: left})
	case whatsapp.PairCode:
		if left := secondsLeft(it.ExpiresAt); left > 0 {
			f.started(it.Attempt)
			f.s.sendFrame(codeFrame{Type: "pairing-code", Code: it.Code, ExpiresIn: left})
		}
	case whatsapp.PairTimeout:
		f.endedAttempt, f.endedPhase = it.Attempt, phaseTimeout
		f.sendStatus()
	case whatsapp.PairError:
		f.endedAttempt, f.endedPhase = it.Attempt, phaseError
		f.sendStatus()
		msg := it.Message
		if msg == "" {
			msg = textPairFailed
		}
		f.s.sendFrame(errorFrame(msg))
	case whatsapp.PairSuccess:
		f.s.h.hub.kickPoll(f.s.salonID) // the workflow records the phone; show it as soon as it may
	}
}

// started records that an attempt is showing codes, and tells the page if that is news.
func (f *feed) started(attempt int) {
	if attempt > f.startedAttempt {
		f.startedAttempt = attempt
		f.sendStatus()
	}
}

// secondsLeft rounds the remaining validity up to whole seconds.
func secondsLeft(t time.Time) int {
	return int(math.Ceil(time.Until(t).Seconds()))
}

// safeRedirect lets only http(s) URLs through to the page's link back to YClients.
func safeRedirect(u string) string {
	l := strings.ToLower(u)
	if strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		return u
	}
	return yclientsURL
}

// pairingStatus reports whether the owner pairs WhatsApp in this status: the first time, or
// again after the phone unlinked the device.
func pairingStatus(s workflows.Status) bool {
	return s == workflows.StatusPendingWhatsApp || s == workflows.StatusNeedsRelink
}
