package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/workflows"
)

// chaosSalon is one salon a scenario installs: a copy of a demo salon (Moscow, Vladivostok or
// Kaliningrad, in turn) under an ID of its own.
type chaosSalon struct {
	ID         int64
	Zone       *time.Location
	OwnerPhone string // the salon's WhatsApp number, linked by the owner's scan
}

var chaosDemoSalons = []int64{yclientsfake.DemoSalonMoscow, yclientsfake.DemoSalonVladivostok, yclientsfake.DemoSalonKaliningrad}

// addSalons adds n salons to the fake YClients, pending (as if each owner had just clicked
// «Подключить»).
func (s *chaosSuite) addSalons(n int) []*chaosSalon {
	out := make([]*chaosSalon, 0, n)
	for i := range n {
		demo, ok := s.fake.Salon(chaosDemoSalons[i%len(chaosDemoSalons)])
		if !ok {
			panic("the fake has no demo salons")
		}
		demo.ID, demo.Records, demo.Status = s.salonID(), nil, ""
		s.fake.AddSalon(demo)
		loc, err := time.LoadLocation(demo.Timezone)
		if err != nil {
			panic(err)
		}
		out = append(out, &chaosSalon{ID: demo.ID, Zone: loc, OwnerPhone: fmt.Sprintf("7999%07d", s.nextPhone.Add(1))})
	}
	return out
}

// installAll installs the salons as their owners would, par at a time, each within timeout;
// then, when set, runs for each salon as soon as its connect page says active. It returns the
// failures (nil when every salon got to active).
func (s *chaosSuite) installAll(salons []*chaosSalon, par int, timeout time.Duration, then func(*chaosSalon)) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, par)
	for i, sl := range salons {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := s.installOwner(ctx, sl, i%4 == 3); err != nil { // every 4th owner pairs by code
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			if then != nil {
				then(sl)
			}
		}()
	}
	wg.Wait()
	return errs
}

// installOwner plays a persistent owner: the marketplace redirect, our register page, the
// connect page's websocket, a QR code (or a pairing code) scanned, until the page says active;
// a page that fails or stalls is opened again, as an owner would, until ctx ends.
func (s *chaosSuite) installOwner(ctx context.Context, sl *chaosSalon, byCode bool) error {
	var last error
	for again := 0; ctx.Err() == nil; again++ {
		token, err := s.openConnectPage(sl.ID)
		if err == nil {
			s.seen.add(&s.seen.tokens, token)
			if err = s.pairOnPage(ctx, sl, token, byCode); err == nil {
				return nil
			}
		}
		last = err
		s.ownerRestarts.Add(1)
		// An owner tries again after a few seconds, then less and less often.
		wait := min(2*time.Second<<min(again, 3), 15*time.Second)
		wait += time.Duration(rand.Int64N(int64(wait / 2)))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return fmt.Errorf("salon %d: not installed: %w (last error: %v)", sl.ID, ctx.Err(), last)
}

// openConnectPage opens a salon's connect page as its owner's browser does, waiting in the
// queue page when the salon's turn for YClients has not come yet (at most a minute).
func (s *chaosSuite) openConnectPage(salon int64) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	token, _, err := openConnectPage(ctx, s.hc, s.fakeURL, salon)
	return token, err
}

// Pairing as the owner sees it: a code not scanned is asked for again after codeStall, a
// scanned one that does not lead to «connected» after connectStall.
const (
	codeStall    = 25 * time.Second
	connectStall = 30 * time.Second
)

// pairOnPage works one connect page until it says active.
func (s *chaosSuite) pairOnPage(ctx context.Context, sl *chaosSalon, token string, byCode bool) error {
	public := s.c.Addrs.PublicURL
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(public, "http")+"/ws/connect?token="+token,
		http.Header{"Origin": {public}})
	if err != nil {
		return fmt.Errorf("websocket: %w", err)
	}
	resp.Body.Close()
	defer conn.Close()
	frames := make(chan frame, 16)
	readErr := make(chan error, 1)
	go func() {
		defer close(frames)
		for {
			var f frame
			if err := conn.ReadJSON(&f); err != nil {
				readErr <- err
				return
			}
			frames <- f
		}
	}()
	request := func() error {
		if byCode {
			return conn.WriteJSON(map[string]string{"type": "request-pairing-code", "phone": sl.OwnerPhone})
		}
		return conn.WriteJSON(map[string]string{"type": "request-qr"})
	}
	if err := request(); err != nil {
		return err
	}
	p := pairing{asked: time.Now()}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f, ok := <-frames:
			if !ok {
				return fmt.Errorf("page closed: %w", <-readErr)
			}
			switch f.Type {
			case "qr", "pairing-code":
				s.seen.add(&s.seen.pairingCodes, f.Code)
				p.shown, p.scanned = time.Now(), false
			case "connected":
				p.connected = true
			case "active":
				return nil
			case "closed":
				return errors.New("the server closed the page")
			case "error":
				if !p.connected {
					p.retryAt = time.Now().Add(5 * time.Second)
				}
			case "status":
				switch workflows.Status(f.Status) {
				case workflows.StatusWhatsAppConnected, workflows.StatusConfiguring, workflows.StatusActive:
					p.connected = true
				case workflows.StatusFailed, workflows.StatusExpired, workflows.StatusUninstalled:
					return fmt.Errorf("the installation ended %s: %s", f.Status, f.Message) // the owner starts again
				}
			}
		case <-tick.C:
		}
		if again := p.next(s, sl); again {
			if err := request(); err != nil {
				return err
			}
		}
	}
}

// pairing is where one connect page is: when a code was asked for and last shown, whether
// the owner's scan of it went through, whether the page said «connected».
type pairing struct {
	asked, shown, scannedAt, retryAt time.Time
	scanned, connected               bool
}

// next scans the code on screen once it is there, and reports whether to ask for a new one.
func (p *pairing) next(s *chaosSuite, sl *chaosSalon) bool {
	now := time.Now()
	switch {
	case p.connected:
		return false
	case !p.retryAt.IsZero() && now.After(p.retryAt):
		p.retryAt, p.asked = time.Time{}, now
		return true
	case !p.shown.IsZero() && !p.scanned:
		if s.sim.Scan(sl.ID, sl.OwnerPhone, "Салон") == nil {
			p.scanned, p.scannedAt = true, now
		}
	case p.scanned && now.Sub(p.scannedAt) > connectStall:
		p.scanned, p.shown, p.asked = false, time.Time{}, now
		return true
	}
	if !p.scanned && now.Sub(maxTime(p.asked, p.shown)) > codeStall {
		p.asked = now
		return true
	}
	return false
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
