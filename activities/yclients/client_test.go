package yclients_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

func TestClientHappyPaths(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, yclientsfake.Options{}, yclients.Config{})

	t.Run("Company", func(t *testing.T) {
		got, err := e.client.Company(ctx, yclientsfake.DemoSalonMoscow)
		require.NoError(t, err)
		require.Equal(t, yclients.Company{
			ID: 100001, Title: `Салон красоты "Бархат"`, Phone: "+7 495 123-45-67", Email: "hello@barhat-salon.ru",
			Address: "ул. Тверская, д. 12, стр. 1", City: "Москва", Timezone: "Europe/Moscow", ShortDescr: "Салон красоты",
		}, got)
	})

	t.Run("Services", func(t *testing.T) {
		got, err := e.client.Services(ctx, yclientsfake.DemoSalonMoscow)
		require.NoError(t, err)
		require.Len(t, got, 21)
		require.Equal(t, yclients.Service{ID: 1001, Title: "Женская стрижка", CategoryID: 501, PriceMin: 2500, PriceMax: 3500, DurationSeconds: 3600, Active: true}, got[0])
		require.Equal(t, yclients.Service{ID: 1002, Title: "Мужская стрижка", CategoryID: 501, PriceMin: 1800, PriceMax: 1800, DurationSeconds: 2700, Active: true}, got[1])
		last := got[len(got)-1]
		require.Equal(t, int64(1021), last.ID)
		require.False(t, last.Active)
		for _, s := range got {
			require.Positive(t, s.DurationSeconds, s.Title)
			require.Positive(t, s.PriceMin, s.Title)
		}
	})

	t.Run("Staff", func(t *testing.T) {
		got, err := e.client.Staff(ctx, yclientsfake.DemoSalonMoscow)
		require.NoError(t, err)
		require.Len(t, got, 5)
		require.Equal(t, yclients.Staff{ID: 2001, Name: "Анна Смирнова", Specialization: "Парикмахер-стилист", Position: "Стилист", Bookable: true}, got[0])
		for _, s := range got {
			require.NotEmpty(t, s.Position, s.Name)
			require.True(t, s.Bookable, s.Name)
		}
	})

	t.Run("Schedules for 14 days", func(t *testing.T) {
		msk, err := time.LoadLocation("Europe/Moscow")
		require.NoError(t, err)
		from := time.Now().In(msk)
		to := from.AddDate(0, 0, 13)
		got, err := e.client.Schedules(ctx, yclientsfake.DemoSalonMoscow, from, to)
		require.NoError(t, err)
		require.Len(t, got, 5*14, "one entry per staff member and date")
		working, off := 0, 0
		for _, d := range got {
			if d.IsWorking {
				working++
				require.NotEmpty(t, d.Slots)
			} else {
				off++
				require.Empty(t, d.Slots)
			}
		}
		require.Positive(t, off, "some days off")
		require.Greater(t, working, off)
		anna := slices.IndexFunc(got, func(d yclients.ScheduleDay) bool { return d.StaffID == 2001 && d.IsWorking })
		require.GreaterOrEqual(t, anna, 0)
		require.Equal(t, []yclients.Slot{{From: "10:00", To: "14:00"}, {From: "15:00", To: "20:00"}}, got[anna].Slots)
	})

	t.Run("Record", func(t *testing.T) {
		got, err := e.client.Record(ctx, yclientsfake.DemoSalonMoscow, 500001)
		require.NoError(t, err)
		require.Equal(t, int64(100001), got.CompanyID)
		require.Equal(t, int64(2001), got.StaffID)
		require.Equal(t, yclients.RecordStaff{ID: 2001, Name: "Анна Смирнова"}, got.Staff)
		require.Equal(t, []yclients.RecordService{{ID: 1001, Title: "Женская стрижка", Cost: 2500}}, got.Services)
		require.Equal(t, &yclients.RecordClient{ID: 800001, Name: "Ксения Орлова", Phone: "79031112233", Email: "ksenia.orlova@example.ru"}, got.Client)
		_, off := got.Datetime.Zone()
		require.Equal(t, 3*3600, off, "Moscow offset kept")
		require.Equal(t, 12, got.Datetime.Hour())
		require.Equal(t, 3600, got.SeanceLength)
		require.False(t, got.LastChangeDate.IsZero())
		require.Equal(t, int64(7500001), got.VisitID)
		require.True(t, got.CreateDate.Before(got.LastChangeDate), "created %v, changed %v", got.CreateDate, got.LastChangeDate)

		noClient, err := e.client.Record(ctx, yclientsfake.DemoSalonMoscow, 500004)
		require.NoError(t, err)
		require.Nil(t, noClient.Client)
		deleted, err := e.client.Record(ctx, yclientsfake.DemoSalonMoscow, 500005)
		require.NoError(t, err)
		require.True(t, deleted.Deleted)

		vl, err := e.client.Record(ctx, yclientsfake.DemoSalonVladivostok, 600001)
		require.NoError(t, err)
		_, off = vl.Datetime.Zone()
		require.Equal(t, 10*3600, off, "Vladivostok offset kept")
	})

	t.Run("IntegrationStatus", func(t *testing.T) {
		got, err := e.client.IntegrationStatus(ctx, yclientsfake.DemoSalonKaliningrad)
		require.NoError(t, err)
		require.Equal(t, yclients.StatusPending, got.Status)
		require.False(t, got.CreatedAt.IsZero())
		require.Len(t, got.Logs, 1)
		require.Equal(t, yclients.StatusLog{ChangedAt: got.Logs[0].ChangedAt, StatusFrom: "uninstalled", StatusTo: "pending", Source: "marketplace"}, got.Logs[0])
	})

	require.NotContains(t, e.statuses(), http.StatusTooManyRequests)
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()

	t.Run("wrong token is 401", func(t *testing.T) {
		e := newEnv(t, yclientsfake.Options{}, yclients.Config{PartnerToken: "wrong-token-123"})
		_, err := e.client.Company(ctx, yclientsfake.DemoSalonMoscow)
		require.True(t, yclients.IsUnauthorized(err), "got %v", err)
		require.False(t, yclients.IsRetryable(err))
		require.Contains(t, err.Error(), "Необходима авторизация")
		require.NotContains(t, err.Error(), "wrong-token-123")
		_, err = e.client.IntegrationStatus(ctx, yclientsfake.DemoSalonMoscow)
		require.True(t, yclients.IsUnauthorized(err))
	})

	t.Run("unknown salon is 404", func(t *testing.T) {
		e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
		_, err := e.client.Company(ctx, 999)
		require.True(t, yclients.IsNotFound(err), "got %v", err)
		var apiErr *yclients.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, "Филиал не найден", apiErr.Message, "legacy error body")
		_, err = e.client.Staff(ctx, 999)
		require.True(t, yclients.IsNotFound(err))
		_, err = e.client.Record(ctx, yclientsfake.DemoSalonMoscow, 1)
		require.True(t, yclients.IsNotFound(err))
		_, err = e.client.IntegrationStatus(ctx, 999)
		require.True(t, yclients.IsNotFound(err))
	})

	t.Run("429 carries Retry-After", func(t *testing.T) {
		e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
		require.NoError(t, e.fake.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/", Status: 429, Rate: 1, RetryAfter: 2}))
		_, err := e.client.Services(ctx, yclientsfake.DemoSalonMoscow)
		require.True(t, yclients.IsRateLimited(err), "got %v", err)
		var apiErr *yclients.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 2*time.Second, apiErr.RetryAfter)
		require.True(t, apiErr.Retryable())
		_, err = e.client.IntegrationStatus(ctx, yclientsfake.DemoSalonMoscow)
		require.NoError(t, err, "the fault only matches /api/v1/")
	})

	t.Run("network error", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: testPartnerToken, Limiter: rate.NewLimiter(rate.Inf, 0)})
		_, err := c.Company(ctx, 1)
		var netErr *yclients.NetworkError
		require.ErrorAs(t, err, &netErr)
		require.Equal(t, "GET /api/v1/company/1", netErr.Op)
		require.True(t, yclients.IsRetryable(err))
		require.NotContains(t, err.Error(), testPartnerToken)
	})
}

