// Package inbox stores YClients entity webhooks in webhook_inbox: one statement checks each
// delivery's URL secret against its salon's hash and stores the deliveries whose secret is
// right, and a group-commit Batcher puts the deliveries of concurrent requests into one such
// statement, one transaction and one WAL flush, answering each caller only after the COMMIT.
package inbox

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// ErrWrongSecret is a delivery's answer when its URL secret is not its salon's (or the salon
// has none: unknown, uninstalled): nothing was stored.
var ErrWrongSecret = errors.New("inbox: wrong webhook secret")

// Entry is one delivery to store.
type Entry struct {
	SalonID int64
	// SecretHash is SecretHash(the URL secret): the secret itself never goes to the database.
	SecretHash  []byte
	Headers     []byte // a JSON object
	Body        []byte // the raw body
	Resource    string // the envelope's routing fields (yclients.ParseWebhook)
	ResourceID  int64
	EventStatus string
}

// SecretHash is the SHA-256 of a webhook URL secret, as salon_secrets keeps it.
func SecretHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Result is one entry's answer: the new row's ID, or ErrWrongSecret, or the error that kept
// the statement from committing.
type Result struct {
	ID  int64
	Err error
}

// Write stores entries in one statement (one transaction) and returns each entry's result,
// in order. It returns an error only when the statement failed; then nothing was stored.
// The comparison of the secrets happens in PostgreSQL, on SHA-256 hashes: a timing
// difference there tells at most how much of a hash a guess shares, nothing about the secret.
func Write(ctx context.Context, q *sqlc.Queries, entries []Entry) ([]Result, error) {
	p := sqlc.ReceiveInboxParams{
		SalonIds: make([]int64, len(entries)), SecretHashes: make([][]byte, len(entries)),
		Headers: make([][]byte, len(entries)), Bodies: make([][]byte, len(entries)),
		Resources: make([]string, len(entries)), ResourceIds: make([]int64, len(entries)),
		EventStatuses: make([]string, len(entries)),
	}
	for i, e := range entries {
		p.SalonIds[i], p.SecretHashes[i], p.Bodies[i] = e.SalonID, e.SecretHash, e.Body
		p.Resources[i], p.ResourceIds[i], p.EventStatuses[i] = e.Resource, e.ResourceID, e.EventStatus
		p.Headers[i] = e.Headers
		if len(e.Headers) == 0 {
			p.Headers[i] = []byte("{}")
		}
		if p.Bodies[i] == nil {
			p.Bodies[i] = []byte{} // NOT NULL
		}
	}
	rows, err := q.ReceiveInbox(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("inbox: store %d webhooks: %w", len(entries), err)
	}
	out := make([]Result, len(entries))
	for i := range out {
		out[i].Err = ErrWrongSecret
	}
	for _, r := range rows {
		if i := int(r.Position) - 1; i >= 0 && i < len(out) {
			out[i] = Result{ID: r.ID}
		}
	}
	return out, nil
}

// Receive checks one delivery's secret and stores it in one statement: the unbatched form.
func Receive(ctx context.Context, store *db.Store, e Entry) (int64, error) {
	res, err := Write(ctx, store.Queries, []Entry{e})
	if err != nil {
		return 0, err
	}
	return res[0].ID, res[0].Err
}

// entryRefused reports whether err is PostgreSQL refusing the data of a statement (a data
// exception or an integrity violation), which one entry of a batch can cause by itself;
// a batch failing so is written again entry by entry, so that one bad entry fails alone.
func entryRefused(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || len(pg.Code) < 2 {
		return false
	}
	class := pg.Code[:2]
	return class == "22" || class == "23"
}
