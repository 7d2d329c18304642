package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// benchOwner is one salon an installation benchmark installs, and what its owner saw.
type benchOwner struct {
	salon   int64
	phone   string // the salon's WhatsApp number, linked by the owner's scan
	clicked time.Time
	firstQR time.Time
	active  time.Time
	errs    []string // error pages and error frames, as the owner saw them
	queued  int      // queue pages seen (the salon waiting its turn for YClients)
}

// addBenchSalons adds n pending salons (copies of the Moscow demo salon without records) to
// the fake YClients.
func (s *stack) addBenchSalons(n int, firstPhone int) []*benchOwner {
	demo, ok := s.fake.Salon(yclientsfake.DemoSalonMoscow)
	if !ok {
		s.t.Fatal("the fake has no demo salons")
	}
	out := make([]*benchOwner, n)
	for i := range out {
		sl := demo
		sl.ID, sl.Records, sl.Status = 1_000_000+rand.Int64N(1_000_000_000), nil, ""
		s.fake.AddSalon(sl)
		out[i] = &benchOwner{salon: sl.ID, phone: fmt.Sprintf("7998%07d", firstPhone+i)}
	}
	return out
}

// installOwners installs the salons as their owners would, par at a time (all at once when par
// is len(owners)), each within timeout, and returns the owners that did not get to active.
func (s *stack) installOwners(hc *http.Client, owners []*benchOwner, par int, timeout time.Duration) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, par)
	for _, o := range owners {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := s.installOwner(ctx, hc, o); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// installOwner plays one owner through the public contract: «Подключить» in YClients (the
// fake's marketplace redirect), our register page, the connect page's websocket, a QR code
// asked for and scanned on the simulated phone as soon as it shows, until the page says
// active. An error page or a page that breaks is opened again a second later, until ctx ends.
func (s *stack) installOwner(ctx context.Context, hc *http.Client, o *benchOwner) error {
	o.clicked = time.Now()
	var last error
	for ctx.Err() == nil {
		token, queued, err := openConnectPage(ctx, hc, s.cfg.YClientsBaseURL, o.salon)
		o.queued += queued
		if err == nil {
			if err = s.benchPair(ctx, o, token); err == nil {
				return nil
			}
		}
		last = err
		o.errs = append(o.errs, err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("salon %d: not active: %v (last error: %v)", o.salon, ctx.Err(), last)
}

// benchPageStall is how long an owner looks at a connect page that should show a QR code and
// does not (nor any status) before opening it again; a page that says it is registering the
// salon or setting it up is waited on for 5 minutes.
const benchPageStall = 30 * time.Second

// benchEagerOwners reports whether the installation benchmarks' owners are eager
// (AIADMIN_BENCH_OWNER=eager): they ask for a QR code as soon as the page opens and a second
// after every error frame, scanned or not, instead of working the page as its script does.
// The eager owner is the one P2's figures before 2026-12-03 11:00 were measured with.
func benchEagerOwners() bool { return os.Getenv("AIADMIN_BENCH_OWNER") == "eager" }

// benchOwnerKind names the owner for the P lines.
func benchOwnerKind() string {
	if benchEagerOwners() {
		return "eager owners (AIADMIN_BENCH_OWNER=eager)"
	}
	return "owners working the page as its script does"
}

// benchPair works one connect page until it says active, as the page's own script does: it
// asks for a QR code when the status says the salon is waiting for WhatsApp (and again when a
// code ran out or an attempt failed, as an owner clicks «Показать новый код»), scans the first
// one shown, and otherwise waits for the status to move on. An error frame while the salon
// waits for WhatsApp is answered by asking again a second later; a page that may not pair
// (the owner reopened it after the scan) only waits. The eager owner (benchEagerOwners) asks
// at once and after every error frame instead.
func (s *stack) benchPair(ctx context.Context, o *benchOwner, token string) error {
	public := s.cfg.PublicURL
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(public, "http")+"/ws/connect?token="+token,
		http.Header{"Origin": {public}})
	if err != nil {
		return fmt.Errorf("websocket: %w", err)
	}
	resp.Body.Close()
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	request := func() error { return conn.WriteJSON(map[string]string{"type": "request-qr"}) }
	eager := benchEagerOwners()
	if eager {
		if err := request(); err != nil {
			return err
		}
	}
	var status string
	requested, scanned := eager, false
	// waitsForCode: the page should show a QR code soon (the eager owner expects one until it
	// has scanned, whatever the status says).
	waitsForCode := func() bool { return !scanned && (eager || status == "pending_whatsapp") }
	for {
		var f frame
		stall := 5 * time.Minute // registering, or connected: the page shows that it works on it
		if waitsForCode() || (!eager && status == "") {
			stall = benchPageStall
		}
		if err := conn.SetReadDeadline(time.Now().Add(stall)); err != nil {
			return err
		}
		if err := conn.ReadJSON(&f); err != nil {
			if stalledPage(err) {
				benchStalls.Add(1)
				fmt.Printf("P2: %s salon %d's connect page stalled for %s (status %q, scanned %t)\n",
					time.Now().Format(time.TimeOnly), o.salon, stall, status, scanned)
			}
			return fmt.Errorf("page: %w", err)
		}
		switch f.Type {
		case "status":
			status = f.Status
			switch {
			case eager:
			case f.Status == "active":
				o.active = time.Now()
				return nil
			case f.Status != "pending_whatsapp" || scanned || f.Pairing == "running":
			case !requested || f.Pairing == "timeout" || f.Pairing == "error":
				requested = true
				if err := request(); err != nil {
					return err
				}
			}
		case "qr":
			if o.firstQR.IsZero() {
				o.firstQR = time.Now()
			}
			if !scanned && s.phone.Scan(o.salon, o.phone, "Салон") == nil {
				scanned = true
			}
		case "active":
			o.active = time.Now()
			return nil
		case "closed":
			return errors.New("the server closed the page")
		case "error":
			o.errs = append(o.errs, "error frame: "+f.Message)
			if waitsForCode() {
				time.Sleep(time.Second)
				if err := request(); err != nil {
					return err
				}
			}
		}
	}
}
