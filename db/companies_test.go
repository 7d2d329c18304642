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

func ptr[T any](v T) *T { return &v }

func TestUpsertCompany(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)

	arg := sqlc.UpsertCompanyParams{
		SalonID: 100, Title: "Salon", Phone: "+79990000000", Email: "a@b.c",
		Address: "Moscow", Timezone: "Europe/Moscow",
	}
	first, err := store.UpsertCompany(ctx, arg)
	require.NoError(t, err)
	require.Equal(t, "pending_whatsapp", first.InstallStatus)
	require.Equal(t, "", first.InstallReason)
	require.Nil(t, first.ActivatedAt)

	again, err := store.UpsertCompany(ctx, arg)
	require.NoError(t, err)
	require.Equal(t, first.ID, again.ID, "got a new row, want the same one")
	require.True(t, first.CreatedAt.Equal(again.CreatedAt))

	arg.Title, arg.Timezone = "Salon 2", "Asia/Yekaterinburg"
	changed, err := store.UpsertCompany(ctx, arg)
	require.NoError(t, err)
	require.Equal(t, first.ID, changed.ID)
	require.Equal(t, "Salon 2", changed.Title)
	require.Equal(t, "Asia/Yekaterinburg", changed.Timezone)
	require.False(t, changed.UpdatedAt.Before(first.UpdatedAt))

	// Install status is not the profile's business.
	_, err = store.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{SalonID: 100, InstallStatus: "active"})
	require.NoError(t, err)
	after, err := store.UpsertCompany(ctx, arg)
	require.NoError(t, err)
	require.Equal(t, "active", after.InstallStatus)
}

func TestSetInstallStatus(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	_, err := store.UpsertCompany(ctx, sqlc.UpsertCompanyParams{SalonID: 7, Title: "S", Timezone: "Europe/Moscow"})
	require.NoError(t, err)

	set := func(status, reason string) sqlc.Company {
		t.Helper()
		c, err := store.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{
			SalonID: 7, InstallStatus: status, InstallReason: reason,
		})
		require.NoError(t, err)
		require.Equal(t, status, c.InstallStatus)
		require.Equal(t, reason, c.InstallReason)
		return c
	}

	active := set("active", "")
	require.NotNil(t, active.ActivatedAt, "activated_at on first activation")
	require.Nil(t, active.FrozenAt)
	require.Nil(t, active.UninstalledAt)

	again := set("active", "")
	require.True(t, active.ActivatedAt.Equal(*again.ActivatedAt), "got activated_at %v, want it kept at %v", again.ActivatedAt, active.ActivatedAt)

	frozen := set("frozen", "payment overdue")
	require.NotNil(t, frozen.FrozenAt)
	require.True(t, active.ActivatedAt.Equal(*frozen.ActivatedAt))

	stillFrozen := set("frozen", "still overdue")
	require.True(t, frozen.FrozenAt.Equal(*stillFrozen.FrozenAt), "repeated freeze must keep frozen_at")

	thawed := set("active", "")
	require.Nil(t, thawed.FrozenAt, "frozen_at must be cleared when leaving frozen")
	require.True(t, active.ActivatedAt.Equal(*thawed.ActivatedAt))

	gone := set("uninstalled", "removed by owner")
	require.NotNil(t, gone.UninstalledAt)
	require.Nil(t, gone.FrozenAt)
	goneAgain := set("uninstalled", "removed by owner")
	require.True(t, gone.UninstalledAt.Equal(*goneAgain.UninstalledAt))

	_, err = store.SetInstallStatus(ctx, sqlc.SetInstallStatusParams{SalonID: 8, InstallStatus: "active"})
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound)
}

func TestSetCompanyWhatsApp(t *testing.T) {
	ctx := context.Background()
	store, _ := dbtest.New(t)
	_, err := store.UpsertCompany(ctx, sqlc.UpsertCompanyParams{SalonID: 9, Timezone: "Europe/Moscow"})
	require.NoError(t, err)

	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	c, err := store.SetCompanyWhatsApp(ctx, sqlc.SetCompanyWhatsAppParams{
		SalonID: 9, Phone: ptr("79991234567"), Name: ptr("Salon"), ConnectedAt: &at,
	})
	require.NoError(t, err)
	require.Equal(t, "79991234567", *c.WhatsappPhone)
	require.Equal(t, "Salon", *c.WhatsappName)
	require.True(t, at.Equal(*c.WhatsappConnectedAt), "got %v want %v", c.WhatsappConnectedAt, at)

	cleared, err := store.SetCompanyWhatsApp(ctx, sqlc.SetCompanyWhatsAppParams{SalonID: 9})
	require.NoError(t, err)
	require.Nil(t, cleared.WhatsappPhone)
	require.Nil(t, cleared.WhatsappName)
	require.Nil(t, cleared.WhatsappConnectedAt)
}
