package inbox_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/inbox"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Salons of the tests: installed (with a webhook secret), uninstalled (its secrets deleted as
// the uninstall does), and one with an API key but no webhook secret yet.
const (
	installed   = int64(101)
	other       = int64(102)
	uninstalled = int64(103)
	keyOnly     = int64(104)
)

// secretOf is a salon's webhook URL secret in the tests.
func secretOf(salon int64) string { return fmt.Sprintf("secret-of-%d-0123456789abcdef", salon) }

// newInbox is a test database with the salons' secrets.
func newInbox(t *testing.T) (*db.Store, string) {
	t.Helper()
	ctx := context.Background()
	store, dsn := dbtest.New(t)
	for _, salon := range []int64{installed, other, uninstalled} {
		require.NoError(t, store.UpsertWebhookSecret(ctx, sqlc.UpsertWebhookSecretParams{
			SalonID: salon, WebhookSecretHash: inbox.SecretHash(secretOf(salon))}))
	}
	require.NoError(t, store.DeleteSalonSecrets(ctx, uninstalled))
	require.NoError(t, store.SetAPIKey(ctx, sqlc.SetAPIKeyParams{SalonID: keyOnly, APIKeyEnc: []byte("sealed")}))
	return store, dsn
}

// delivery is salon's n-th test delivery with the given URL secret.
func delivery(salon int64, secret string, n int) inbox.Entry {
	return inbox.Entry{SalonID: salon, SecretHash: inbox.SecretHash(secret), Headers: []byte(`{"Content-Type":"application/json"}`),
		Body:     []byte(fmt.Sprintf(`{"resource":"record","resource_id":%d,"status":"update","n":%d}`, n, n)),
		Resource: "record", ResourceID: int64(n), EventStatus: "update"}
}

// stored is the inbox row id as the test reads it back: salon, body, routing fields.
type stored struct {
	salon      int64
	body       string
	resource   string
	resourceID int64
	status     string
	headers    string
}

func readRow(t *testing.T, store *db.Store, id int64) stored {
	t.Helper()
	var r stored
	require.NoError(t, store.Pool.QueryRow(context.Background(),
		`SELECT salon_id, convert_from(body, 'UTF8'), resource, resource_id, event_status, headers::text FROM webhook_inbox WHERE id = $1`, id).
		Scan(&r.salon, &r.body, &r.resource, &r.resourceID, &r.status, &r.headers))
	return r
}

func countRows(t *testing.T, store *db.Store) int {
	t.Helper()
	var n int
	require.NoError(t, store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_inbox`).Scan(&n))
	return n
}

func TestWriteChecksEachSecretInOneStatement(t *testing.T) {
	store, _ := newInbox(t)
	ctx := context.Background()
	entries := []inbox.Entry{
		delivery(installed, secretOf(installed), 1),
		delivery(installed, "wrong", 2),
		delivery(other, secretOf(other), 3),
		delivery(installed, secretOf(other), 4), // another salon's secret
		delivery(uninstalled, secretOf(uninstalled), 5),
		delivery(keyOnly, "", 6),
		delivery(404, secretOf(404), 7), // never installed
		delivery(installed, secretOf(installed), 8),
	}
	entries[7].Headers = nil // stored as an empty object

	res, err := inbox.Write(ctx, store.Queries, entries)
	require.NoError(t, err)
	require.Len(t, res, len(entries))
	for i, want := range []bool{true, false, true, false, false, false, false, true} {
		if !want {
			require.ErrorIs(t, res[i].Err, inbox.ErrWrongSecret, "entry %d", i)
			require.Zero(t, res[i].ID, "entry %d", i)
			continue
		}
		require.NoError(t, res[i].Err, "entry %d", i)
		got := readRow(t, store, res[i].ID)
		require.Equal(t, stored{salon: entries[i].SalonID, body: string(entries[i].Body), resource: "record",
			resourceID: entries[i].ResourceID, status: "update", headers: got.headers}, got, "entry %d", i)
	}
	require.JSONEq(t, `{"Content-Type":"application/json"}`, readRow(t, store, res[0].ID).headers)
	require.JSONEq(t, `{}`, readRow(t, store, res[7].ID).headers)
	require.Less(t, res[0].ID, res[2].ID, "IDs follow the input order")
	require.Less(t, res[2].ID, res[7].ID, "IDs follow the input order")
	require.Equal(t, 3, countRows(t, store), "nothing stored for a wrong secret")

	id, err := inbox.Receive(ctx, store, delivery(other, secretOf(other), 9))
	require.NoError(t, err)
	require.Equal(t, other, readRow(t, store, id).salon)
	_, err = inbox.Receive(ctx, store, delivery(other, secretOf(installed), 10))
	require.ErrorIs(t, err, inbox.ErrWrongSecret)
}

// A big batch keeps every entry's answer to itself, whatever order PostgreSQL joins in.
func TestWriteBigBatchAnswersInOrder(t *testing.T) {
	store, _ := newInbox(t)
	entries := make([]inbox.Entry, 500)
	for i := range entries {
		switch {
		case i%7 == 3:
			entries[i] = delivery(installed, "wrong", i)
		case i%2 == 0:
			entries[i] = delivery(installed, secretOf(installed), i)
		default:
			entries[i] = delivery(other, secretOf(other), i)
		}
	}
	res, err := inbox.Write(context.Background(), store.Queries, entries)
	require.NoError(t, err)
	var last int64
	for i, r := range res {
		if i%7 == 3 {
			require.ErrorIs(t, r.Err, inbox.ErrWrongSecret, "entry %d", i)
			continue
		}
		require.NoError(t, r.Err, "entry %d", i)
		got := readRow(t, store, r.ID)
		require.Equal(t, string(entries[i].Body), got.body, "entry %d got another entry's row", i)
		require.Equal(t, entries[i].SalonID, got.salon, "entry %d", i)
		require.Greater(t, r.ID, last, "entry %d: IDs follow the input order", i)
		last = r.ID
	}
}
