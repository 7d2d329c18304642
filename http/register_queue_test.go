package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

// TestRegisterWaitsInTheQueue: when many owners connect at once, the cluster's YClients budget
// (200 requests a minute) has a queue longer than a page should load. The owner then gets a
// page that says the salon waits its turn and comes back by itself when the salon's reads are
// due, not an error page to reload by hand. The reads are booked once however often the page
// is opened, are made in their slots, and the next visit finds them.
func TestRegisterWaitsInTheQueue(t *testing.T) {
	store, fake, salons := budgetedSalons(t)
	ctx := context.Background()
	queued := time.Now()
	const ahead = 30 // other owners' requests: a 9 s queue
	for range ahead {
		_, ok, err := store.ReserveYClientsSlot(ctx, yclients.BudgetSpacing, time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
	}
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Salons: salons})
	data := `{"id":7,"salon_name":"Салон «Бархат»"}`
	page := srv.URL + "/marketplace/register?" + url.Values{"salon_id": {"42"},
		"user_data": {base64.URLEncoding.EncodeToString([]byte(data))}, "user_data_sign": {sign(testPartnerToken, []byte(data))}}.Encode()

	status, h, body := get(t, page, nil)
	require.Equal(t, http.StatusAccepted, status, "the page: %s", pageTitleOf(body))
	require.Contains(t, body, "Салон в очереди на подключение")
	require.Contains(t, body, "Страница обновится сама")
	require.NotContains(t, body, "Обновить</a>", "no button to press")
	retry, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err, "Retry-After: %q", h.Get("Retry-After"))
	due := queued.Add((ahead + 2) * yclients.BudgetSpacing).Add(answerMargin) // the company's and the status's slots
	require.InDelta(t, time.Until(due).Seconds(), float64(retry), 2, "Retry-After: got %d s", retry)
	require.Contains(t, body, `<meta http-equiv="refresh" content="`+strconv.Itoa(retry)+`">`)
	require.Empty(t, fake.Requests(), "nothing read yet: the reads wait their turn")

	status, _, _ = get(t, page, nil)
	require.Equal(t, http.StatusAccepted, status, "opened again before its turn")
	wait, ok, err := store.TakeYClientsTurn(ctx, yclients.BudgetSpacing, 0)
	require.NoError(t, err)
	require.False(t, ok)
	require.InDelta(t, time.Until(queued.Add((ahead+2)*yclients.BudgetSpacing)).Seconds(), wait.Seconds(), 0.5,
		"the owners' queue: the salon's two reads took their turns once, however often the page opened")

	require.Eventually(t, func() bool { return len(fake.Requests()) == 2 }, 15*time.Second, 100*time.Millisecond,
		"the reads made in their slots")
	status, _, body = get(t, page, nil)
	require.NotEqual(t, http.StatusAccepted, status, "the next visit goes on: %s", pageTitleOf(body))
	require.Len(t, fake.Requests(), 2, "the next visit read nothing again")
}

// budgetedSalons is the salon directory over a fake YClients that knows salon 42, spending the
// cluster's YClients budget in store.
func budgetedSalons(t *testing.T) (*db.Store, *yclientsfake.Fake, SalonDirectory) {
	store, _ := dbtest.New(t)
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: testPartnerToken, ApplicationID: 777})
	fake.AddSalon(yclientsfake.Salon{ID: 42, Title: "Салон «Бархат»"})
	yc := httptest.NewServer(fake)
	t.Cleanup(yc.Close)
	return store, fake, NewSalonDirectory(yclients.New(yclients.Config{BaseURL: yc.URL, PartnerToken: testPartnerToken,
		ApplicationID: 777, Limiter: yclients.NewBudget(store)}), store)
}

func pageTitleOf(body string) string {
	_, after, ok := strings.Cut(body, "<title>")
	if !ok {
		return "(no title)"
	}
	title, _, _ := strings.Cut(after, "</title>")
	return title
}

