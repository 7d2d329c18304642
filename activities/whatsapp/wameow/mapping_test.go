package wameow

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

func TestMappingRoundTrip(t *testing.T) {
	ctx := t.Context()
	st, _ := dbtest.New(t)

	_, err := st.GetWhatsAppDevice(ctx, salonA)
	require.ErrorIs(t, db.NotFound(err), db.ErrNotFound)

	first, err := st.UpsertWhatsAppDevice(ctx, sqlc.UpsertWhatsAppDeviceParams{
		SalonID: salonA, DeviceJid: "79990001122:7@s.whatsapp.net", Phone: "79990001122", PushName: "Лаванда", State: "connecting",
	})
	require.NoError(t, err)
	require.Equal(t, "79990001122:7@s.whatsapp.net", first.DeviceJid)
	require.Nil(t, first.StateUntil)

	until := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	n, err := st.SetWhatsAppDeviceState(ctx, sqlc.SetWhatsAppDeviceStateParams{
		SalonID: salonA, DeviceJid: first.DeviceJid, PushName: "Лаванда", State: "temp_banned", StateReason: "101", StateUntil: &until,
	})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	got, err := st.GetWhatsAppDevice(ctx, salonA)
	require.NoError(t, err)
	require.Equal(t, "temp_banned", got.State)
	require.NotNil(t, got.StateUntil)
	require.True(t, until.Equal(*got.StateUntil), "got until %v want %v", got.StateUntil, until)

	// A state write for another device (a late event of a replaced one) changes nothing.
	n, err = st.SetWhatsAppDeviceState(ctx, sqlc.SetWhatsAppDeviceStateParams{
		SalonID: salonA, DeviceJid: "79990001122:6@s.whatsapp.net", State: "linked",
	})
	require.NoError(t, err)
	require.Zero(t, n)

	// Re-pairing replaces the device and resets the state.
	second, err := st.UpsertWhatsAppDevice(ctx, sqlc.UpsertWhatsAppDeviceParams{
		SalonID: salonA, DeviceJid: "79990001122:8@s.whatsapp.net", Phone: "79990001122", State: "connecting",
	})
	require.NoError(t, err)
	require.Equal(t, "connecting", second.State)
	require.Nil(t, second.StateUntil)
	require.Empty(t, second.StateReason)

	// One device belongs to one salon.
	_, err = st.UpsertWhatsAppDevice(ctx, sqlc.UpsertWhatsAppDeviceParams{SalonID: salonB, DeviceJid: second.DeviceJid, State: "connecting"})
	require.Error(t, err, "the same device JID for two salons must be refused")
	_, err = st.UpsertWhatsAppDevice(ctx, sqlc.UpsertWhatsAppDeviceParams{SalonID: salonB, DeviceJid: "79161234567:2@s.whatsapp.net", State: "linked"})
	require.NoError(t, err)

	all, err := st.ListWhatsAppDevices(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, []int64{salonA, salonB}, []int64{all[0].SalonID, all[1].SalonID})

	// A logged-out old device does not take the new mapping with it.
	n, err = st.DeleteWhatsAppDeviceJID(ctx, sqlc.DeleteWhatsAppDeviceJIDParams{SalonID: salonA, DeviceJid: first.DeviceJid})
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = st.DeleteWhatsAppDeviceJID(ctx, sqlc.DeleteWhatsAppDeviceJIDParams{SalonID: salonA, DeviceJid: second.DeviceJid})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	n, err = st.DeleteWhatsAppDevice(ctx, salonB)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	all, err = st.ListWhatsAppDevices(ctx)
	require.NoError(t, err)
	require.Empty(t, all)
}
