package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/aiadmin/aiadmin/workflows"
)

// feedUnderTest is one page's feed with a clock the test moves, and the frames it sent.
type feedUnderTest struct {
	t   *testing.T
	now time.Time
	f   *feed
}

func newFeedUnderTest(t *testing.T) *feedUnderTest {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ft := &feedUnderTest{t: t, now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	h := &wsHandler{now: func() time.Time { return ft.now }}
	s := &wsSession{h: h, claims: sessionClaims{SalonID: 42, Install: "i-1", Pair: true}, salonID: 42,
		send: make(chan []byte, sendBuffer), ctx: ctx, cancel: cancel, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ft.f = &feed{s: s}
	return ft
}

// apply hands the feed one reading at the test's clock and returns the frames it sent.
func (ft *feedUnderTest) apply(after time.Duration, u stateUpdate) []map[string]any {
	ft.t.Helper()
	ft.now = ft.now.Add(after)
	if ft.f.apply(u) {
		ft.f.publish()
	}
	var frames []map[string]any
	for len(ft.f.s.send) > 0 {
		var m map[string]any
		require.NoError(ft.t, json.Unmarshal(<-ft.f.s.send, &m))
		frames = append(frames, m)
	}
	return frames
}

func pendingReading() stateUpdate {
	return stateUpdate{st: workflows.State{SalonID: 42, InstallID: "i-1", Status: workflows.StatusPendingWhatsApp}}
}

func slowReading() stateUpdate {
	return stateUpdate{err: serviceerror.NewDeadlineExceeded("context deadline exceeded")}
}

// A page that shows the salon's state keeps showing it through a reading or two that time out
// (a busy server: the owner is scanning the QR code and should not see a red error for it);
// only when the readings have failed for queryGrace is the owner told, and the next good
// reading clears the error line.
func TestFeedRidesOutASlowReading(t *testing.T) {
	ft := newFeedUnderTest(t)
	frames := ft.apply(0, pendingReading())
	require.Len(t, frames, 1, "the first reading: got %v want one status frame", frames)
	require.Equal(t, "status", frames[0]["type"])

	frames = ft.apply(statusPollEvery+queryTimeout, slowReading())
	require.Empty(t, frames, "one slow reading: got %v want no frame", frames)
	frames = ft.apply(statusPollEvery+queryTimeout, slowReading())
	require.Empty(t, frames, "a second one, %s after the first: got %v want no frame", statusPollEvery+queryTimeout, frames)
	frames = ft.apply(statusPollEvery, pendingReading())
	require.Empty(t, frames, "a good reading of the same state: got %v want no frame", frames)

	// Failing for queryGrace: now the owner is told, once.
	frames = ft.apply(statusPollEvery, slowReading())
	require.Empty(t, frames)
	var told []map[string]any
	for waited := time.Duration(0); waited < queryGrace+statusPollEvery+queryTimeout; waited += statusPollEvery + queryTimeout {
		told = append(told, ft.apply(statusPollEvery+queryTimeout, slowReading())...)
	}
	require.Equal(t, []map[string]any{{"type": "error", "message": textNoServer}}, told,
		"readings failing for %s: got %v want the unavailable frame once", queryGrace, told)

	frames = ft.apply(statusPollEvery, pendingReading())
	require.Len(t, frames, 1, "the reading after the outage: got %v want the status again (it clears the error line)", frames)
	require.Equal(t, "status", frames[0]["type"])
}

// What is not a slow server is told at once: the installation is gone, or the page has nothing
// to show yet.
func TestFeedTellsAtOnceWhatWaitingCannotMend(t *testing.T) {
	ft := newFeedUnderTest(t)
	ft.apply(0, pendingReading())
	frames := ft.apply(statusPollEvery, stateUpdate{err: serviceerror.NewNotFound("workflow not found")})
	require.Equal(t, []map[string]any{{"type": "error", "message": textUnknownSalon}}, frames,
		"the installation's workflow is gone: got %v", frames)

	ft = newFeedUnderTest(t)
	frames = ft.apply(queryTimeout, slowReading())
	require.Equal(t, []map[string]any{{"type": "error", "message": textNoServer}}, frames,
		"no reading yet and the first one failed: got %v want the unavailable frame", frames)
}
