package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

// The reference doc's test vector (yclients-api.md §1.3).
const (
	vectorUserData = "eyJpZCI6MTIzLCJuYW1lIjoiQWxleCBTbWl0aCIsInBob25lIjoiNzk5OTAwMDk5MDAiLCJlbWFpbCI6Im93bmVyQGV4YW1wbGUuY29tIiwiaXNfYXBwcm92ZWQiOnRydWUsImF2YXRhciI6IiIsInNhbG9uX25hbWUiOiJUZXN0IFNhbG9uIn0="
	vectorSign     = "32a3c88581d1d382cc5af617aa4e75d1b07569887d79c3753837ecd56bb1f1d7"
)

func sign(key string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifyUserData(t *testing.T) {
	// JSON whose base64 contains the characters that differ between the alphabets.
	odd := []byte(`{"id":1,"salon_name":"Салон ~~~ ??? >>>"}`)
	oddSign := sign(testPartnerToken, odd)
	url64 := base64.URLEncoding.EncodeToString(odd)
	std64 := base64.StdEncoding.EncodeToString(odd)
	require.True(t, strings.ContainsAny(url64, "-_"), "test payload must exercise the URL alphabet: got %s", url64)
	require.True(t, strings.ContainsAny(std64, "+/"), "test payload must exercise the std alphabet: got %s", std64)

	cases := []struct {
		name, data, sign string
		required         bool
		wantErr          bool
		wantName         string
	}{
		{"doc vector", vectorUserData, vectorSign, true, false, "Test Salon"},
		{"doc vector unpadded", strings.TrimRight(vectorUserData, "="), vectorSign, true, false, "Test Salon"},
		{"doc vector uppercase hex", vectorUserData, strings.ToUpper(vectorSign), true, false, "Test Salon"},
		{"url alphabet padded", url64, oddSign, true, false, "Салон ~~~ ??? >>>"},
		{"url alphabet unpadded", strings.TrimRight(url64, "="), oddSign, true, false, "Салон ~~~ ??? >>>"},
		{"std alphabet", std64, oddSign, true, false, "Салон ~~~ ??? >>>"},
		{"std alphabet, + became space", strings.ReplaceAll(std64, "+", " "), oddSign, true, false, "Салон ~~~ ??? >>>"},
		{"hmac over the base64 string is wrong", vectorUserData, sign(testPartnerToken, []byte(vectorUserData)), true, true, ""},
		{"wrong sign", vectorUserData, strings.Repeat("0", 64), true, true, ""},
		{"sign not hex", vectorUserData, "zz", true, true, ""},
		{"missing sign", vectorUserData, "", false, true, ""},
		{"not base64", "%%%", vectorSign, true, true, ""},
		{"missing user_data, required", "", "", true, true, ""},
		{"missing user_data, optional", "", "", false, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ud, err := verifyUserData(tc.data, tc.sign, testPartnerToken, tc.required)
			if tc.wantErr {
				require.Error(t, err, "got no error, want one")
				require.Equal(t, kindForbidden, classify(err).kind, "got kind %v, want forbidden", classify(err).kind)
				return
			}
			require.NoError(t, err, "got error, want none")
			require.Equal(t, tc.wantName, ud.SalonName, "salon_name: got %q want %q", ud.SalonName, tc.wantName)
		})
	}
}

// Found by FuzzRegisterUserData: the '+' that ends standard base64 (here of "00\xbe": "MDC+")
// arrives as a space in an unescaped query and was trimmed away before being put back. A JSON
// object's base64 never starts or ends with '+', so signed redirects were not affected.
func TestDecodeBase64AnyKeepsPlusAtTheEnds(t *testing.T) {
	for _, in := range []string{"MDC+", "MDC ", "+/8A", " /8A"} {
		got, err := decodeBase64Any(in)
		require.NoError(t, err, in)
		want, _ := base64.StdEncoding.DecodeString(strings.ReplaceAll(in, " ", "+"))
		require.Equal(t, want, got, "%q: got %q want %q", in, got, want)
	}
}

