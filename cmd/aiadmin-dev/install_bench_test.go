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
	httpapi "github.com/aiadmin/aiadmin/http"
)

// benchOwner is one salon an installation benchmark installs, and what its owner saw.
type benchOwner struct {
	salon   int64
	phone   string // the salon's WhatsApp number, linked by the owner's scan
	clicked time.Time
	// connected is when the owner first got the connect page (the register page's 200):
	// what came before it was the salon's turn in the YClients budget and its registration.
	connected time.Time
	firstQR   time.Time
	active    time.Time
	errs      []string  // error pages and error frames, as the owner saw them
	waits     pageWaits // pages that came back by themselves (the queue page, the registering page)
	// askedAgain counts the codes the page asked for once more by itself, none having come
	// within its patience (as connect.html does).
	askedAgain int
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
		token, waits, err := openConnectPage(ctx, hc, s.cfg.YClientsBaseURL, o.salon)
		o.waits.queued += waits.queued
		o.waits.registering += waits.registering
		if err == nil {
			if o.connected.IsZero() {
				o.connected = time.Now()
			}
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
// one shown, and otherwise waits for the status to move on. Like the page, it sends with each
// request the newest attempt a status named, and when no code comes within the page's
// patience it asks once more by itself (a new attempt); when that brings none either, the page
// would tell the owner the code does not come, which counts as an error seen, and the owner
// opens the page again. An error frame while the salon waits for WhatsApp is answered by
// asking again a second later; a page that may not pair (the owner reopened it after the
// scan) only waits. The eager owner (benchEagerOwners) asks at once and after every error
// frame instead.
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
	done := make(chan struct{})
	defer close(done)
	frames, readErr := readFrames(conn, done)
	patience := s.cfg.CodePatience
	if patience <= 0 {
		patience = httpapi.DefaultCodePatience
	}
	var (
		status      string
		lastAttempt int
		codeDue     time.Time // when the code asked for should have come; zero: none asked for
		askedAgain  bool      // the page asked once more by itself since the last code came
	)
	request := func() error {
		codeDue = time.Now().Add(patience)
		return conn.WriteJSON(map[string]any{"type": "request-qr", "attempt": lastAttempt})
	}
	eager := benchEagerOwners()
	if eager {
		if err := request(); err != nil {
			return err
		}
	}
	requested, scanned := eager, false
	// waitsForCode: the page should show a QR code soon (the eager owner expects one until it
	// has scanned, whatever the status says).
	waitsForCode := func() bool { return !scanned && (eager || status == "pending_whatsapp") }
	for {
		// registering, or connected: the page shows that it works on it
		due := time.Now().Add(5 * time.Minute)
		switch {
		case waitsForCode() && !codeDue.IsZero():
			due = codeDue
		case waitsForCode() || (!eager && status == ""):
			due = time.Now().Add(benchPageStall)
		}
		var f frame
		select {
		case f = <-frames:
		case err := <-readErr:
			return fmt.Errorf("page: %w", err)
		case <-time.After(time.Until(due)):
			if waitsForCode() && !codeDue.IsZero() && !askedAgain {
				askedAgain = true
				o.askedAgain++
				if err := request(); err != nil {
					return err
				}
				continue
			}
			benchStalls.Add(1)
			fmt.Printf("P2: %s salon %d's connect page stalled (status %q, scanned %t, asked again %t)\n",
				time.Now().Format(time.TimeOnly), o.salon, status, scanned, askedAgain)
			return fmt.Errorf("page: %w", errPageStalled)
		}
		switch f.Type {
		case "status":
			status = f.Status
			lastAttempt = max(lastAttempt, f.Attempt)
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
			codeDue, askedAgain = time.Time{}, false
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

// errPageStalled: the connect page showed nothing the owner waited for (stalledPage).
var errPageStalled = errors.New("the page showed nothing it waited for")

// readFrames reads the page's websocket frames until the connection fails (it is closed with
// the page) or done is closed, handing each on; the error it failed with comes on the second
// channel.
func readFrames(conn *websocket.Conn, done <-chan struct{}) (<-chan frame, <-chan error) {
	frames, failed := make(chan frame), make(chan error, 1)
	go func() {
		for {
			var f frame
			if err := conn.ReadJSON(&f); err != nil {
				failed <- err
				return
			}
			select {
			case frames <- f:
			case <-done:
				return
			}
		}
	}()
	return frames, failed
}
