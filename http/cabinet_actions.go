package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/workflows"
)

// sampleWait is how long «Отправить пример себе» waits for the worker's answer before telling
// the page the example is on its way.
const sampleWait = 10 * time.Second

// sampleAnswer tells the page what became of the example.
type sampleAnswer struct {
	Status  string `json:"status"`  // sent, sending, failed
	Message string `json:"message"` // Russian
}

// sample sends the draft, rendered with an example visit, to the salon's own linked number:
// the send-sample workflow runs it on the worker that owns the salon's WhatsApp connection.
// One per sampleEvery per salon.
func (h *cabinetHandler) sample(c *gin.Context) {
	s := sessionOf(c)
	r, err := readTextRequest(c)
	if err != nil {
		abort(c, err)
		return
	}
	if s.st.Status == workflows.StatusNeedsRelink || s.st.WhatsApp.Phone == "" {
		abort(c, fail(kindConflict, "whatsapp not linked").saying("WhatsApp салона не подключён: пример отправить некуда."))
		return
	}
	preview, err := h.render(c.Request.Context(), s.claims.SalonID, r, false)
	if err != nil {
		abort(c, err)
		return
	}
	if preview.Error != "" {
		abort(c, fail(kindBadRequest, "invalid template").withFields(map[string]string{"text": preview.Error}).saying(preview.Error))
		return
	}
	if ok, wait := h.samples.allow(s.claims.SalonID, h.now()); !ok {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		abort(c, fail(kindTooMany, "one sample per 30 s").saying(fmt.Sprintf(
			"Пример можно отправлять раз в 30 секунд. Попробуйте через %d с.", int(math.Ceil(wait.Seconds())))))
		return
	}
	out, err := h.sendSample(c.Request.Context(), s.claims.SalonID, texts.Kind(r.Kind), preview.Text)
	if err != nil {
		abort(c, classify(err).saying(textNoServer))
		return
	}
	c.JSON(http.StatusOK, h.sampleAnswer(out, s.st.WhatsApp.Phone))
}

// sendSample starts the example's workflow and waits a little for its result; ledger.Paused
// stands for «still on its way».
func (h *cabinetHandler) sendSample(ctx context.Context, salonID int64, kind texts.Kind, text string) (activities.SampleOutput, error) {
	id := newUUID()
	in := activities.SampleInput{SalonID: salonID, Key: keyOf(id), Kind: kind, Text: text}
	run, err := h.starter.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.SampleID(salonID, id),
		TaskQueue:                h.taskQueue(),
		WorkflowExecutionTimeout: 2 * time.Minute,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchAttrSalonID.ValueSet(strconv.FormatInt(salonID, 10))),
		Priority: workflows.OwnerWaiting, // the owner waits for it in the cabinet
	}, workflows.SendSampleWorkflowName, in)
	if err != nil {
		return activities.SampleOutput{}, err
	}
	h.log.Info("sample message requested", slog.Int64("salonID", salonID), slog.String("kind", string(kind)))
	wctx, cancel := context.WithTimeout(ctx, sampleWait)
	defer cancel()
	var out activities.SampleOutput
	if err := run.Get(wctx, &out); err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			return activities.SampleOutput{Outcome: ledger.Paused}, nil
		}
		h.log.Warn("sample message failed", slog.Int64("salonID", salonID), slog.String("error", err.Error()))
		return activities.SampleOutput{Outcome: ledger.Failed}, nil
	}
	return out, nil
}

func (h *cabinetHandler) sampleAnswer(out activities.SampleOutput, phone string) sampleAnswer {
	to := phone
	if p, err := whatsapp.DisplayPhone(phone); err == nil {
		to = p
	}
	switch out.Outcome {
	case ledger.Sent:
		return sampleAnswer{Status: "sent", Message: "Пример отправлен в WhatsApp на номер салона " + to + "."}
	case ledger.Paused:
		return sampleAnswer{Status: "sending", Message: "Пример отправляется на номер салона " + to + ". Проверьте WhatsApp через минуту."}
	}
	return sampleAnswer{Status: "failed", Message: "Пример не отправлен: WhatsApp салона сейчас не на связи. Проверьте, что телефон салона включён, и попробуйте ещё раз."}
}

