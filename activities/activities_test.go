package activities_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/pairing"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/secretbox"
	"golang.org/x/time/rate"
)

const (
	partnerToken = "test-partner-token"
	appID        = int64(77)
	salonID      = int64(100001)
)

type fixture struct {
	set   activities.Set
	yc    *yclients.Client
	store *db.Store
	fake  *yclientsfake.Fake
	phone *simphone.Phone
	box   *secretbox.Box
	env   *testsuite.TestActivityEnvironment
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	return newFixtureWith(t, token, nil)
}

// newFixtureHTTP is newFixture whose YClients client uses hc (nil: the default).
func newFixtureHTTP(t *testing.T, token string, hc *http.Client) *fixture {
	t.Helper()
	return newFixtureWith(t, token, nil, hc)
}

// newFixtureWith is newFixture with the activities' dependencies adjusted by tweak (a clock)
// and, when hc is given, the YClients client's HTTP client.
func newFixtureWith(t *testing.T, token string, tweak func(*activities.Deps), hc ...*http.Client) *fixture {
	t.Helper()
	store, _ := dbtest.New(t)
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: partnerToken, ApplicationID: appID, RPS: 1000})
	fake.SeedDemo()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	box, err := secretbox.New(key)
	require.NoError(t, err)
	phone := simphone.New(simphone.Options{FirstQR: 300 * time.Millisecond, NextQR: 100 * time.Millisecond,
		PairCodeTTL: 300 * time.Millisecond, ConnectDelay: 10 * time.Millisecond})
	yc := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: token, ApplicationID: appID,
		Limiter: rate.NewLimiter(rate.Inf, 1), HTTPClient: httpClient(hc)})
	deps := activities.Deps{Store: store, YClients: yc, WhatsApp: phone, Box: box,
		Notifier: notify.New(notify.Config{Store: store}), Temporal: noTemporal{}, PublicURL: "https://aiadmin.example",
		RelinkURL: func(activities.RelinkInput) (string, error) {
			return "https://aiadmin.example/connect/relink?token=t", nil
		}}
	if tweak != nil {
		tweak(&deps)
	}
	set, err := activities.NewSet(deps)
	require.NoError(t, err)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	set.Register(env)
	return &fixture{set: set, yc: yc, store: store, fake: fake, phone: phone, box: box, env: env}
}

func (f *fixture) register(t *testing.T) {
	t.Helper()
	_, err := f.set.Install.RegisterSalon(context.Background(), activities.SalonRef{SalonID: salonID})
	require.NoError(t, err)
}

