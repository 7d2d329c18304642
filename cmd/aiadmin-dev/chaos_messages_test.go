package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simserver"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/workflows"
)

// chaosBooking is a record a scenario made in the fake YClients for a client of its own.
type chaosBooking struct {
	salon  *chaosSalon
	record int64
	client int // the client's number in the suite: failure texts name it, never the phone
	phone  string
	start  time.Time // as the record finally stands
}

func (b chaosBooking) String() string {
	return fmt.Sprintf("salon %d record %d (client #%d, visit %s)", b.salon.ID, b.record, b.client,
		b.start.In(b.salon.Zone).Format("2006-01-02 15:04 MST"))
}

// newClient hands out a client phone no other booking of the suite uses.
func (s *chaosSuite) newClient() (int, string) {
	n := s.nextPhone.Add(1)
	phone := fmt.Sprintf("7916%07d", n)
	s.seen.add(&s.seen.clientPhones, phone)
	return int(n), phone
}

// visitTime is a salon-local wall time some days ahead, at a random half hour of the
// working day.
func visitTime(loc *time.Location, days int) time.Time {
	d := time.Now().In(loc).AddDate(0, 0, days)
	return time.Date(d.Year(), d.Month(), d.Day(), 10+rand.IntN(9), 30*rand.IntN(2), 0, 0, loc)
}

// book creates a record for a new client of the salon, as the salon's administrator would in
// YClients; its webhook follows about a second later.
func (s *chaosSuite) book(sl *chaosSalon, days, duplicates int) (chaosBooking, error) {
	n, phone := s.newClient()
	at := visitTime(sl.Zone, days)
	rec, err := s.fake.CreateRecord(sl.ID, yclientsfake.RecordInput{
		Client:   &yclientsfake.ClientInput{Name: clientNames[n%len(clientNames)], Phone: phone},
		Datetime: at.Format("2006-01-02 15:04:05"), Duplicates: duplicates})
	if err != nil {
		return chaosBooking{}, fmt.Errorf("salon %d: create record: %w", sl.ID, err)
	}
	return chaosBooking{salon: sl, record: rec.ID, client: n, phone: phone, start: at}, nil
}

var clientNames = []string{"Анна", "Мария", "Ольга", "Ирина", "Светлана", "Екатерина", "Наталья"}

// clientMessage is one message the salon's number sent to a booking's client, as the client
// read it.
type clientMessage struct {
	kind string // confirmation, change, cancellation, or other
	when string // the visit time it names, «12 декабря, 14:30», or ""
	text string
}

var whenRE = regexp.MustCompile(`(\d{1,2} [а-яё]+), (?:в|на) (\d{1,2}:\d{2})`)

// readMessage classifies a text the way the client would read it.
func readMessage(text string) clientMessage {
	m := clientMessage{kind: "other", text: text}
	switch {
	case strings.Contains(text, "Вы записаны"):
		m.kind = "confirmation"
	case strings.Contains(text, "перенесена") || strings.Contains(text, "обновили вашу запись"):
		m.kind = "change"
	case strings.Contains(text, "отменена"):
		m.kind = "cancellation"
	}
	if w := whenRE.FindStringSubmatch(text); w != nil {
		m.when = w[1] + ", " + w[2]
	}
	return m
}

// whenOf is how a message names a visit time in the salon's zone.
func whenOf(t time.Time, loc *time.Location) string {
	w := whenRE.FindStringSubmatch(texts.FormatWhen(t, loc))
	if w == nil {
		return ""
	}
	return w[1] + ", " + w[2]
}

// outbox is what the fake WhatsApp server recorded as sent, per salon, read once per check.
type outbox map[int64][]simserver.Message

func (s *chaosSuite) outbox(salons ...*chaosSalon) outbox {
	out := outbox{}
	for _, sl := range salons {
		if _, ok := out[sl.ID]; !ok {
			out[sl.ID] = s.sim.Messages(sl.ID)
		}
	}
	return out
}

