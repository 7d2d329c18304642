package dispatcher

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/salontime"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
)

// salonClockTTL is how long a salon's zone and activation time are reused: an activation
// moves activated_at once per installation, and a record event of a salon activated less than
// this long ago compares its creation with the fresh value anyway (see clock).
const salonClockTTL = time.Minute

// salonClock is what reading a salon's record webhooks needs.
type salonClock struct {
	loc         *time.Location
	activatedAt time.Time // zero: not active (or unknown salon)
	readAt      time.Time
}

// salonClocks caches salonClock per salon.
type salonClocks struct {
	store *db.Store
	mu    sync.Mutex
	m     map[int64]salonClock
}

// clock returns the salon's zone and activation time. A salon the database does not know
// reads in the fallback zone, unactivated.
func (c *salonClocks) clock(ctx context.Context, salonID int64) (salonClock, error) {
	now := time.Now()
	c.mu.Lock()
	sc, ok := c.m[salonID]
	c.mu.Unlock()
	if ok && now.Sub(sc.readAt) < salonClockTTL && !sc.activatedAt.IsZero() {
		return sc, nil
	}
	row, err := c.store.GetSalonClock(ctx, salonID)
	if err != nil && !db.IsNotFound(err) {
		return salonClock{}, err
	}
	loc, _ := salontime.Location(row.Timezone) // unknown: the fallback zone (the activities alert)
	sc = salonClock{loc: loc, readAt: now}
	if row.ActivatedAt != nil {
		sc.activatedAt = *row.ActivatedAt
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[int64]salonClock{}
	}
	c.m[salonID] = sc
	c.mu.Unlock()
	return sc, nil
}

// sameSignal reports a delivery that would tell the booking workflow nothing its lane's
// previous one did not: byte-identical, or a record webhook equal in all the workflow reads
// (visit, client, attendance, deleted, creation) — YClients sends several updates for one
// change, and an update right after the create repeating it, differing only in the status
// word or last_change_date.
func sameSignal(prev, body []byte) bool {
	if prev == nil {
		return false
	}
	if bytes.Equal(prev, body) {
		return true
	}
	a, okA := recordFingerprint(prev)
	b, okB := recordFingerprint(body)
	return okA && okB && bytes.Equal(a, b)
}

// recordFingerprint is what the booking workflow reads of a record webhook, encoded; ok is
// false for anything else (another resource, a delete, a body that does not decode).
func recordFingerprint(body []byte) ([]byte, bool) {
	env, _, err := yclients.ParseWebhook(body)
	if err != nil || env.Resource != "record" || env.Status == "delete" {
		return nil, false
	}
	ev, err := recordEvent(inboxRow{}, env, salonClock{loc: time.UTC})
	if err != nil {
		return nil, false
	}
	fp, err := json.Marshal(struct {
		Visit      activities.Visit
		Attendance int
		Deleted    bool
		CreatedAt  time.Time
	}{ev.Visit, ev.Attendance, ev.Deleted, ev.CreatedAt})
	return fp, err == nil
}
