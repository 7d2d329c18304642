package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/workflows"
)

// relinkKey derives the re-link tokens' key from the session secret, so that a re-link token
// is never accepted as a websocket session token, nor the other way round (their audiences
// differ too).
func relinkKey(sessionSecret []byte) []byte {
	mac := hmac.New(sha256.New, sessionSecret)
	mac.Write([]byte("aiadmin relink v1"))
	return mac.Sum(nil)
}

// RelinkLink names the unlink a re-link link is for.
type RelinkLink struct {
	SalonID    int64
	InstallID  string // workflows.State.InstallID
	Generation int    // workflows.State.RelinkGen
}

// RelinkURL returns the signed connect-page link a salon owner gets when the phone unlinked
// WhatsApp: it opens the connect page for re-pairing, without a new marketplace install, for
// ttl, and only until the owner has paired again. The token is a secret: deliver the link to
// the owner, never log it.
func RelinkURL(publicURL string, sessionSecret []byte, l RelinkLink, ttl time.Duration, now time.Time) (string, error) {
	s := sessions{key: relinkKey(sessionSecret), aud: audRelink, now: func() time.Time { return now }}
	token, err := s.issue(sessionClaims{SalonID: l.SalonID, Install: l.InstallID, RelinkGen: l.Generation}, ttl)
	if err != nil {
		return "", fmt.Errorf("re-link token: %w", err)
	}
	return strings.TrimRight(publicURL, "/") + "/connect/relink?token=" + url.QueryEscape(token), nil
}

// relinkHandler serves GET /connect/relink?token=…: the re-link link's landing page.
type relinkHandler struct {
	relink   sessions // verifies re-link tokens
	sessions sessions // issues the page's websocket session
	temporal temporalAPI
	pages    *pages
	log      *slog.Logger
}

func (h *relinkHandler) open(c *gin.Context) {
	claims, err := h.relink.verify(c.Query("token"))
	if err != nil {
		abort(c, fail(kindForbidden, "invalid re-link link").because(err).withPage("Ссылка недействительна",
			"Ссылка для повторной привязки WhatsApp устарела или повреждена.",
			"Ссылка действует 24 часа. Откройте AI Admin из маркетплейса YClients, чтобы привязать WhatsApp заново."))
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), queryTimeout)
	defer cancel()
	v, err := h.temporal.QueryWorkflow(ctx, workflows.InstallationID(claims.SalonID), "", workflows.QueryStatus)
	if err != nil {
		if workflowNotFound(err) {
			abort(c, fail(kindNotFound, "installation not running").withPage("Установка не найдена",
				"AI Admin для этого салона сейчас не установлен.",
				"Подключите AI Admin из маркетплейса YClients."))
			return
		}
		abort(c, classify(err))
		return
	}
	var st workflows.State
	if err := v.Get(&st); err != nil {
		abort(c, err)
		return
	}
	if err := relinkUsable(claims, st); err != nil {
		abort(c, err)
		return
	}
	token, err := h.sessions.issue(sessionClaims{SalonID: claims.SalonID, Install: st.InstallID, Pair: true,
		RelinkGen: claims.RelinkGen}, sessionTTL)
	if err != nil {
		abort(c, err)
		return
	}
	h.log.Info("re-link page opened", slog.Int64("salonID", claims.SalonID), slog.String("status", string(st.Status)))
	h.pages.renderConnect(c, connectData{
		SalonID:    claims.SalonID,
		SalonName:  st.SalonName,
		SalonPhone: st.SalonPhone,
		Token:      token,
		Status:     string(st.Status),
		Message:    statusMessage(st),
	})
}

// relinkUsable checks that a re-link link is for this installation's current unlink: it is
// spent once the owner has paired again (the installation is no longer waiting for it), and a
// link made before an uninstall, or for an earlier unlink, opens nothing.
func relinkUsable(claims sessionClaims, st workflows.State) error {
	switch {
	case claims.Install != st.InstallID:
		return fail(kindUnauthorized, "re-link link of another installation").withPage("Ссылка устарела",
			"Эта ссылка была для прежней установки AI Admin.",
			"Откройте AI Admin из маркетплейса YClients, чтобы посмотреть, как дела у подключения сейчас.")
	case st.Status != workflows.StatusNeedsRelink || claims.RelinkGen != st.RelinkGen:
		return fail(kindForbidden, "re-link link already used").withPage("Ссылка уже использована",
			"WhatsApp уже привязан заново по этой ссылке, или она устарела.",
			"Если WhatsApp снова отключился, мы пришлём новую ссылку. Состояние подключения видно в AI Admin в YClients.")
	}
	return nil
}