func TestRegisterRejectsBadSalonID(t *testing.T) {
	cfg := testConfig()
	cfg.RequireSignedUserData = false
	srv := startServer(t, cfg, Deps{Temporal: closedTemporal(t)})
	for _, q := range []string{"", "salon_id=", "salon_id=abc", "salon_id=0", "salon_id=-5", "salon_id=1.5",
		"salon_id=99999999999999999999", "salon_ids[0]=abc", "salon_ids[]=0"} {
		t.Run(q, func(t *testing.T) {
			status, h, body := get(t, srv.URL+"/marketplace/register?"+q, nil)
			require.Equal(t, http.StatusBadRequest, status, "status: got %d want 400; body %s", status, body)
			require.Contains(t, h.Get("Content-Type"), "text/html", "content type: got %q want text/html", h.Get("Content-Type"))
			require.Contains(t, body, "Неверная ссылка", "body: got %s, want the Russian error page", body)
		})
	}
}

// The salon ID forms are accepted: the request gets as far as Temporal, which is down (503).
func TestRegisterAcceptsSalonIDForms(t *testing.T) {
	cfg := testConfig()
	cfg.RequireSignedUserData = false
	srv := startServer(t, cfg, Deps{Temporal: closedTemporal(t)})
	for _, q := range []string{"salon_id=123", "salon_ids[0]=123", "salon_ids%5B0%5D=123", "salon_ids[]=123", "salon_ids%5B%5D=123&salon_ids%5B%5D=456"} {
		t.Run(q, func(t *testing.T) {
			start := time.Now()
			status, h, body := get(t, srv.URL+"/marketplace/register?"+q, nil)
			require.Equal(t, http.StatusServiceUnavailable, status, "status: got %d want 503; body %s", status, body)
			require.Contains(t, body, "Сервис временно недоступен", "body: got %s, want the Russian unavailable page", body)
			require.Contains(t, h.Get("Content-Security-Policy"), frameAncestors, "CSP: got %q", h.Get("Content-Security-Policy"))
			require.Less(t, time.Since(start), 10*time.Second, "took %s, want a quick 503", time.Since(start))
		})
	}
}

func TestRegisterSignature(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t)})
	odd := []byte(`{"id":1,"salon_name":"Салон ~~~ ??? >>>"}`)
	oddSign := sign(testPartnerToken, odd)
	q := func(data, sig string) string {
		salon := salonVector
		if data != "" && data != vectorUserData && data != strings.TrimRight(vectorUserData, "=") {
			salon = salonOdd
		}
		v := url.Values{"salon_id": {fmt.Sprint(salon)}}
		if data != "" {
			v.Set("user_data", data)
		}
		if sig != "" {
			v.Set("user_data_sign", sig)
		}
		return v.Encode()
	}
	cases := []struct {
		name  string
		query string
		want  int
	}{
		{"wrong signature", q(vectorUserData, strings.Repeat("a", 64)), http.StatusForbidden},
		{"signature over the base64 string", q(vectorUserData, sign(testPartnerToken, []byte(vectorUserData))), http.StatusForbidden},
		{"user_data without signature", q(vectorUserData, ""), http.StatusForbidden},
		{"no user_data while required", q("", ""), http.StatusForbidden},
		{"signature without user_data", q("", vectorSign), http.StatusForbidden},
		// Correct signatures pass the check and reach Temporal, which is down.
		{"doc vector", q(vectorUserData, vectorSign), http.StatusServiceUnavailable},
		{"doc vector unpadded", q(strings.TrimRight(vectorUserData, "="), vectorSign), http.StatusServiceUnavailable},
		{"base64url", q(base64.URLEncoding.EncodeToString(odd), oddSign), http.StatusServiceUnavailable},
		{"base64url unpadded", q(base64.RawURLEncoding.EncodeToString(odd), oddSign), http.StatusServiceUnavailable},
		{"std base64", q(base64.StdEncoding.EncodeToString(odd), oddSign), http.StatusServiceUnavailable},
		// A '+' sent unescaped arrives as a space.
		{"std base64 with raw +", "salon_id=124&user_data=" + base64.StdEncoding.EncodeToString(odd) + "&user_data_sign=" + oddSign, http.StatusServiceUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := get(t, srv.URL+"/marketplace/register?"+tc.query, nil)
			require.Equal(t, tc.want, status, "status: got %d want %d; body %s", status, tc.want, body)
			if tc.want == http.StatusForbidden {
				require.Contains(t, body, "Не удалось проверить ссылку", "body: got %s, want the Russian 403 page", body)
			}
		})
	}
}

