package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

const (
	sendRate     = 50  // bookings (and so webhooks) a second
	sendBookings = 500 // 10 s at sendRate
	sendWait     = 2 * time.Minute
)

// BenchmarkWebhookToSend measures, on the real stack with the simulated phone, the time from
// YClients' webhook POST being answered 2xx to the simulated phone recording the booking
// confirmation, with 50 bookings a second made in the fake YClients for 10 s (each a distinct
// record and client phone; pacing and the daily cap off). The fake sends each record's
// webhook at once (EntityDelay < 0) through an observing transport that stamps the 2xx; the
// phone stamps each send (simphone.Sent.At). It fails if a confirmation is missing after a
// generous wait or a client got more than one message.
func BenchmarkWebhookToSend(b *testing.B) {
	obs := &hookObserver{base: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}, acked: map[int64]time.Time{}}
	s := newBenchStack(b, &http.Client{Timeout: 10 * time.Second, Transport: obs})
	s.noPacingNoCap()
	staff, service := staffOf(b, s.fake, s.salon), serviceOf(b, s.fake, s.salon)
	day := time.Now().AddDate(0, 0, 3).Format("2006-01-02")

	var lat []time.Duration
	var achieved float64
	round := 0
	for b.Loop() {
		round++
		phones := make(map[int64]string, sendBookings) // record ID → client phone (digits)
		interval := time.Second / sendRate
		start := time.Now()
		for i := range sendBookings {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			phone := fmt.Sprintf("7916%03d%04d", 100+round, i)
			rec, err := s.fake.CreateRecord(s.salon, yclientsfake.RecordInput{StaffID: staff, ServiceIDs: []int64{service},
				Client:   &yclientsfake.ClientInput{Name: fmt.Sprintf("Клиент %d", i), Phone: "+" + phone},
				Datetime: fmt.Sprintf("%s %02d:%02d:00", day, 10+i%10, (i/10%6)*10)})
			require.NoError(b, err)
			phones[rec.ID] = phone
		}
		achieved = float64(sendBookings) / time.Since(start).Seconds()

		// Wait for every confirmation (or the deadline), then a little longer for duplicates.
		sent := func() map[string][]time.Time {
			out := map[string][]time.Time{}
			for _, m := range s.phone.Messages(s.salon) {
				out[m.Phone] = append(out[m.Phone], m.At)
			}
			return out
		}
		deadline := time.Now().Add(sendWait)
		for {
			got := sent()
			n := 0
			for _, p := range phones {
				if len(got[p]) > 0 {
					n++
				}
			}
			if n == len(phones) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second)
		got := sent()
		var missing, twice, unacked []int64
		for rec, p := range phones {
			acked, ok := obs.ackedAt(rec)
			switch {
			case !ok:
				unacked = append(unacked, rec)
			case len(got[p]) == 0:
				missing = append(missing, rec)
			case len(got[p]) > 1:
				twice = append(twice, rec)
			default:
				lat = append(lat, got[p][0].Sub(acked))
			}
		}
		if len(unacked)+len(missing)+len(twice) > 0 {
			b.Fatalf("of %d bookings: %d webhooks never answered 2xx %v, %d confirmations missing after %s %v, "+
				"%d clients got more than one message %v", len(phones), len(unacked), benchHead(unacked), len(missing), sendWait,
				benchHead(missing), len(twice), benchHead(twice))
		}
	}
	b.StopTimer()

	l := benchSummarise(lat, 0)
	b.ReportMetric(benchMS(l.p50), "send_p50_ms")
	b.ReportMetric(benchMS(l.p99), "send_p99_ms")
	b.ReportMetric(benchMS(l.max), "send_max_ms")
	b.ReportMetric(float64(len(lat)), "delivered")
	b.ReportMetric(achieved, "webhooks/s")
	fmt.Printf("webhook → send (simulated phone, no pacing), %d bookings at %.1f webhooks/s: delivered %d/%d exactly once, "+
		"latency p50 %.0f ms p99 %.0f ms max %.0f ms\n", sendBookings*round, achieved, len(lat), sendBookings*round,
		benchMS(l.p50), benchMS(l.p99), benchMS(l.max))
}

func benchHead(ids []int64) []int64 { return ids[:min(len(ids), 5)] }

// hookObserver is the fake YClients' transport: it stamps the moment each record webhook is
// answered 2xx (the first time, per record ID).
type hookObserver struct {
	base  http.RoundTripper
	mu    sync.Mutex
	acked map[int64]time.Time
}

func (o *hookObserver) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.Contains(req.URL.Path, "/webhook/yclients/") || req.GetBody == nil {
		return o.base.RoundTrip(req)
	}
	var env struct {
		Resource   string `json:"resource"`
		ResourceID int64  `json:"resource_id"`
	}
	if rc, err := req.GetBody(); err == nil {
		raw, _ := io.ReadAll(rc)
		rc.Close()
		_ = json.Unmarshal(raw, &env)
	}
	resp, err := o.base.RoundTrip(req)
	if err == nil && resp.StatusCode/100 == 2 && env.Resource == "record" {
		at := time.Now()
		o.mu.Lock()
		if _, ok := o.acked[env.ResourceID]; !ok {
			o.acked[env.ResourceID] = at
		}
		o.mu.Unlock()
	}
	return resp, err
}

func (o *hookObserver) ackedAt(record int64) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	at, ok := o.acked[record]
	return at, ok
}