// TestSalonDirectoryQueuedReadAcrossProcesses: behind one address, an owner told to wait may
// come back to another api process. That one waits for the read the first booked instead of
// booking it again, takes its answer when it is kept, and tells the owner how it failed (an
// unknown salon) without reading again, as the first process does.
func TestSalonDirectoryQueuedReadAcrossProcesses(t *testing.T) {
	store, fake, first, second := twoAPIProcesses(t)
	ctx := context.Background()
	queued := time.Now()
	const ahead = 10 // a 3 s queue: longer than the pages wait here
	dbtest.ReserveUrgentSlots(t, store, yclients.BudgetSpacing, ahead)
	queueEnd := func() time.Time {
		wait, ok, err := store.TakeYClientsTurn(ctx, yclients.BudgetSpacing, 0)
		require.NoError(t, err)
		require.False(t, ok)
		return time.Now().Add(wait)
	}

	_, err := first.Company(ctx, 42, companyTTL)
	q1 := asQueued(err)
	require.NotNil(t, q1, "the first process: %v", err)
	_, err = second.Company(ctx, 42, companyTTL)
	q2 := asQueued(err)
	require.NotNil(t, q2, "the second process: %v", err)
	require.WithinDuration(t, q1.Ready, q2.Ready, 500*time.Millisecond, "both wait for the same read")
	require.WithinDuration(t, queued.Add((ahead+2)*yclients.BudgetSpacing), queueEnd(), 300*time.Millisecond,
		"one turn taken for the two pages, with the one after it kept for the salon's status")
	_, err = first.Company(ctx, 43, companyTTL) // YClients knows no salon 43
	require.NotNil(t, asQueued(err), "salon 43: %v", err)

	require.Eventually(t, func() bool { return len(fake.Requests()) == 2 }, 10*time.Second, 50*time.Millisecond)
	c, err := second.Company(ctx, 42, companyTTL)
	require.NoError(t, err)
	require.Equal(t, "Салон «Бархат»", c.Title)
	require.Eventually(t, func() bool {
		_, err = second.Company(ctx, 43, companyTTL)
		return asQueued(err) == nil
	}, 5*time.Second, 50*time.Millisecond)
	require.ErrorIs(t, err, ErrUnknownSalon, "the other process tells how the read it waited for ended")
	_, err = first.Company(ctx, 43, companyTTL)
	require.ErrorIs(t, err, ErrUnknownSalon, "so does the one that read")
	require.Len(t, fake.Requests(), 2, "nothing read twice")
}

// TestSalonDirectoryWaitsForAReadOverdueElsewhere: a wave's turns in the YClients budget are
// taken minutes ahead, and urgent requests (activation callbacks) go before them, so a read
// whose turn has come may wait for its slot long after the turn. An owner who comes back
// meanwhile to another api process waits for that read: it is not booked a second time
// (on the cluster, before this was fixed, a wave read each integration status 2.79 times).
func TestSalonDirectoryWaitsForAReadOverdueElsewhere(t *testing.T) {
	store, fake, first, second := twoAPIProcesses(t)
	first.staleQueued, second.staleQueued = 2*time.Second, 2*time.Second
	ctx := context.Background()
	dbtest.ReserveUrgentSlots(t, store, yclients.BudgetSpacing, 10) // a 3 s queue: longer than the pages wait here
	_, err := first.Company(ctx, 42, companyTTL)
	q := asQueued(err)
	require.NotNil(t, q, "the first process: %v", err)
	turn := q.Ready.Add(-answerMargin)
	dbtest.ReserveUrgentSlots(t, store, yclients.BudgetSpacing, 30) // 9 s of urgent requests, which go before the turn once it has come

	time.Sleep(time.Until(turn.Add(second.staleQueued + time.Second)))
	_, err = second.Company(ctx, 42, companyTTL)
	require.NotNil(t, asQueued(err), "the second process, %s after the first's turn: %v",
		time.Since(turn).Round(time.Millisecond), err)
	require.Empty(t, fake.Requests(), "the read waits for its slot behind the urgent requests")
	require.Zero(t, flights(second), "the second process booked a read of its own")

	require.Eventually(t, func() bool { return len(fake.Requests()) > 0 }, 15*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		c, err := second.Company(ctx, 42, companyTTL)
		return err == nil && c.Title == "Салон «Бархат»"
	}, 5*time.Second, 100*time.Millisecond, "the second process takes the first's answer")
	require.Eventually(t, func() bool { return flights(first) == 0 }, 5*time.Second, 50*time.Millisecond,
		"the first process's read ends")
	require.Zero(t, flights(second), "the second process booked a read of its own")
	require.Len(t, fake.Requests(), 1, "the company read once")
}

// twoAPIProcesses is two api processes' salon directories over one shared store and budget,
// and the fake YClients (salon 42) behind them; pages wait 1 s.
func twoAPIProcesses(t *testing.T) (*db.Store, *yclientsfake.Fake, *salonDirectory, *salonDirectory) {
	store, _ := dbtest.New(t)
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: testPartnerToken, ApplicationID: 777})
	fake.AddSalon(yclientsfake.Salon{ID: 42, Title: "Салон «Бархат»"})
	yc := httptest.NewServer(fake)
	t.Cleanup(yc.Close)
	process := func() *salonDirectory {
		d := newSalonDirectory(yclients.New(yclients.Config{BaseURL: yc.URL, PartnerToken: testPartnerToken,
			ApplicationID: 777, Limiter: yclients.NewBudget(store)}), store)
		d.pageWait = time.Second
		return d
	}
	return store, fake, process(), process()
}

// flights is how many reads the directory has under way.
func flights(d *salonDirectory) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.flights)
}