// TestRegisterBindsTheRedirectToItsSalon: user_data is signed, salon_id is not. A redirect
// signed for one salon with another salon's ID is refused before any workflow is touched (the
// Temporal client here points at a port nobody listens on: reaching it would answer 503).
func TestRegisterBindsTheRedirectToItsSalon(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t)})
	signed := func(salonID int64, data string) string {
		return srv.URL + "/marketplace/register?" + url.Values{"salon_id": {fmt.Sprint(salonID)},
			"user_data": {base64.URLEncoding.EncodeToString([]byte(data))}, "user_data_sign": {sign(testPartnerToken, []byte(data))}}.Encode()
	}
	cases := []struct {
		name, url string
		want      int
		page      string
	}{
		{"signed for Test Salon, salon_id of another", signed(42, `{"id":7,"salon_name":"Test Salon"}`), http.StatusForbidden, "Ссылка не подходит к этому салону"},
		{"no salon_name signed", signed(42, `{"id":7}`), http.StatusForbidden, "Ссылка не подходит к этому салону"},
		{"unknown salon", signed(999, `{"id":7,"salon_name":"Test Salon"}`), http.StatusNotFound, "Салон не найден"},
		{"user_data not JSON", signed(salonVector, `not json`), http.StatusForbidden, "Не удалось проверить ссылку"},
		// The name matches once case, quotes and spaces are set aside: on to Temporal (down).
		{"same name, other quotes and case", signed(42, `{"id":7,"salon_name":"  салон \"бархат\" "}`), http.StatusServiceUnavailable, ""},
		{"installed salon: status only, Temporal down", signed(salonActive, `{"id":7,"salon_name":"Салон «Готово»"}`), http.StatusServiceUnavailable, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := get(t, tc.url, nil)
			require.Equal(t, tc.want, status, "status: got %d want %d; body %s", status, tc.want, body)
			if tc.page != "" {
				require.Contains(t, body, tc.page, "body: got %s", body)
			}
		})
	}
}

// budgetQueueFull is a YClients budget whose queue is longer than anyone can wait.
type budgetQueueFull struct{}

func (budgetQueueFull) Wait(context.Context) error { return yclients.ErrBudgetDeadline }

// TestRegisterWhileTheYClientsQueueIsLong: when many owners connect at once and the cluster's
// YClients budget cannot serve this page in time, the owner is told so (not «YClients не
// отвечает») and offered to reload.
func TestRegisterWhileTheYClientsQueueIsLong(t *testing.T) {
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: testPartnerToken, ApplicationID: 777})
	fake.AddSalon(yclientsfake.Salon{ID: 42, Title: "Салон «Бархат»"})
	yc := httptest.NewServer(fake)
	defer yc.Close()
	salons := NewSalonDirectory(yclients.New(yclients.Config{BaseURL: yc.URL, PartnerToken: testPartnerToken,
		ApplicationID: 777, Limiter: budgetQueueFull{}}), nil)
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t), Salons: salons})
	data := `{"id":7,"salon_name":"Салон «Бархат»"}`
	status, _, body := get(t, srv.URL+"/marketplace/register?"+url.Values{"salon_id": {"42"},
		"user_data": {base64.URLEncoding.EncodeToString([]byte(data))}, "user_data_sign": {sign(testPartnerToken, []byte(data))}}.Encode(), nil)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, body, "Сейчас подключается много салонов")
	require.Contains(t, body, "Обновить")
	require.Empty(t, fake.Requests(), "no request went to YClients")
}

