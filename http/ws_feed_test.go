package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"

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

// stateValue is a query's answer.
type stateValue struct{ st workflows.State }

func (v stateValue) HasValue() bool { return true }
func (v stateValue) Get(p any) error {
	*p.(*workflows.State) = v.st
	return nil
}

// scriptedTemporal answers the status query from a script of states (the last one repeats),
// or with err when set, and ends the test's poller after a number of queries.
type scriptedTemporal struct {
	temporalAPI
	script  []workflows.State
	err     error
	queries int
	stopAt  int
	stop    context.CancelFunc
}

func (s *scriptedTemporal) QueryWorkflow(context.Context, string, string, string, ...any) (converter.EncodedValue, error) {
	s.queries++
	if s.queries == s.stopAt {
		s.stop()
	}
	if s.err != nil {
		return nil, s.err
	}
	return stateValue{st: s.script[min(s.queries-1, len(s.script)-1)]}, nil
}

// pollerUnderTest is a hub whose poller's clock moves only when the poller waits.
func pollerUnderTest(tc temporalAPI) (*hub, *[]time.Duration, func(kick chan struct{}, at func() bool)) {
	h := newHub(tc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	var waits []time.Duration
	var kick chan struct{}
	var kickNow func() bool
	h.after = func(d time.Duration) <-chan time.Time {
		waits = append(waits, d)
		if kickNow != nil && kickNow() {
			kickNow = nil
			kick <- struct{}{}
			return nil // the kick comes first
		}
		now = now.Add(d)
		c := make(chan time.Time, 1)
		c <- now
		return c
	}
	return h, &waits, func(k chan struct{}, at func() bool) { kick, kickNow = k, at }
}

// pollWaits runs one salon's poller over the script until it has made n queries and returns
// the waits it asked for between them; kickAt kicks it (a page's pairing request) while it
// waits after that many queries.
func pollWaits(t *testing.T, script []workflows.State, n, kickAt int) []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tc := &scriptedTemporal{script: script, stopAt: n, stop: cancel}
	h, waits, kickWhen := pollerUnderTest(tc)
	r := &room{kick: make(chan struct{}, 1), stop: cancel}
	kickWhen(r.kick, func() bool { return tc.queries == kickAt })
	h.poll(ctx, 42, r)
	require.Equal(t, n, tc.queries)
	return *waits
}

func seconds(s ...int) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v) * time.Second
	}
	return out
}

// For statusPollFast after news the poller reads the state every statusPollEvery (the owner
// watches the next step come); then, while nothing changes, less and less often, down to once
// per statusPollMax: a salon waiting minutes for its catalogue sync (hundreds of them in a wave
// of installs) costs the server a query per 20 s instead of per 5 s. News, or a page's request,
// brings it back to statusPollEvery at once.
func TestPollerBacksOffWhileNothingChanges(t *testing.T) {
	configuring := workflows.State{SalonID: 42, InstallID: "i-1", Status: workflows.StatusConfiguring}
	active := configuring
	active.Status = workflows.StatusActive
	same := func(n int) []workflows.State { return slices.Repeat([]workflows.State{configuring}, n) }

	waits := pollWaits(t, same(1), 10, -1)
	require.Equal(t, seconds(5, 5, 5, 5, 5, 5, 10, 20, 20), waits, "the same state read again and again: got waits %v", waits)

	waits = pollWaits(t, append(same(8), active), 11, -1)
	require.Equal(t, seconds(5, 5, 5, 5, 5, 5, 10, 20, 5, 5), waits, "a change after 60 s: got waits %v", waits)

	// A kick while the poller waits 20 s after the eighth reading: the next reading comes once
	// the base spacing since the last one has passed, and the poller is fast again.
	waits = pollWaits(t, same(1), 11, 8)
	require.Equal(t, seconds(5, 5, 5, 5, 5, 5, 10, 20, 5, 5, 5), waits, "a kick: got waits %v", waits)
}

// A server that does not answer in time is no news: it is asked less and less often.
func TestPollerBacksOffWhileTheServerFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tc := &scriptedTemporal{err: slowReading().err, stopAt: 5, stop: cancel}
	h, waits, _ := pollerUnderTest(tc)
	h.poll(ctx, 42, &room{kick: make(chan struct{}, 1), stop: cancel})
	require.Equal(t, seconds(10, 20, 20, 20), *waits, "every reading failed: got waits %v", *waits)
}