// TestRegisterReadsFollowEachOther: the register page needs two reads before the owner sees a
// QR code, the company (which binds the signed redirect to the salon, before anything else)
// and then the integration's status (may this page pair?), each taking its turn in the
// cluster's YClients budget. With nobody else asking, the status goes in the slot after the
// company's (305 ms), not 2.3 s later: the hold that keeps background work behind a turn that
// has come once held the owners' next turns back too, the same owner's second read among them.
func TestRegisterReadsFollowEachOther(t *testing.T) {
	_, fake, salons := budgetedSalons(t)
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Salons: salons})
	data := `{"id":7,"salon_name":"Салон «Бархат»"}`
	get(t, srv.URL+"/marketplace/register?"+url.Values{"salon_id": {"42"},
		"user_data": {base64.URLEncoding.EncodeToString([]byte(data))}, "user_data_sign": {sign(testPartnerToken, []byte(data))}}.Encode(), nil)

	var company, status time.Time
	for _, r := range fake.Requests() {
		switch {
		case strings.HasPrefix(r.Path, "/api/v1/company/"):
			company = r.At
		case strings.HasPrefix(r.Path, "/marketplace/salon/"):
			status = r.At
		}
	}
	require.False(t, company.IsZero(), "the company was read: %+v", fake.Requests())
	require.False(t, status.IsZero(), "the status was read: %+v", fake.Requests())
	require.Less(t, status.Sub(company), time.Second,
		"the status was asked %v after the company (the next slot is %v later)", status.Sub(company), yclients.BudgetSpacing)
}

// TestRegisterAnOwnersReadsGoTogether: in a wave of owners who connect at once, each owner
// needs two YClients reads before the QR code (the company, then the integration's status),
// and the budget serves the owners' queue in turn order. Each owner's two reads take their
// turns together, so the first owners are done first: an owner's status is not read behind
// the companies of every owner who came meanwhile. (In a wave of 500, the connect page's p50
// was 305 s, the time of 1,000 reads, where reads in pairs and the activation callbacks
// between them make it about 230 s.)
func TestRegisterAnOwnersReadsGoTogether(t *testing.T) {
	store, fake, salons := budgetedSalons(t)
	dbtest.ReserveUrgentSlots(t, store, yclients.BudgetSpacing, 30) // a 9 s queue of other owners' requests: every page is told to wait
	const owners = 6
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Salons: salons})
	var wg sync.WaitGroup
	for i := range owners {
		salon := int64(100 + i)
		title := "Салон " + strconv.Itoa(i)
		fake.AddSalon(yclientsfake.Salon{ID: salon, Title: title})
		data := `{"id":7,"salon_name":"` + title + `"}`
		page := srv.URL + "/marketplace/register?" + url.Values{"salon_id": {strconv.FormatInt(salon, 10)},
			"user_data": {base64.URLEncoding.EncodeToString([]byte(data))}, "user_data_sign": {sign(testPartnerToken, []byte(data))}}.Encode()
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, body := get(t, page, nil)
			assert.Equal(t, http.StatusAccepted, status, "the queue page: %s", pageTitleOf(body))
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool { return len(fake.Requests()) == 2*owners }, 30*time.Second, 100*time.Millisecond,
		"every owner's two reads made in their slots: %+v", fake.Requests())
	var order []string
	for _, r := range fake.Requests() {
		switch {
		case strings.HasPrefix(r.Path, "/api/v1/company/"):
			order = append(order, "company "+strings.TrimPrefix(r.Path, "/api/v1/company/"))
		case strings.HasPrefix(r.Path, "/marketplace/salon/"):
			order = append(order, "status "+strings.Split(strings.TrimPrefix(r.Path, "/marketplace/salon/"), "/")[0])
		}
	}
	require.Len(t, order, 2*owners, "%v", order)
	for i := 0; i < len(order); i += 2 {
		company, status := order[i], order[i+1]
		require.True(t, strings.HasPrefix(company, "company ") && status == "status "+strings.TrimPrefix(company, "company "),
			"each owner's status right after its company: %v", order)
	}
}

// TestRegisterQueuedUnknownSalonCostsNoStatusRead: the status's read that follows the company's
// in the owners' queue is made only once the company's answer is in: for a salon YClients does
// not know it is not made at all, and the owner's next visit says the salon was not found.
func TestRegisterQueuedUnknownSalonCostsNoStatusRead(t *testing.T) {
	store, fake, salons := budgetedSalons(t)
	dbtest.ReserveUrgentSlots(t, store, yclients.BudgetSpacing, 30) // a 9 s queue: the page is told to wait
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Salons: salons})
	data := `{"id":7,"salon_name":"Салон «Бархат»"}`
	page := srv.URL + "/marketplace/register?" + url.Values{"salon_id": {"43"}, // YClients knows no salon 43
		"user_data": {base64.URLEncoding.EncodeToString([]byte(data))}, "user_data_sign": {sign(testPartnerToken, []byte(data))}}.Encode()
	status, _, body := get(t, page, nil)
	require.Equal(t, http.StatusAccepted, status, "the queue page: %s", pageTitleOf(body))
	require.Eventually(t, func() bool { return len(fake.Requests()) == 1 }, 20*time.Second, 50*time.Millisecond,
		"the company read in its turn")
	time.Sleep(3 * yclients.BudgetSpacing) // past the turn taken for the status's read
	require.Len(t, fake.Requests(), 1, "no status read for a salon YClients does not know: %+v", fake.Requests())
	status, _, body = get(t, page, nil)
	require.Equal(t, http.StatusNotFound, status, "the next visit: %s", pageTitleOf(body))
	require.Contains(t, body, "Салон не найден")
}
