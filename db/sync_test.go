package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

func TestServicesSync(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	t1 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)

	upsert := func(salon, id int64, title string, at time.Time) {
		t.Helper()
		require.NoError(t, store.UpsertService(ctx, sqlc.UpsertServiceParams{
			SalonID: salon, YClientsID: id, Title: title, CategoryID: 5,
			PriceMin: 1500, PriceMax: 2499.99, DurationSeconds: 3600, SyncedAt: at,
		}))
	}
	for _, id := range []int64{1, 2, 3} {
		upsert(1, id, "svc", t1)
		upsert(1, id, "svc", t1) // idempotent
	}
	upsert(2, 1, "other salon", t1)

	n, err := store.CountActiveServices(ctx, 1)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)

	// Second sync sees only 1 and 2.
	upsert(1, 1, "renamed", t2)
	upsert(1, 2, "svc", t2)
	gone, err := store.DeactivateServicesNotSynced(ctx, sqlc.DeactivateServicesNotSyncedParams{SalonID: 1, SyncedAt: t2})
	require.NoError(t, err)
	require.EqualValues(t, 1, gone, "got %d deactivated, want only the stale service", gone)
	gone, err = store.DeactivateServicesNotSynced(ctx, sqlc.DeactivateServicesNotSyncedParams{SalonID: 1, SyncedAt: t2})
	require.NoError(t, err)
	require.EqualValues(t, 0, gone, "second deactivation must find nothing")

	list, err := store.ListServices(ctx, 1)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "renamed", list[0].Title)
	require.Equal(t, 1500.0, list[0].PriceMin)
	require.Equal(t, 2499.99, list[0].PriceMax)
	require.EqualValues(t, 3600, list[0].DurationSeconds)

	n, err = store.CountActiveServices(ctx, 2)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "another salon's services must be untouched")

	// A service that comes back is active again.
	upsert(1, 3, "back", t2.Add(time.Hour))
	n, err = store.CountActiveServices(ctx, 1)
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
}

func TestStaffSync(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	t1 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Minute)

	for _, id := range []int64{10, 11} {
		for range 2 {
			require.NoError(t, store.UpsertStaff(ctx, sqlc.UpsertStaffParams{
				SalonID: 1, YClientsID: id, Name: "Anna", Specialization: "hair", Position: "master", SyncedAt: t1,
			}))
		}
	}
	require.NoError(t, store.UpsertStaff(ctx, sqlc.UpsertStaffParams{SalonID: 1, YClientsID: 10, Name: "Anna", Fired: true, SyncedAt: t2}))
	gone, err := store.DeactivateStaffNotSynced(ctx, sqlc.DeactivateStaffNotSyncedParams{SalonID: 1, SyncedAt: t2})
	require.NoError(t, err)
	require.EqualValues(t, 1, gone)
	n, err := store.CountActiveStaff(ctx, 1)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	staff, err := store.ListStaff(ctx, 1)
	require.NoError(t, err)
	require.Len(t, staff, 1)
	require.Equal(t, int64(10), staff[0].YClientsID)
	require.True(t, staff[0].Fired)
}

func TestSchedulesSync(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	t1 := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Minute)
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }

	for _, d := range []int{9, 10, 11, 12} {
		require.NoError(t, store.UpsertSchedule(ctx, sqlc.UpsertScheduleParams{
			SalonID: 1, StaffYClientsID: 10, Date: day(d), IsWorking: true,
			Slots: []byte(`[{"from":"10:00","to":"18:00"}]`), SyncedAt: t1,
		}))
	}
	// Nil slots become an empty array rather than violating NOT NULL.
	require.NoError(t, store.UpsertSchedule(ctx, sqlc.UpsertScheduleParams{
		SalonID: 1, StaffYClientsID: 10, Date: day(10), IsWorking: false, SyncedAt: t2,
	}))

	// The second sync covers the 10th onwards and saw only the 10th: the 11th
	// and 12th go, the 9th (before from_date) stays.
	gone, err := store.DeactivateSchedulesNotSynced(ctx, sqlc.DeactivateSchedulesNotSyncedParams{
		SalonID: 1, SyncedAt: t2, FromDate: day(10),
	})
	require.NoError(t, err)
	require.EqualValues(t, 2, gone)
	n, err := store.CountActiveSchedules(ctx, 1)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)

	var slots string
	require.NoError(t, store.Pool.QueryRow(ctx,
		"SELECT slots::text FROM schedules WHERE salon_id = 1 AND date = $1", day(10)).Scan(&slots))
	require.Equal(t, "[]", slots)
}

func TestSyncRuns(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)

	_, err := store.LastSyncRun(ctx, 1)
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound)

	first, err := store.StartSyncRun(ctx, 1)
	require.NoError(t, err)
	second, err := store.StartSyncRun(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, store.FinishSyncRun(ctx, sqlc.FinishSyncRunParams{
		ID: second, ServicesCount: 3, StaffCount: 2, SchedulesCount: 14, DeactivatedCount: 1, Error: "",
	}))
	require.NoError(t, store.FinishSyncRun(ctx, sqlc.FinishSyncRunParams{ID: first, Error: "yclients: 503"}))

	last, err := store.LastSyncRun(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, second, last.ID)
	require.NotNil(t, last.FinishedAt)
	require.EqualValues(t, 14, last.SchedulesCount)
	require.Equal(t, "", last.Error)
}