func TestSameSalonName(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"Салон «Бархат»", `салон "бархат"`, true},
		{"Салон  красоты   Ёлка", "салон красоты елка", true},
		{"„Бархат“", "Бархат", true},
		{"Бархат", "Бархат 2", false},
		{"", "", false},
		{"Test Salon", "Test  Salon ", true},
	} {
		require.Equal(t, c.want, sameSalonName(c.a, c.b), "%q vs %q", c.a, c.b)
	}
}

// countingSalons counts the YClients reads of the salon directory and fails the status read
// while failStatus is set; title is the company's title (a default when empty).
type countingSalons struct {
	companies, statuses int
	failStatus          bool
	title               string
}

func (c *countingSalons) Company(_ context.Context, id int64) (yclients.Company, error) {
	c.companies++
	title := c.title
	if title == "" {
		title = "Салон «Бархат»"
	}
	return yclients.Company{ID: id, Title: title, Timezone: "Europe/Moscow"}, nil
}

func (c *countingSalons) IntegrationStatus(context.Context, int64) (yclients.IntegrationStatus, error) {
	c.statuses++
	if c.failStatus {
		return yclients.IntegrationStatus{}, yclients.ErrBudgetDeadline
	}
	return yclients.IntegrationStatus{Status: "pending"}, nil
}

// TestSalonDirectoryKeepsWhatItRead: an owner whose page ran out of time on the second read
// (the status) does not pay for the first (the company) again on reload: in a wave of owners
// every YClients request waits its turn in the cluster's budget.
func TestSalonDirectoryKeepsWhatItRead(t *testing.T) {
	yc := &countingSalons{failStatus: true}
	d := newSalonDirectory(yc, nil)
	ctx := context.Background()
	company, err := d.Company(ctx, 42, companyTTL)
	require.NoError(t, err)
	require.Equal(t, "Europe/Moscow", company.Timezone)
	_, err = d.Integration(ctx, 42)
	require.ErrorIs(t, err, yclients.ErrBudgetDeadline)
	yc.failStatus = false
	_, err = d.Company(ctx, 42, companyTTL)
	require.NoError(t, err)
	st, err := d.Integration(ctx, 42)
	require.NoError(t, err)
	require.Equal(t, "pending", st)
	_, err = d.Integration(ctx, 42)
	require.NoError(t, err)
	require.Equal(t, 1, yc.companies, "the company read once")
	require.Equal(t, 2, yc.statuses, "the status read again only after it failed")
}

// TestSalonDirectoryKeepsTheCompanyForMinutes: an owner who opens the page again while the
// salon is set up costs no company read for companyTTL; the integration's status, which
// decides whether the page may pair, is read again after statusTTL.
func TestSalonDirectoryKeepsTheCompanyForMinutes(t *testing.T) {
	yc := &countingSalons{}
	d := newSalonDirectory(yc, nil)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	d.now = func() time.Time { return now }
	ctx := context.Background()
	read := func() {
		t.Helper()
		_, err := d.Company(ctx, 42, companyTTL)
		require.NoError(t, err)
		_, err = d.Integration(ctx, 42)
		require.NoError(t, err)
	}
	read()
	now = now.Add(statusTTL + time.Second)
	read()
	require.Equal(t, 1, yc.companies, "the company kept past the status's time")
	require.Equal(t, 2, yc.statuses, "the status read again after statusTTL")
	now = now.Add(companyTTL)
	read()
	require.Equal(t, 2, yc.companies, "the company read again after companyTTL")
}