func appErrType(err error) string {
	var appErr *temporal.ApplicationError
	if err != nil && errorsAs(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

// The register page has just read the salon from YClients to bind the redirect: the register
// step stores what it read instead of asking again (in a wave of owners every YClients request
// waits its turn in the cluster's budget).
func TestRegisterSalonStoresTheKnownCompany(t *testing.T) {
	f := newFixture(t, partnerToken)
	before := len(f.fake.Requests())
	out, err := f.set.Install.RegisterSalon(context.Background(), activities.SalonRef{SalonID: salonID,
		Known: &activities.KnownCompany{Title: "Салон «Бархат»", Phone: "+7 495 000-00-00", Timezone: "Asia/Vladivostok"}})
	require.NoError(t, err)
	require.Equal(t, activities.RegisterOutput{Title: "Салон «Бархат»", Timezone: "Asia/Vladivostok", Phone: "+7 495 000-00-00"}, out)
	require.Len(t, f.fake.Requests(), before, "no YClients request")
	c, err := f.store.GetCompany(context.Background(), salonID)
	require.NoError(t, err)
	require.Equal(t, "Asia/Vladivostok", c.Timezone)
}

func TestRegisterSalonUpsertsCompany(t *testing.T) {
	f := newFixture(t, partnerToken)
	out, err := f.set.Install.RegisterSalon(context.Background(), activities.SalonRef{SalonID: salonID})
	require.NoError(t, err)
	require.Equal(t, "Europe/Moscow", out.Timezone)
	require.Equal(t, "+7 495 123-45-67", out.Phone, "phone: got %q want the company's phone from YClients", out.Phone)
	c, err := f.store.GetCompany(context.Background(), salonID)
	require.NoError(t, err)
	require.Equal(t, out.Title, c.Title)
	require.Equal(t, out.Phone, c.Phone)
	require.NotEmpty(t, c.Address)

	_, err = f.set.Install.RegisterSalon(context.Background(), activities.SalonRef{SalonID: 999999})
	require.Equal(t, activities.ErrTypeNotFound, appErrType(err), "got %v", err)
}

func TestActivateCallsBackOnceAndStoresSecrets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	f.register(t)
	out, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-1"})
	require.NoError(t, err)
	require.False(t, out.AlreadyActive)
	require.NotEmpty(t, out.RedirectURL, "the 301's Location is kept")

	cbs := f.fake.Callbacks()
	require.Len(t, cbs, 1)
	cb := cbs[0]
	require.Len(t, cb.WebhookURLs, 1)
	prefix := "https://aiadmin.example/webhook/yclients/100001/"
	require.True(t, strings.HasPrefix(cb.WebhookURLs[0], prefix), "got %s", cb.WebhookURLs[0])
	secret := strings.TrimPrefix(cb.WebhookURLs[0], prefix)
	require.GreaterOrEqual(t, len(secret), 32)

	sec, err := f.store.GetSalonSecrets(ctx, salonID)
	require.NoError(t, err)
	hash := sha256.Sum256([]byte(secret))
	require.Equal(t, hash[:], sec.WebhookSecretHash, "only the hash of the URL secret is stored")
	require.NotContains(t, string(sec.APIKeyEnc), cb.APIKey, "api_key is stored encrypted")
	plain, err := f.box.Open(sec.APIKeyEnc, []byte("api_key:100001"))
	require.NoError(t, err)
	require.Equal(t, cb.APIKey, string(plain))

	// A retry after success (the answer was lost) sees the active status: no second callback.
	out, err = f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-1"})
	require.NoError(t, err)
	require.True(t, out.AlreadyActive)
	require.Len(t, f.fake.Callbacks(), 1)
}

func TestActivateAlreadyInstalledIsConfirmedByStatus(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	f.register(t)
	// The status read says pending, but the callback answers 403 «already installed»
	// (YClients activated it meanwhile): the activity confirms by status.
	require.NoError(t, f.fake.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/partner/callback", Status: 403, Rate: 1, Count: 1}))
	f.fake.SetStatus(salonID, "pending")
	_, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-1"})
	require.Error(t, err, "a bare 403 without active status is not success")

	f.fake.ClearFaults()
	_, err = f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-1"})
	require.NoError(t, err)
	// Now active: a repeat is answered 403 by the fake, but the activity checks status first.
	f.fake.SetStatus(salonID, "active")
	out, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-1"})
	require.NoError(t, err)
	require.True(t, out.AlreadyActive)
}

func TestActivateErrorsAreTyped(t *testing.T) {
	ctx := context.Background()
	t.Run("401 wrong partner token", func(t *testing.T) {
		f := newFixture(t, "wrong-token")
		_, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-1"})
		require.Equal(t, activities.ErrTypeUnauthorized, appErrType(err), "got %v", err)
		require.NotContains(t, err.Error(), "wrong-token", "tokens never appear in errors")
	})
	t.Run("429 honours Retry-After", func(t *testing.T) {
		f := newFixture(t, partnerToken)
		require.NoError(t, f.fake.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/", Status: 429, Rate: 1, RetryAfter: 7}))
		_, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-1"})
		var appErr *temporal.ApplicationError
		require.True(t, errorsAs(err, &appErr), "got %v", err)
		require.Equal(t, activities.ErrTypeRateLimited, appErr.Type())
		require.False(t, appErr.NonRetryable())
		require.Equal(t, 7*time.Second, appErr.NextRetryDelay())
	})
	t.Run("5xx is retryable", func(t *testing.T) {
		f := newFixture(t, partnerToken)
		require.NoError(t, f.fake.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/", Status: 503, Rate: 1}))
		_, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-1"})
		require.Error(t, err)
		var appErr *temporal.ApplicationError
		require.True(t, errorsAs(err, &appErr))
		require.False(t, appErr.NonRetryable())
	})
}

func TestSyncIsIdempotentAndDeactivatesRowsGoneUpstream(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	f.register(t)
	v, err := f.env.ExecuteActivity(activities.ActSync, activities.SalonRef{SalonID: salonID})
	require.NoError(t, err)
	var first activities.SyncOutput
	require.NoError(t, v.Get(&first))
	require.GreaterOrEqual(t, first.Services, 15)
	require.Equal(t, 5, first.Staff)
	require.Greater(t, first.Schedules, 5*10, "14 days for 5 staff")

	v, err = f.env.ExecuteActivity(activities.ActSync, activities.SalonRef{SalonID: salonID})
	require.NoError(t, err)
	var second activities.SyncOutput
	require.NoError(t, v.Get(&second))
	require.Equal(t, first.Services, second.Services)
	require.Zero(t, second.Deactivated)
	n, err := f.store.CountActiveServices(ctx, salonID)
	require.NoError(t, err)
	require.EqualValues(t, first.Services, n, "upserts do not duplicate")

	// The salon drops all but two services upstream.
	services, err := f.yc.Services(ctx, salonID)
	require.NoError(t, err)
	seed := yclientsfake.Salon{ID: salonID, Title: "Бархат", Timezone: "Europe/Moscow"}
	for _, s := range services[:2] {
		seed.Services = append(seed.Services, yclientsfake.Service{ID: s.ID, Title: s.Title, Active: true, PriceMin: 1, PriceMax: 1})
	}
	seed.Staff = []yclientsfake.Staff{{ID: 1, Name: "Оксана", Bookable: true}}
	f.fake.AddSalon(seed)
	v, err = f.env.ExecuteActivity(activities.ActSync, activities.SalonRef{SalonID: salonID})
	require.NoError(t, err)
	var third activities.SyncOutput
	require.NoError(t, v.Get(&third))
	require.Equal(t, 2, third.Services)
	require.Greater(t, third.Deactivated, first.Services-2)
	n, err = f.store.CountActiveServices(ctx, salonID)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	run, err := f.store.LastSyncRun(ctx, salonID)
	require.NoError(t, err)
	require.EqualValues(t, 2, run.ServicesCount)
	require.NotNil(t, run.FinishedAt)
	require.Empty(t, run.Error)
}

func TestPairStoresCodesEncryptedAndReportsSuccess(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	feed := pairing.New(f.store, f.box, nil)
	go func() {
		// The owner scans once the first QR is on the page.
		for i := 0; i < 200; i++ {
			items, _ := feed.Since(ctx, salonID, "", 0)
			if len(items) > 0 {
				_ = f.phone.Scan(salonID, "+7 999 000-11-22", "Бархат")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	v, err := f.env.ExecuteActivity(activities.ActPair, activities.PairInput{SalonID: salonID, Attempt: 1, Method: "qr"})
	require.NoError(t, err)
	var out activities.PairOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, activities.PairSucceeded, out.Outcome)
	require.Equal(t, "79990001122", out.Phone)

	rows, err := f.store.ListPairingEvents(ctx, dbListParams(salonID))
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	require.Equal(t, "qr", rows[0].Kind)
	require.NotContains(t, string(rows[0].PayloadEnc), "wa.me", "QR payloads are encrypted at rest")
	items, err := feed.Since(ctx, salonID, "", 0)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(items[0].Code, "https://wa.me/settings/linked_devices#"), "feed decrypts")
	require.Equal(t, whatsapp.PairSuccess, items[len(items)-1].Kind)
}

func TestPairTimeoutAndUnreachable(t *testing.T) {
	f := newFixture(t, partnerToken)
	v, err := f.env.ExecuteActivity(activities.ActPair, activities.PairInput{SalonID: salonID, Attempt: 1, Method: "qr"})
	require.NoError(t, err)
	var out activities.PairOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, activities.PairTimedOut, out.Outcome)

	f.phone.SetUnreachable(true)
	start := time.Now()
	v, err = f.env.ExecuteActivity(activities.ActPair, activities.PairInput{SalonID: salonID, Attempt: 2, Method: "qr"})
	require.NoError(t, err)
	require.NoError(t, v.Get(&out))
	require.Equal(t, activities.PairFailed, out.Outcome)
	require.Contains(t, out.Error, "WhatsApp")
	require.Less(t, time.Since(start), 5*time.Second, "fails fast, never hangs")
}

func TestSendWelcomeExactlyOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	f.register(t)
	go scanSoon(f.phone)
	_, err := f.env.ExecuteActivity(activities.ActPair, activities.PairInput{SalonID: salonID, Attempt: 1, Method: "qr"})
	require.NoError(t, err)
	in := activities.WelcomeInput{SalonID: salonID, Phone: "79990001122", SalonName: "Бархат"}
	out, err := f.set.WhatsApp.SendWelcome(ctx, in)
	require.NoError(t, err)
	require.True(t, out.Sent)
	out, err = f.set.WhatsApp.SendWelcome(ctx, in)
	require.NoError(t, err)
	require.True(t, out.Already)
	msgs := f.phone.Messages(salonID)
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Text, "«Бархат»")
	last, err := f.store.LastSentMessage(ctx, salonID)
	require.NoError(t, err)
	require.Equal(t, msgs[0].ID, last.WAMessageID, "the ledger's pre-generated ID is the one sent")
}

func TestSendWelcomeNotConnectedIsRetryable(t *testing.T) {
	f := newFixture(t, partnerToken)
	_, err := f.set.WhatsApp.SendWelcome(context.Background(), activities.WelcomeInput{SalonID: salonID, Phone: "79990001122"})
	require.Equal(t, activities.ErrTypeNotLinked, appErrType(err), "got %v", err)
}

func httpClient(hc []*http.Client) *http.Client {
	if len(hc) > 0 {
		return hc[0]
	}
	return nil
}
