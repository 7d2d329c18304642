package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db/secretbox"
	"github.com/aiadmin/aiadmin/workflows"
)

// redirectFor is the registration redirect the fake YClients issues for salon: what an owner's
// browser follows after «Подключить».
func (s *stack) redirectFor(salon int64) string {
	s.t.Helper()
	resp, err := s.http.Get(s.cfg.YClientsBaseURL + fmt.Sprintf("/_fake/marketplace/redirect?salon_id=%d", salon))
	require.NoError(s.t, err)
	resp.Body.Close()
	require.Equal(s.t, http.StatusFound, resp.StatusCode)
	return resp.Header.Get("Location")
}

// page GETs a page and returns its status, body and session token (if any).
func (s *stack) page(u string) (int, string, string) {
	s.t.Helper()
	resp, err := s.http.Get(u)
	require.NoError(s.t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := ""
	if m := tokenRE.FindStringSubmatch(string(body)); m != nil {
		token = m[1]
	}
	return resp.StatusCode, string(body), token
}

// userRedirect is a redirect to our registration page signed (as YClients does) for the
// given YClients user and salon name, with salon_id as given.
func (s *stack) userRedirect(salonID, userID int64, salonName string) string {
	data := fmt.Sprintf(`{"id":%d,"name":"Сотрудник","salon_name":%q}`, userID, salonName)
	mac := hmac.New(sha256.New, []byte(s.cfg.YClientsPartnerToken))
	mac.Write([]byte(data))
	return s.cfg.PublicURL + "/marketplace/register?" + url.Values{"salon_id": {fmt.Sprint(salonID)},
		"user_data": {base64.URLEncoding.EncodeToString([]byte(data))}, "user_data_sign": {hex.EncodeToString(mac.Sum(nil))}}.Encode()
}

// handshake dials the websocket and returns the HTTP status of its answer.
func (s *stack) handshake(token string) int {
	s.t.Helper()
	wsURL := "ws" + strings.TrimPrefix(s.cfg.PublicURL, "http") + "/ws/connect?token=" + token
	conn, resp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {s.cfg.PublicURL}})
	if err == nil {
		conn.Close()
		return http.StatusSwitchingProtocols
	}
	require.ErrorIs(s.t, err, websocket.ErrBadHandshake)
	resp.Body.Close()
	return resp.StatusCode
}

// TestRedirectSignedForAnotherSalonIsRefused: user_data is signed, salon_id is not. The owner
// of one salon swaps in another salon's ID: 403, and no workflow of that salon is touched.
func TestRedirectSignedForAnotherSalonIsRefused(t *testing.T) {
	s := newStack(t)
	own := s.redirectFor(s.moscow)
	swapped := strings.Replace(own, fmt.Sprintf("salon_id=%d", s.moscow), fmt.Sprintf("salon_id=%d", s.vladivostok), 1)
	require.NotEqual(t, own, swapped)
	status, body, token := s.page(swapped)
	require.Equal(t, http.StatusForbidden, status, body)
	require.Contains(t, body, "Ссылка не подходит к этому салону")
	require.Empty(t, token, "no session for the victim's salon")
	_, err := s.app.Temporal.DescribeWorkflowExecution(context.Background(), workflows.InstallationID(s.vladivostok), "")
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "the victim's installation was never started or touched")

	// The owner's own redirect works.
	status, body, token = s.page(own)
	require.Equal(t, http.StatusOK, status, body)
	require.NotEmpty(t, token)
}

