package activities_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/db/inbox"
)

// acceptedCallbacks are the activation callbacks YClients accepted (the integration went
// active with them).
func acceptedCallbacks(f *fixture) []yclientsfake.Callback {
	var out []yclientsfake.Callback
	for _, cb := range f.fake.Callbacks() {
		if cb.StatusCode == http.StatusCreated || cb.StatusCode == http.StatusMovedPermanently {
			out = append(out, cb)
		}
	}
	return out
}

// YClients is slow: the first activation callback is accepted after our request timed out, and
// the retry's status read comes before that, so the retry calls back too (answered «already
// installed»). Exactly one callback is accepted, and a webhook to the URL YClients holds is
// accepted by our secret check: every retry of one installation run sends the same secret.
func TestActivationRetryKeepsTheWebhookSecretYClientsHas(t *testing.T) {
	ctx := context.Background()
	f := newFixtureHTTP(t, partnerToken, &http.Client{Timeout: 300 * time.Millisecond})
	f.register(t)
	run := map[string]any{"SalonID": salonID, "InstallID": "install-run-1"}
	callback := "/marketplace/partner/callback"
	require.NoError(t, f.fake.AddFault(yclientsfake.Fault{PathPrefix: callback, DelayMS: 1000, Linger: true, Count: 1}))
	_, err := f.env.ExecuteActivity(activities.ActActivate, run)
	require.Error(t, err, "attempt 1: our request timed out")
	require.Equal(t, yclientsfake.StatusPending, f.fake.Status(salonID), "YClients has not finished it yet")

	require.NoError(t, f.fake.AddFault(yclientsfake.Fault{PathPrefix: callback, DelayMS: 1000, Linger: true, Count: 1}))
	_, err = f.env.ExecuteActivity(activities.ActActivate, run)
	require.Error(t, err, "attempt 2: read pending, called back, timed out")
	require.Eventually(t, func() bool { return len(f.fake.Callbacks()) == 2 }, 5*time.Second, 20*time.Millisecond)

	v, err := f.env.ExecuteActivity(activities.ActActivate, run)
	require.NoError(t, err, "attempt 3")
	var out activities.ActivateOutput
	require.NoError(t, v.Get(&out))
	require.True(t, out.AlreadyActive)

	accepted := acceptedCallbacks(f)
	require.Len(t, accepted, 1, "exactly one callback accepted")
	require.Len(t, accepted[0].WebhookURLs, 1)
	url := accepted[0].WebhookURLs[0]
	prefix := "https://aiadmin.example/webhook/yclients/100001/"
	require.True(t, strings.HasPrefix(url, prefix), "got %s", url)
	_, err = inbox.Receive(ctx, f.store, inbox.Entry{SalonID: salonID, SecretHash: inbox.SecretHash(strings.TrimPrefix(url, prefix)),
		Body: []byte(`{}`), Resource: "record", ResourceID: 1, EventStatus: "create"})
	require.NoError(t, err, "a webhook to the URL YClients holds must pass our secret check: got %v", err)
}

// YClients reports the integration active, but no webhook secret is stored for the salon (its
// secrets were deleted): the activation says so, for the workflow to alert operators. With no
// secret stored the activation calls back without reading the status first; YClients refuses
// the callback, and the webhook URL it holds is not one this run made.
func TestActivateAlreadyActiveWithoutASecretSaysSo(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	f.register(t)
	f.fake.SetStatus(salonID, "active")
	out, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-2"})
	require.NoError(t, err)
	require.True(t, out.AlreadyActive)
	require.True(t, out.NoWebhookSecret, "no secret stored: got %+v", out)
	require.Empty(t, acceptedCallbacks(f), "YClients accepted no callback for an active integration")
}

// activationRequests are the YClients requests made since the first n, as "METHOD path".
func activationRequests(f *fixture, n int) []string {
	var out []string
	for _, r := range f.fake.Requests()[n:] {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// A salon with no secret stored (its first activation, or one after an uninstall deleted them)
// cannot be active in YClients with a webhook URL of ours: the activation calls back at once,
// without reading the integration's status first. In a wave of installations that read is a
// fifth of each salon's YClients calls.
func TestActivateWithNoSecretStoredCallsBackWithoutReadingTheStatus(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	f.register(t)
	before := len(f.fake.Requests())
	out, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "install-run-1"})
	require.NoError(t, err)
	require.False(t, out.AlreadyActive)
	require.Equal(t, []string{"POST /marketplace/partner/callback/redirect"}, activationRequests(f, before))
	require.Len(t, acceptedCallbacks(f), 1)
}

// The salon's secrets of an earlier installation run are stored and YClients holds them (it
// reports the integration active): a new run's activation reads the status first and keeps
// them, instead of replacing them with secrets YClients would refuse.
func TestActivateKeepsTheSecretsAnActiveIntegrationHolds(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	f.register(t)
	_, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "run-a"})
	require.NoError(t, err)
	held, err := f.store.GetSalonSecrets(ctx, salonID)
	require.NoError(t, err)
	before := len(f.fake.Requests())
	out, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "run-b"})
	require.NoError(t, err)
	require.Equal(t, activities.ActivateOutput{AlreadyActive: true}, out)
	require.Len(t, activationRequests(f, before), 1, "the status read alone: got %v", activationRequests(f, before))
	now, err := f.store.GetSalonSecrets(ctx, salonID)
	require.NoError(t, err)
	require.Equal(t, held.WebhookSecretHash, now.WebhookSecretHash, "the secrets YClients holds are kept")
}

// A new installation run (a reinstall) makes new secrets; retries of one run reuse them.
func TestActivationSecretsPerInstallationRun(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	f.register(t)
	secretOf := func() []byte {
		row, err := f.store.GetSalonSecrets(ctx, salonID)
		require.NoError(t, err)
		return row.WebhookSecretHash
	}
	require.NoError(t, f.fake.AddFault(yclientsfake.Fault{PathPrefix: "/marketplace/partner/callback", Status: 503, Count: 2}))
	_, err := f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "run-a"})
	require.Error(t, err)
	first := secretOf()
	_, err = f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "run-a"})
	require.Error(t, err)
	require.Equal(t, first, secretOf(), "a retry of the run keeps its secret")
	_, err = f.set.Install.Activate(ctx, activities.ActivateInput{SalonID: salonID, InstallID: "run-b"})
	require.NoError(t, err)
	require.NotEqual(t, first, secretOf(), "another run makes its own")
}