func (h *cabinetHandler) taskQueue() string {
	if h.cfg.TaskQueue != "" {
		return h.cfg.TaskQueue
	}
	return workflows.TaskQueue
}

// textRelinkSent is what the page says once the re-link link went to the owner.
const textRelinkSent = "Ссылка отправлена владельцу"

// relink sends the owner a fresh signed re-link link, on the owner's second channel, when the
// phone unlinked WhatsApp. The cabinet never pairs: re-pairing happens only from that link.
// One per relinkEvery per salon.
func (h *cabinetHandler) relink(c *gin.Context) {
	s := sessionOf(c)
	if s.st.Status != workflows.StatusNeedsRelink {
		abort(c, fail(kindConflict, "whatsapp is not waiting for a re-link").
			saying("WhatsApp салона не отвязан: переподключать его не нужно. Обновите страницу."))
		return
	}
	if h.owner == nil {
		abort(c, fail(kindUnavailable, "no owner channel").saying(textNoServer))
		return
	}
	if ok, wait := h.relinks.allow(s.claims.SalonID, h.now()); !ok {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		abort(c, fail(kindTooMany, "one re-link link per minute").saying(
			"Ссылку только что отправили владельцу. Новую можно запросить через минуту."))
		return
	}
	link, err := RelinkURL(h.cfg.PublicURL, h.cfg.SessionSecret, RelinkLink{SalonID: s.claims.SalonID,
		InstallID: s.st.InstallID, Generation: s.st.RelinkGen}, activities.RelinkTTL, h.now())
	if err != nil {
		abort(c, err)
		return
	}
	err = h.owner.NotifyOwner(c.Request.Context(), notify.OwnerNotice{SalonID: s.claims.SalonID, Kind: "relink",
		Message: "Вы запросили новую ссылку для привязки WhatsApp салона к AI Admin. " +
			"Откройте её в течение 24 часов и отсканируйте QR-код телефоном салона.", URL: link})
	if err != nil {
		h.relinks.forget(s.claims.SalonID)
		abort(c, fail(kindUnavailable, "owner channel failed").because(err).
			saying("Не удалось отправить ссылку владельцу. Попробуйте ещё раз через минуту."))
		return
	}
	h.log.Info("re-link link sent from the cabinet", slog.Int64("salonID", s.claims.SalonID), slog.Int("generation", s.st.RelinkGen))
	c.JSON(http.StatusOK, gin.H{"message": textRelinkSent})
}

// salonLimiter admits one action per salon per every, in this process.
type salonLimiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[int64]time.Time
}

func newSalonLimiter(every time.Duration) *salonLimiter {
	return &salonLimiter{every: every, last: map[int64]time.Time{}}
}

// allow admits the action now, or says how long to wait.
func (l *salonLimiter) allow(salonID int64, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.last[salonID].Add(l.every).Sub(now); wait > 0 {
		return false, wait
	}
	if len(l.last) > 1000 {
		for id, at := range l.last {
			if now.Sub(at) >= l.every {
				delete(l.last, id)
			}
		}
	}
	l.last[salonID] = now
	return true, 0
}

// forget gives the salon its action back (it failed before anything happened).
func (l *salonLimiter) forget(salonID int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.last, salonID)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// keyOf derives the example's ledger record key from its request UUID: positive, the same for
// every attempt of the same request, fresh for every request.
func keyOf(uuid string) int64 {
	v, _ := strconv.ParseUint(strings.ReplaceAll(uuid, "-", "")[:16], 16, 64)
	return int64(v & math.MaxInt64)
}