// to lists what the salon's number sent to phone, in order.
func (o outbox) to(salon int64, phone string) []clientMessage {
	var out []clientMessage
	for _, m := range o[salon] {
		if m.Phone == phone {
			out = append(out, readMessage(m.Text))
		}
	}
	return out
}

// kinds names a list of messages for a failure text: «confirmation(12 декабря, 14:30), change(…)».
func kinds(ms []clientMessage) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, m.kind+"("+m.when+")")
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// checkConfirmed checks that every booking's client got exactly one message, the confirmation
// of the visit at its salon-local time. It returns the bookings still waiting, and the ones
// that got something wrong (a duplicate, another time, another kind).
func (s *chaosSuite) checkConfirmed(bs []chaosBooking) (waiting, wrong []string) {
	o := s.outbox(salonsOf(bs)...)
	for _, b := range bs {
		got := o.to(b.salon.ID, b.phone)
		want := clientMessage{kind: "confirmation", when: whenOf(b.start, b.salon.Zone)}
		switch {
		case len(got) == 0:
			if why := s.lost(b); why != "" {
				wrong = append(wrong, fmt.Sprintf("%s: confirmation lost: %s", b, why))
			} else {
				waiting = append(waiting, b.String()+": confirmation not sent")
			}
		case len(got) > 1 || got[0].kind != want.kind || got[0].when != want.when:
			wrong = append(wrong, fmt.Sprintf("%s: want one confirmation(%s), got %s", b, want.when, kinds(got)))
		}
	}
	return waiting, wrong
}

func salonsOf(bs []chaosBooking) []*chaosSalon {
	var out []*chaosSalon
	for _, b := range bs {
		out = append(out, b.salon)
	}
	return out
}

// checkInstalled checks what every installed salon must show: the installation active, one
// activation callback YClients accepted (and no other), one welcome on the owner's number.
func (s *chaosSuite) checkInstalled(salons []*chaosSalon) (waiting, wrong []string) {
	callbacks := map[int64][]yclientsfake.Callback{}
	for _, cb := range s.fake.Callbacks() {
		callbacks[cb.SalonID] = append(callbacks[cb.SalonID], cb)
	}
	o := s.outbox(salons...)
	for _, sl := range salons {
		if !s.active(sl.ID) {
			waiting = append(waiting, fmt.Sprintf("salon %d: installation not active", sl.ID))
		}
		cbs := callbacks[sl.ID]
		accepted := slices.DeleteFunc(slices.Clone(cbs), func(cb yclientsfake.Callback) bool {
			return cb.StatusCode != http.StatusCreated && cb.StatusCode != http.StatusMovedPermanently
		})
		switch {
		case len(cbs) == 0:
			waiting = append(waiting, fmt.Sprintf("salon %d: no activation callback", sl.ID))
		case len(cbs) > 1 || len(accepted) != 1:
			wrong = append(wrong, fmt.Sprintf("salon %d: %d activation callbacks (%d accepted), want exactly one: %s",
				sl.ID, len(cbs), len(accepted), callbackStatuses(cbs)))
		}
		welcomes := 0
		for _, m := range o[sl.ID] {
			if m.Phone == sl.OwnerPhone && strings.Contains(m.Text, "AI Admin подключён") {
				welcomes++
			}
		}
		switch {
		case welcomes == 0:
			waiting = append(waiting, fmt.Sprintf("salon %d: no welcome message", sl.ID))
		case welcomes > 1:
			wrong = append(wrong, fmt.Sprintf("salon %d: welcome message sent %d times", sl.ID, welcomes))
		}
	}
	return waiting, wrong
}

func callbackStatuses(cbs []yclientsfake.Callback) string {
	var out []string
	for _, cb := range cbs {
		out = append(out, fmt.Sprintf("%d at %s", cb.StatusCode, cb.At.Format("15:04:05.000")))
	}
	return strings.Join(out, ", ")
}

