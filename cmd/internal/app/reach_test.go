package app

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
)

// TestHealthReachabilityCached: a dashboard polling the health endpoint does not make one
// YClients call per poll (it made 121 in 2 minutes): the outcome of the last call stands for a
// minute, and a YClients that does not answer is reported as such.
func TestHealthReachabilityCached(t *testing.T) {
	fake := yclientsfake.New(yclientsfake.Options{PartnerToken: "p", ApplicationID: 1})
	fake.SeedDemo()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	yc := yclients.New(yclients.Config{BaseURL: srv.URL, PartnerToken: "p", ApplicationID: 1, Limiter: rate.NewLimiter(rate.Inf, 1)})
	probe := &reachProbe{yc: yc}
	ctx := context.Background()
	for range 60 {
		_, err := probe.reachable(ctx, yclientsfake.DemoSalonMoscow)
		require.NoError(t, err)
	}
	require.Len(t, fake.Requests(), 1, "60 polls, one YClients call")

	// YClients stops answering: the next call any activity makes shows it.
	require.NoError(t, fake.AddFault(yclientsfake.Fault{PathPrefix: "/api/v1/", Status: 503}))
	_, err := yc.Company(ctx, yclientsfake.DemoSalonMoscow)
	require.Error(t, err)
	_, err = probe.reachable(ctx, yclientsfake.DemoSalonMoscow)
	require.Error(t, err)
	require.Contains(t, err.Error(), "503")
	require.Len(t, fake.Requests(), 2)
}