// TestPairingBelongsToItsOwnerAndItsWindow: while an installation pairs, another YClients user
// of the salon gets no pairing page; the owner's QR codes go only to the window that asked for
// them, and the other window is told «Подключение открыто в другом окне».
func TestPairingBelongsToItsOwnerAndItsWindow(t *testing.T) {
	s := newStack(t)
	_, _, first := s.page(s.redirectFor(s.moscow))
	_, _, second := s.page(s.redirectFor(s.moscow))
	require.NotEmpty(t, first)
	require.NotEmpty(t, second)
	salonName := s.state().SalonName
	status, body, token := s.page(s.userRedirect(s.moscow, 999_001, salonName))
	require.Equal(t, http.StatusForbidden, status, body)
	require.Contains(t, body, "Подключение уже начато")
	require.Empty(t, token)

	a, b := s.dial(first), s.dial(second)
	require.NoError(t, a.WriteJSON(map[string]string{"type": "request-qr"}))
	next(t, a, "qr", nil)
	// The other window is told, and sees no code (the page learns of the attempt within a
	// poll of the installation, 5 s at most).
	awaitElsewhere(t, b)

	// The other window takes over: now it alone gets codes. The first window may still show
	// its own attempt's last code until it learns of the newer attempt; after that, nothing.
	require.NoError(t, b.WriteJSON(map[string]string{"type": "request-qr"}))
	next(t, b, "qr", nil)
	awaitElsewhere(t, a)
	for _, f := range framesFor(t, a, 2*time.Second) {
		require.NotEqual(t, "qr", f.Type, "the first window still gets codes")
	}
}

// awaitElsewhere reads a window's frames until it is told «Подключение открыто в другом
// окне»; no code of another window's attempt may reach it meanwhile.
func awaitElsewhere(t *testing.T, conn *websocket.Conn) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))
	for {
		var f frame
		require.NoError(t, conn.ReadJSON(&f), "waiting for «открыто в другом окне»")
		require.NotEqual(t, "pairing-code", f.Type)
		if strings.Contains(f.Message, "открыто в другом окне") {
			return
		}
	}
}

// TestSessionFromBeforeAReinstallIsRefused: a page token names its installation; after an
// uninstall and a reinstall it opens nothing (401).
func TestSessionFromBeforeAReinstallIsRefused(t *testing.T) {
	s := newStack(t)
	_, _, old := s.page(s.redirectFor(s.moscow))
	require.Equal(t, http.StatusSwitchingProtocols, s.handshake(old))
	s.lifecycle(s.cfg.YClientsBaseURL, "uninstall")
	s.waitRun(workflows.InstallationID(s.moscow))
	status, body, fresh := s.page(s.redirectFor(s.moscow))
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, http.StatusUnauthorized, s.handshake(old), "a token of the uninstalled installation")
	require.Equal(t, http.StatusSwitchingProtocols, s.handshake(fresh))
}

// TestAtMostThreePagesPerSalon: a fourth window closes the oldest, which is told why and
// does not come back.
func TestAtMostThreePagesPerSalon(t *testing.T) {
	s := newStack(t)
	_, _, token := s.page(s.redirectFor(s.moscow))
	oldest := s.dial(token)
	next(t, oldest, "status", nil)
	for range 3 {
		c := s.dial(token)
		next(t, c, "status", nil)
	}
	closed := next(t, oldest, "closed", nil)
	require.Contains(t, closed.Message, "другом окне")
	require.NoError(t, oldest.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		_, _, err := oldest.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		require.ErrorAs(t, err, &ce, "the server closes the oldest window")
		require.Equal(t, 4000, ce.Code)
		return
	}
}

// framesFor reads frames for d.
func framesFor(t *testing.T, conn *websocket.Conn, d time.Duration) []frame {
	t.Helper()
	var out []frame
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(d)))
	for {
		var f frame
		if err := conn.ReadJSON(&f); err != nil {
			return out
		}
		out = append(out, f)
	}
}