// TestRegisterBindRereadsARenamedSalon: a signed redirect whose salon name does not match the
// company kept reads the company again once it is companyRecheck old (the salon was renamed
// in YClients), and not before: a redirect for another salon, repeated, costs one read per
// companyRecheck at most.
func TestRegisterBindRereadsARenamedSalon(t *testing.T) {
	yc := &countingSalons{title: "Бархат"}
	d := newSalonDirectory(yc, nil)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	d.now = func() time.Time { return now }
	h := &registerHandler{salons: d}
	ctx := context.Background()
	signed := func(name string) userData { return userData{SalonName: name, signed: true} }

	c, err := h.bind(ctx, 42, signed("Бархат"))
	require.NoError(t, err)
	require.Equal(t, "Бархат", c.Title)
	yc.title = "Бархат и Шёлк" // renamed in YClients
	for range 3 {
		_, err = h.bind(ctx, 42, signed("Бархат и Шёлк"))
		var ae *apiError
		require.ErrorAs(t, err, &ae, "the kept title does not match within companyRecheck")
		require.Equal(t, kindForbidden, ae.kind)
	}
	require.Equal(t, 1, yc.companies, "no read for a mismatch within companyRecheck")
	now = now.Add(companyRecheck + time.Second)
	c, err = h.bind(ctx, 42, signed("Бархат и Шёлк"))
	require.NoError(t, err, "the renamed salon is read again and matches")
	require.Equal(t, "Бархат и Шёлк", c.Title)
	require.Equal(t, 2, yc.companies)
	_, err = h.bind(ctx, 42, signed("Бархат и Шёлк"))
	require.NoError(t, err)
	require.Equal(t, 2, yc.companies, "the new title is kept")
}

// TestSalonDirectorySharesWhatItReadAcrossProcesses: the api processes behind one address
// keep what YClients said in PostgreSQL. An owner whose page ran out of time on the status
// read and who reloads reaches another process (a round-robin load balancer): that one does
// not pay for the company again, nor, within statusTTL, for the status another process read;
// what is older than its time is read again, whichever process kept it.
func TestSalonDirectorySharesWhatItReadAcrossProcesses(t *testing.T) {
	store, _ := dbtest.New(t)
	yc := &countingSalons{failStatus: true}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	first, second := newSalonDirectory(yc, store), newSalonDirectory(yc, store)
	first.now, second.now = clock, clock
	ctx := context.Background()

	_, err := first.Company(ctx, 42, companyTTL)
	require.NoError(t, err)
	_, err = first.Integration(ctx, 42)
	require.ErrorIs(t, err, yclients.ErrBudgetDeadline)
	yc.failStatus = false
	c, err := second.Company(ctx, 42, companyTTL)
	require.NoError(t, err)
	require.Equal(t, "Салон «Бархат»", c.Title)
	require.Equal(t, "Europe/Moscow", c.Timezone)
	require.Equal(t, 1, yc.companies, "the other process took the company the first one read: got %d reads want 1", yc.companies)
	st, err := second.Integration(ctx, 42)
	require.NoError(t, err)
	require.Equal(t, "pending", st)
	now = now.Add(time.Second)
	st, err = first.Integration(ctx, 42)
	require.NoError(t, err)
	require.Equal(t, "pending", st)
	require.Equal(t, 2, yc.statuses, "the status read again only after it failed: got %d reads want 2", yc.statuses)

	now = now.Add(statusTTL)
	_, err = first.Integration(ctx, 42)
	require.NoError(t, err)
	require.Equal(t, 3, yc.statuses, "a status older than statusTTL read again")
	now = now.Add(companyTTL)
	_, err = second.Company(ctx, 42, companyTTL)
	require.NoError(t, err)
	require.Equal(t, 2, yc.companies, "a company older than companyTTL read again")
}
