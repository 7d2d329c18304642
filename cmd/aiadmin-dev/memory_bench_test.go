package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// P5's sizes (AIADMIN_BENCH_INSTALLATIONS, AIADMIN_BENCH_REMINDERS) and target.
const (
	memInstallsDefault  = 1000
	memRemindersDefault = 10000
	memTargetMB         = 300
	memInstallPar       = 16 // owners installing at a time
)

// BenchmarkWorkerMemory (P5) measures the resident memory of the process that runs the worker
// (and the API: the bench stack is one all-in-one process; the fake YClients and the simulated
// phone live in it too, the Temporal server does not): idle with one salon, then with N more
// installations made active through the public contract (16 owners at a time) and left idle,
// then with M scheduled reminders: M/2 bookings spread over them, each visit 20 days ahead,
// so each booking waits on its two reminders. Each figure is VmRSS after a forced GC that returns free memory to the OS
// (debug.FreeOSMemory), so the three are comparable. When N or M is below the 1,000
// and 10,000 the line also gives the linear extrapolation, labelled as such. It fails only
// when an installation does not get to active or a booking is not confirmed exactly once.
func BenchmarkWorkerMemory(b *testing.B) {
	notOnCluster(b, "P5", "it reads the RSS of its own process (/proc/self/status), where the single-process "+
		"stack's worker runs; the cluster's workers are other processes", false)
	n := benchEnvInt(b, "AIADMIN_BENCH_INSTALLATIONS", memInstallsDefault)
	m := benchEnvInt(b, "AIADMIN_BENCH_REMINDERS", memRemindersDefault)
	s := newBenchStack(b, nil)
	var idle, installed, booked float64
	var bookedGo goMemory
	var installWall, bookWall time.Duration
	for b.Loop() {
		owners := s.addBenchSalons(n, 0)
		idle = settledRSSMB(b)
		start := time.Now()
		hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		errs := s.installOwners(hc, owners, memInstallPar, 10*time.Minute)
		require.Empty(b, errs, "installations not active")
		installWall = time.Since(start)
		installed = settledRSSMB(b)
		start = time.Now()
		s.bookFarAhead(b, owners, (m+1)/2) // two reminders each
		bookWall = time.Since(start)
		booked = settledRSSMB(b)
		bookedGo = readGoMemory()
	}
	b.StopTimer()
	each := (installed - idle) / float64(n)
	perReminder := (booked - installed) / float64(2*((m+1)/2))
	b.ReportMetric(idle, "idle_MB")
	b.ReportMetric(installed, "installed_MB")
	b.ReportMetric(booked, "booked_MB")
	extra := ""
	if n < memInstallsDefault || m < memRemindersDefault {
		at1000 := idle + each*memInstallsDefault
		full := at1000 + perReminder*memRemindersDefault
		extra = fmt.Sprintf("; EXTRAPOLATED linearly (measured only %d and %d): %.0f MB with 1000 installations, "+
			"%.0f MB with 10000 reminders more: ratio %.2f", n, m, at1000, full, full/memTargetMB)
	}
	fmt.Printf("P5: worker RSS idle %.0f MB → %.0f MB with %d active installations (%.2f MB each; installed in %s, %d at a time) "+
		"→ %.0f MB with %d scheduled reminders (%d bookings 20 days ahead, two each: %.1f KB a reminder; booked in %s); target %d MB: "+
		"ratio %.2f with the installations, %.2f with the reminders too%s (all-in-one process: api + worker + fake YClients + "+
		"simulated phone; RSS after GC and scavenge; at the end %s; workflow cache %d; %s)\n",
		idle, installed, n, each, installWall.Round(time.Second), memInstallPar, booked, 2*((m+1)/2), (m+1)/2, perReminder*1024,
		bookWall.Round(time.Second), memTargetMB, installed/memTargetMB, booked/memTargetMB, extra, bookedGo, config.DefaultWorkflowCache, time.Now().Format("2006-01-02"))
}

// goMemory is where the Go runtime says this process's memory is.
type goMemory struct {
	heapMB, stacksMB float64 // heap spans in use; goroutine stacks
	goroutines       int
}

// readGoMemory reads the runtime's statistics.
func readGoMemory() goMemory {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return goMemory{heapMB: float64(m.HeapInuse) / (1 << 20), stacksMB: float64(m.StackInuse) / (1 << 20),
		goroutines: runtime.NumGoroutine()}
}

func (g goMemory) String() string {
	return fmt.Sprintf("Go heap in use %.0f MB, goroutine stacks %.0f MB, %d goroutines", g.heapMB, g.stacksMB, g.goroutines)
}

// settledRSSMB is this process's VmRSS in MB after 3 s of quiet and a forced GC that returns
// free memory to the OS.
func settledRSSMB(b *testing.B) float64 {
	b.Helper()
	time.Sleep(3 * time.Second)
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	require.NoError(b, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			require.NoError(b, err)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// bookFarAhead makes bookings in the owners' salons (round robin), each visit 20 days ahead,
// at up to 50 a second, and waits until every client got exactly one confirmation: each
// booking then waits on its two reminders. Pacing, the daily cap and quiet hours are off.
func (s *benchStack) bookFarAhead(b *testing.B, owners []*benchOwner, bookings int) {
	b.Helper()
	for _, o := range owners {
		require.NoError(b, s.app.Store.UpsertSalonSettings(context.Background(), sqlc.UpsertSalonSettingsParams{
			SalonID: o.salon, ReminderDayHour: 18, PerMinute: 0, DailyCap: 0, Templates: []byte("{}")}))
	}
	staff, service := staffOf(b, s.fake, owners[0].salon), serviceOf(b, s.fake, owners[0].salon)
	day := time.Now().AddDate(0, 0, 20).Format("2006-01-02")
	phones := make(map[string]int64, bookings) // client phone → salon
	start := time.Now()
	for i := range bookings {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
		o := owners[i%len(owners)]
		phone := fmt.Sprintf("7915%07d", i)
		_, err := s.fake.CreateRecord(o.salon, yclientsfake.RecordInput{StaffID: staff, ServiceIDs: []int64{service},
			Client:   &yclientsfake.ClientInput{Name: fmt.Sprintf("Клиент %d", i), Phone: "+" + phone},
			Datetime: fmt.Sprintf("%s %02d:%02d:00", day, 10+i%10, (i/10%6)*10)})
		require.NoError(b, err)
		phones[phone] = o.salon
	}
	count := func() (got, twice int) {
		seen := map[string]int{}
		for _, o := range owners {
			for _, m := range s.phone.Messages(o.salon) {
				if phones[m.Phone] == o.salon {
					seen[m.Phone]++
				}
			}
		}
		for _, c := range seen {
			if c > 1 {
				twice++
			}
		}
		return len(seen), twice
	}
	benchWaitProgress(max(sendWaitMin, 2*time.Since(start)), benchStall, benchWaitCap, len(phones), func() int { got, _ := count(); return got })
	time.Sleep(time.Second)
	got, twice := count()
	require.Equal(b, len(phones), got, "bookings confirmed")
	require.Zero(b, twice, "clients messaged more than once")
}