// TestNoPhoneInHistory: adapters' send errors name the recipient's JID, as whatsmeow's do. The
// owner's welcome and a client's confirmation both fail so; neither the failures nor any plain
// payload in the installation's or the booking's history carries a phone number.
func TestNoPhoneInHistory(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	limited := fmt.Errorf("%w: server returned error 463", whatsapp.ErrReachoutLimited)
	s.phone.SetSendError("79990001122", limited) // the owner's number the scan links
	s.activate(salon)
	s.noPacing(salon)
	require.Eventually(t, func() bool { return s.state().WelcomeSent }, 10*time.Second, 20*time.Millisecond)
	s.phone.SetSendError(clientPhone, limited)
	_, local := localIn(t, "Europe/Moscow", 3, "14:30")
	rec := s.bookRecord(salon, local)
	bookingID := workflows.BookingID(salon, rec.ID)
	require.Eventually(t, func() bool {
		st, err := s.app.Temporal.QueryWorkflow(context.Background(), bookingID, "", workflows.QueryBooking)
		var b workflows.BookingState
		return err == nil && st.Get(&b) == nil && len(b.Messages) > 0
	}, 20*time.Second, 50*time.Millisecond)
	b := s.booking(salon, rec.ID)
	require.Equal(t, ledger.Failed, b.Messages[0].Outcome, "the confirmation failed for good")
	require.Contains(t, b.Messages[0].Reason, "@s.whatsapp.net", "the reason keeps the JID's shape: %s", b.Messages[0].Reason)
	for _, id := range []string{workflows.InstallationID(salon), bookingID} {
		require.Empty(t, phonesInHistory(t, s.app.Temporal, id, ""), "phone numbers in the history of %s", id)
	}
	rows, err := s.app.Store.ListMessages(context.Background(), salon)
	require.NoError(t, err)
	for _, r := range rows {
		require.Equal(t, whatsapp.RedactPhones(r.Reason), r.Reason, "ledger reason %q", r.Reason)
	}
}

// TestKeyRotationWithLiveBookings: SECRET_KEYS gets a new key in front of the old one while a
// booking workflow runs (its history sealed with the old key). After the restart the booking
// keeps working, new payloads are sealed with the new key, and what the old key sealed in the
// database still opens.
func TestKeyRotationWithLiveBookings(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	s.activate(salon)
	s.noPacing(salon)
	_, local := localIn(t, "Europe/Moscow", 3, "14:30")
	rec := s.bookRecord(salon, local)
	s.waitClientTexts(salon, 1)

	oldKey, newKey := s.cfg.SecretKey, bytes.Repeat([]byte{7}, 32)
	s.restart(func(c *config.Config) { c.SecretKey, c.PreviousSecretKeys = newKey, [][]byte{oldKey} })
	_, movedLocal := localIn(t, "Europe/Moscow", 4, "11:00")
	_, err := s.fake.UpdateRecord(salon, rec.ID, yclientsfake.RecordChange{Datetime: &movedLocal})
	require.NoError(t, err)
	got := s.waitClientTexts(salon, 2)
	require.Contains(t, got[1], "перенесена", "the running booking works on after the rotation")
	require.Contains(t, got[1], "11:00")

	newID := secretbox.KeyID(newKey)
	var sealedWith []string
	iter := s.app.Temporal.GetWorkflowHistory(context.Background(), workflows.BookingID(salon, rec.ID), "", false,
		enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil {
			for _, p := range a.GetInput().GetPayloads() {
				sealedWith = append(sealedWith, string(p.GetMetadata()["encryption-key-id"]))
			}
		}
	}
	require.Len(t, sealedWith, 2)
	require.NotEqual(t, hex.EncodeToString(newID[:]), sealedWith[0], "the first signal was sealed before the rotation")
	require.Equal(t, hex.EncodeToString(newID[:]), sealedWith[1], "the signal after the rotation is sealed with the new key")

	sec, err := s.app.Store.GetSalonSecrets(context.Background(), salon)
	require.NoError(t, err)
	_, err = s.app.Box.Open(sec.APIKeyEnc, []byte(fmt.Sprintf("api_key:%d", salon)))
	require.NoError(t, err, "the api key sealed with the old key still opens")
	fresh, err := s.app.Box.Seal([]byte("x"), nil)
	require.NoError(t, err)
	require.Equal(t, newID[:], fresh[1:5], "new values are sealed with the new key")
}
