package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

func TestNotFound(t *testing.T) {
	require.NoError(t, db.NotFound(nil))
	require.ErrorIs(t, db.NotFound(pgx.ErrNoRows), db.ErrNotFound)
	require.ErrorIs(t, db.NotFound(fmt.Errorf("wrapped: %w", pgx.ErrNoRows)), db.ErrNotFound)
	other := errors.New("boom")
	require.Equal(t, other, db.NotFound(other))

	store, _ := dbtest.New(t)
	_, err := store.GetCompany(context.Background(), 404)
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound)
	require.True(t, db.IsNotFound(err))
	require.False(t, db.IsNotFound(other))
	require.False(t, db.IsNotFound(nil))
}

func TestInserted(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	p := sqlc.InsertOptOutParams{SalonID: 1, Phone: "79990001122", Text: "стоп"}
	_, err := store.InsertOptOut(ctx, p)
	ok, err := db.Inserted(err)
	require.NoError(t, err)
	require.True(t, ok, "first insert")
	_, err = store.InsertOptOut(ctx, p)
	ok, err = db.Inserted(err)
	require.NoError(t, err)
	require.False(t, ok, "ON CONFLICT DO NOTHING matched")
	boom := errors.New("boom")
	ok, err = db.Inserted(boom)
	require.ErrorIs(t, err, boom)
	require.False(t, ok)
}

func TestInTx(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)

	t.Run("commits on nil", func(t *testing.T) {
		err := store.InTx(ctx, func(q *sqlc.Queries) error {
			_, err := q.UpsertCompany(ctx, sqlc.UpsertCompanyParams{SalonID: 1, Title: "A", Timezone: "Europe/Moscow"})
			return err
		})
		require.NoError(t, err)
		_, err = store.GetCompany(ctx, 1)
		require.NoError(t, err)
	})

	t.Run("rolls back on error", func(t *testing.T) {
		boom := errors.New("boom")
		err := store.InTx(ctx, func(q *sqlc.Queries) error {
			if _, err := q.UpsertCompany(ctx, sqlc.UpsertCompanyParams{SalonID: 2, Title: "B", Timezone: "Europe/Moscow"}); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = store.GetCompany(ctx, 2)
		require.ErrorIs(t, db.NotFound(err), db.ErrNotFound, "got a committed row, want rollback")
	})
}
