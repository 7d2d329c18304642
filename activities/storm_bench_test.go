package activities

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

// BenchmarkReminderStorm (P7): the day-before wave. AIADMIN_BENCH_STORM_SALONS salons (default
// 1,000) of one zone have 30 visits each tomorrow; at 18:00 each salon's 30 reminders come due,
// paced 6 a minute (one every 10 s, so a salon's wave spans 290 s), and each re-reads its
// record before it goes, as send-message does (Messaging.reread). YClients (the fake) allows 5
// requests/s per IP and answers 429 past it; every request goes through the cluster-wide
// budget in PostgreSQL, as in production. Target: every re-read done by 18:10 (600 s), no 429.
// Baseline, measured in the same run through the same budget: single-record re-reads, the
// rate a re-read per message would get, projected to the wave's 30 × salons messages.
// Sending itself is not part of it (paced by the salon; P4 measures sends). It fails only if a
// reminder's record is misread (not found, or another record), never on speed.
func BenchmarkReminderStorm(b *testing.B) {
	salons := envInt("AIADMIN_BENCH_STORM_SALONS", 1000)
	const perSalon, pace = 30, 10 * time.Second
	store, _ := dbtest.New(b)
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: "p", ApplicationID: 1, RPS: 5})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	loc, _ := time.LoadLocation("Europe/Moscow")
	tomorrow := time.Now().In(loc).AddDate(0, 0, 1)
	day := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 9, 0, 0, 0, loc)
	for s := range salons {
		var recs []yclientsfake.Record
		for k := range perSalon {
			recs = append(recs, yclientsfake.Record{ID: stormRecord(s, k), StaffID: 7, ServiceIDs: []int64{1},
				ClientName: "Анна", ClientPhone: fmt.Sprintf("7916%07d", s*perSalon+k), Datetime: day.Add(time.Duration(k) * 20 * time.Minute), SeanceLength: 1200})
		}
		fake.AddSalon(yclientsfake.Salon{ID: stormSalon(s), Title: "Салон", Timezone: "Europe/Moscow",
			Services: []yclientsfake.Service{{ID: 1, Title: "Стрижка", Active: true}},
			Staff:    []yclientsfake.Staff{{ID: 7, Name: "Оксана", Bookable: true}}, Records: recs, Status: "active"})
	}
	counted := &countingTransport{next: http.DefaultTransport, calls: map[string]int{}}
	yc := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: "p", ApplicationID: 1, Limiter: yclients.NewBudget(store),
		HTTPClient: &http.Client{Transport: counted, Timeout: 15 * time.Second}})
	m := &Messaging{records: yc, days: &dayLists{yc: yc, now: time.Now}}
	b.ResetTimer()
	for range b.N {
		// Baseline: 20 single-record re-reads through the same budget.
		began := time.Now()
		for k := range 20 {
			if _, err := yc.Record(context.Background(), stormSalon(0), stormRecord(0, k)); err != nil {
				b.Fatalf("baseline re-read: %v", err)
			}
		}
		perRead := time.Since(began) / 20
		counted.reset()
		began = time.Now()
		var retried atomic.Int64
		wave, misread := stormWave(m, loc, salons, perSalon, pace, day, &retried)
		calls := counted.snapshot()
		var reqs []yclientsfake.RequestLog // the fake keeps the last 1,000: the rate over those
		for _, r := range fake.Requests() {
			if r.At.After(began) {
				reqs = append(reqs, r)
			}
		}
		tooMany := calls["429"]
		if misread != 0 {
			b.Fatalf("%d reminders misread their record", misread)
		}
		baseline := perRead * time.Duration(salons*perSalon)
		fmt.Printf("P7: reminder storm %d salons × %d day-before reminders at 18:00 (paced 6/min/salon, YClients 5 req/s for the whole cluster): "+
			"every re-read done %.0f s after 18:00 vs target 600 s: ratio %.2f; YClients calls %d list + %d record, %d×429, max %.0f req/s (last 1,000 requests), %d activity attempts retried (12 min timeout); "+
			"baseline a re-read per message (measured %.0f ms each through the same budget): %.0f s for the wave, ratio %.2f\n",
			salons, perSalon, wave.Seconds(), wave.Seconds()/600, calls["list"], calls["record"], tooMany,
			yclientsfake.MaxRequestRate(reqs, time.Second), retried.Load(), float64(perRead.Milliseconds()), baseline.Seconds(), wave.Seconds()/baseline.Seconds())
	}
}

// stormWave runs the wave: each salon's reminder k re-reads at k × pace after the start. It
// returns when the last re-read was done, and how many misread their record.
func stormWave(m *Messaging, loc *time.Location, salons, perSalon int, pace time.Duration, day time.Time, retried *atomic.Int64) (time.Duration, int64) {
	start := time.Now()
	var misread atomic.Int64
	var mu sync.Mutex
	var last time.Duration
	var wg sync.WaitGroup
	for s := range salons {
		for k := range perSalon {
			wg.Go(func() {
				time.Sleep(time.Duration(k) * pace)
				in := DeliverInput{SalonID: stormSalon(s), RecordID: stormRecord(s, k), Kind: texts.ReminderDay,
					Visit: Visit{Start: day.Add(time.Duration(k) * 20 * time.Minute)}}
				rec, err := rereadAsActivity(m, loc, in, retried)
				if err != nil || rec.ID != in.RecordID || !rec.In(loc).Datetime.Equal(in.Visit.Start) {
					misread.Add(1)
				}
				mu.Lock()
				last = max(last, time.Since(start))
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return last, misread.Load()
}

// rereadAsActivity re-reads as send-message does under Temporal: each attempt bounded by the
// activity's StartToClose (12 min, heartbeating), a failed one tried again after its retry
// policy's backoff (2 s doubling, 10 attempts); retried counts the attempts after the first.
func rereadAsActivity(m *Messaging, loc *time.Location, in DeliverInput, retried *atomic.Int64) (yclients.Record, error) {
	backoff := 2 * time.Second
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
		rec, err := m.reread(ctx, loc, in)
		cancel()
		if err == nil || attempt == 10 {
			return rec, err
		}
		retried.Add(1)
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Minute)
	}
}

// countingTransport counts the client's requests by kind (list, record) and the 429s.
type countingTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(r)
	c.mu.Lock()
	c.calls[pathKind(r.URL.Path)]++
	if err == nil && res.StatusCode == http.StatusTooManyRequests {
		c.calls["429"]++
	}
	c.mu.Unlock()
	return res, err
}

func (c *countingTransport) reset() { c.mu.Lock(); clear(c.calls); c.mu.Unlock() }

func (c *countingTransport) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.calls)
}

func stormSalon(s int) int64     { return 500_000 + int64(s) }
func stormRecord(s, k int) int64 { return 9_000_000 + int64(s)*100 + int64(k) }

func pathKind(p string) string {
	switch {
	case strings.HasPrefix(p, "/api/v1/records/"):
		return "list"
	case strings.HasPrefix(p, "/api/v1/record/"):
		return "record"
	}
	return "other"
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
