package activities_test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// A reminder wave reads its salon's day once: 12 day-before reminders due together make one
// list call to YClients, not 12 re-reads (P7: 1,000 salons × 30 reminders at 18:00 would
// need 30,000 re-reads within the cluster's 200 requests a minute). A record the list does
// not hold (moved to another day) is read on its own and not reminded of the old time.
func TestRemindersReadTheirDayOnce(t *testing.T) {
	f := newFixture(t, partnerToken)
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	ins := salonWithRecords(t, f, start, 12)
	policy(t, f, 0, 100, 0, 0)
	moved := ins[11].RecordID
	later := start.Add(24 * time.Hour).Format(time.RFC3339)
	_, err := f.fake.UpdateRecord(salonID, moved, yclientsfake.RecordChange{Datetime: &later})
	require.NoError(t, err)
	before := len(f.fake.Requests())

	for i := range ins {
		ins[i].Kind, ins[i].Deadline = texts.ReminderDay, start
	}
	require.Equal(t, map[string]int{"sent ": 11, "skipped record rescheduled": 1}, deliverAll(t, f, ins))
	calls := recordReads(f, before)
	require.Equal(t, map[string]int{"list": 1, "record": 1}, calls, "one list for the day, one read of the moved record")
}

// Confirmations that go out together read their day's changed records from YClients in a few
// list calls, not one read each, and still see what YClients has when they go: a record
// deleted just before is not confirmed (the list, read with deleted records, says so without
// another call), and one moved to another day is read on its own and not confirmed for the old
// time.
func TestNoticesReadTheirDaysChangesTogether(t *testing.T) {
	// YClients answers a list in 300 ms, about what a request waits for its turn in the
	// cluster's budget (one every 305 ms) when the salon is busy.
	f := newFixtureHTTP(t, partnerToken, &http.Client{Transport: slowLists{http.DefaultTransport}})
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	ins := salonWithRecords(t, f, start, 12)
	policy(t, f, 0, 100, 0, 0)
	deleted, moved := ins[10].RecordID, ins[11].RecordID
	require.NoError(t, f.fake.DeleteRecord(salonID, deleted, 0))
	later := start.Add(24 * time.Hour).Format(time.RFC3339)
	_, err := f.fake.UpdateRecord(salonID, moved, yclientsfake.RecordChange{Datetime: &later})
	require.NoError(t, err)
	before := len(f.fake.Requests())

	require.Equal(t, map[string]int{"sent ": 10, "skipped record cancelled": 1, "skipped record rescheduled": 1},
		deliverAll(t, f, ins))
	calls := recordReads(f, before)
	require.Equal(t, 1, calls["record"], "only the moved record is read on its own")
	require.Positive(t, calls["list"])
	require.LessOrEqual(t, calls["list"], 3, "12 confirmations at once share their lists: %v", calls)
}

// slowLists delays YClients' answers to list calls by 300 ms.
type slowLists struct{ next http.RoundTripper }

func (s slowLists) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/api/v1/records/") {
		time.Sleep(300 * time.Millisecond)
	}
	return s.next.RoundTrip(r)
}

// recordReads counts the fake's record list calls ("list") and single-record reads ("record")
// from its before-th request on.
func recordReads(f *fixture, before int) map[string]int {
	calls := map[string]int{}
	for _, r := range f.fake.Requests()[before:] {
		switch {
		case strings.HasPrefix(r.Path, "/api/v1/records/"):
			calls["list"]++
		case strings.HasPrefix(r.Path, "/api/v1/record/"):
			calls["record"]++
		}
	}
	return calls
}

// TestMessageReReadsArePrompt: every YClients read a client's message waits for — the day's
// list of a reminder or of a notice, and a record read on its own — is marked Prompt, so that
// the cluster's budget serves it before the catalogue syncs (yclients.Prompt).
func TestMessageReReadsArePrompt(t *testing.T) {
	seen := &promptSeen{next: http.DefaultTransport}
	f := newFixtureHTTP(t, partnerToken, &http.Client{Transport: seen})
	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	ins := salonWithRecords(t, f, start, 4)
	policy(t, f, 0, 100, 0, 0)
	later := start.Add(24 * time.Hour).Format(time.RFC3339)
	_, err := f.fake.UpdateRecord(salonID, ins[3].RecordID, yclientsfake.RecordChange{Datetime: &later})
	require.NoError(t, err)
	seen.reset()
	require.Equal(t, map[string]int{"sent ": 3, "skipped record rescheduled": 1}, deliverAll(t, f, ins))
	reminders := slices.Clone(ins)
	for i := range reminders {
		reminders[i].Kind, reminders[i].Deadline = texts.ReminderDay, start
	}
	deliverAll(t, f, reminders)
	got := seen.counts()
	require.Positive(t, got["prompt list"], "%v", got)
	require.Positive(t, got["prompt record"], "%v", got)
	require.Zero(t, got["list"]+got["record"], "re-reads not marked Prompt: %v", got)
}

// promptSeen counts the record reads going to YClients by kind and by whether their context
// was marked Prompt.
type promptSeen struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (p *promptSeen) RoundTrip(r *http.Request) (*http.Response, error) {
	kind := ""
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v1/records/"):
		kind = "list"
	case strings.HasPrefix(r.URL.Path, "/api/v1/record/"):
		kind = "record"
	}
	if kind != "" {
		if yclients.IsPrompt(r.Context()) {
			kind = "prompt " + kind
		}
		p.mu.Lock()
		if p.n == nil {
			p.n = map[string]int{}
		}
		p.n[kind]++
		p.mu.Unlock()
	}
	return p.next.RoundTrip(r)
}

func (p *promptSeen) reset() {
	p.mu.Lock()
	p.n = nil
	p.mu.Unlock()
}

func (p *promptSeen) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.n)
}