// active reports whether the salon's installation is active; once seen active it is not
// queried again (a query is a workflow task on a worker: polling them all would load the
// cluster under test).
func (s *chaosSuite) active(salon int64) bool {
	s.activeMu.Lock()
	seen := s.activeSeen[salon]
	s.activeMu.Unlock()
	if seen {
		return true
	}
	st, err := s.installState(salon)
	if err != nil || st.Status != workflows.StatusActive {
		return false
	}
	s.activeMu.Lock()
	defer s.activeMu.Unlock()
	if s.activeSeen == nil {
		s.activeSeen = map[int64]bool{}
	}
	s.activeSeen[salon] = true
	return true
}

// installState queries the salon's installation.
func (s *chaosSuite) installState(salon int64) (workflows.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.temporal.QueryWorkflow(ctx, workflows.InstallationID(salon), "", workflows.QueryStatus)
	if err != nil {
		return workflows.State{}, err
	}
	var st workflows.State
	return st, v.Get(&st)
}

// firstFew keeps a failure text readable: the first n lines and how many more there are.
func firstFew(lines []string, n int) string {
	if len(lines) <= n {
		return strings.Join(lines, "\n  ")
	}
	return strings.Join(lines[:n], "\n  ") + fmt.Sprintf("\n  … and %d more", len(lines)-n)
}

// settle waits until check finds nothing missing, or timeout; with quiet, also until nothing
// has moved for 20 s (the salons' inbox drained, no new message sent), since a lost message
// never arrives. Then it waits 5 s for a late duplicate and checks once more. What is still
// missing then is lost; each finding says why its message waited, when a worker logged it.
func (s *chaosSuite) settle(t *testing.T, timeout time.Duration, salons []*chaosSalon, quiet bool,
	check func() (waiting, wrong []string)) (waiting, wrong []string) {
	t.Helper()
	var last string
	var since time.Time
	s.await(t, timeout, "settle", func() (bool, string) {
		waiting, _ = check()
		if len(waiting) == 0 {
			return true, ""
		}
		if !quiet {
			return false, ""
		}
		mark := fmt.Sprint(s.inboxDrained(salons), s.sentCount(salons))
		if mark != last {
			last, since = mark, time.Now()
		}
		return s.inboxDrained(salons) && time.Since(since) > 20*time.Second, ""
	})
	time.Sleep(5 * time.Second)
	waiting, wrong = check()
	return s.explain(waiting), wrong
}

// sentCount is how many messages the salons' numbers sent.
func (s *chaosSuite) sentCount(salons []*chaosSalon) int {
	n := 0
	for _, sl := range salons {
		n += len(s.sim.Messages(sl.ID))
	}
	return n
}

// lost says why a booking's confirmation will never go out ("" while it still may): the
// booking workflow logged its confirmation with an outcome other than sent (it logs only final
// outcomes), or the workflow ended. A booking is queried at most every 10 s.
func (s *chaosSuite) lost(b chaosBooking) string {
	s.lostMu.Lock()
	if s.lostAt == nil {
		s.lostAt = map[int64]time.Time{}
	}
	if time.Since(s.lostAt[b.record]) < 10*time.Second {
		s.lostMu.Unlock()
		return ""
	}
	s.lostAt[b.record] = time.Now()
	s.lostMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := s.temporal.QueryWorkflow(ctx, workflows.BookingID(b.salon.ID, b.record), "", workflows.QueryBooking)
	if err != nil {
		return ""
	}
	var st workflows.BookingState
	if v.Get(&st) != nil {
		return ""
	}
	for _, m := range st.Messages {
		if m.Kind == texts.Confirmation && m.Outcome != ledger.Sent {
			return fmt.Sprintf("the booking workflow logged it %s: %s", m.Outcome, whatsapp.RedactPhones(m.Reason))
		}
	}
	return ""
}