// TestClientOneAttempt: the client makes exactly one attempt per call, whatever the answer:
// Temporal's retry policy retries the activity, and an in-process retry would spend the
// cluster's YClients budget twice.
func TestClientOneAttempt(t *testing.T) {
	ctx := context.Background()
	t.Run("503 is returned, retryable", func(t *testing.T) {
		e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
		require.NoError(t, e.fake.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/", Status: 503, Count: 1}))
		_, err := e.client.Company(ctx, yclientsfake.DemoSalonMoscow)
		require.True(t, yclients.IsRetryable(err))
		require.Equal(t, []int{503}, e.statuses())
	})
	t.Run("429 is returned with its Retry-After", func(t *testing.T) {
		e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
		require.NoError(t, e.fake.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/", Status: 429, RetryAfter: 30}))
		_, err := e.client.Staff(ctx, yclientsfake.DemoSalonMoscow)
		require.True(t, yclients.IsRateLimited(err))
		var apiErr *yclients.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 30*time.Second, apiErr.RetryAfter)
		require.Equal(t, []int{429}, e.statuses())
	})
	t.Run("404 is not retryable", func(t *testing.T) {
		e := newEnv(t, yclientsfake.Options{}, yclients.Config{})
		_, err := e.client.Company(ctx, 4242)
		require.True(t, yclients.IsNotFound(err))
		require.Equal(t, []int{404}, e.statuses())
	})
}

// TestDefaultLimiter fires 20 concurrent calls through the shared default limiter at a fake
// that enforces YClients' own 5 requests/second: none may be rejected.
func TestDefaultLimiter(t *testing.T) {
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: testPartnerToken, ApplicationID: testAppID, RPS: 5})
	fake.SeedDemo()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: testPartnerToken, ApplicationID: testAppID})

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.Company(context.Background(), yclientsfake.DemoSalonMoscow)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	reqs := fake.Requests()
	require.Len(t, reqs, 20)
	for _, r := range reqs {
		require.Equal(t, http.StatusOK, r.Status, "the fake saw a %d", r.Status)
	}
	// 20 requests 305 ms apart (200/minute) cannot take less than 19 × 305 ms.
	require.GreaterOrEqual(t, time.Since(start), 19*yclients.BudgetSpacing)
	// 305 ms apart, network jitter cannot bring more than 5 into one second (20 unpaced
	// concurrent requests would arrive within milliseconds).
	require.LessOrEqual(t, fake.MaxRate(time.Second), 5.0)
}
