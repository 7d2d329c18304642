package activities_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// ForgetDevice, the fallback when no worker owns the salon's shard, deletes the salon's device
// mapping (so no later owner connects it) without touching another salon's.
func TestForgetDeviceDeletesTheMappingOnly(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, partnerToken)
	for i, id := range []int64{salonID, salonID + 1} {
		_, err := f.store.UpsertWhatsAppDevice(ctx, sqlc.UpsertWhatsAppDeviceParams{SalonID: id,
			DeviceJid: "7999000112" + string(rune('2'+i)) + ":12@s.whatsapp.net", Phone: "79990001122", State: "linked"})
		require.NoError(t, err)
	}
	_, err := f.env.ExecuteActivity(activities.ActForgetDevice, activities.SalonRef{SalonID: salonID})
	require.NoError(t, err)
	_, err = f.store.GetWhatsAppDevice(ctx, salonID)
	require.True(t, db.IsNotFound(err), "the salon's mapping is gone: got %v", err)
	_, err = f.store.GetWhatsAppDevice(ctx, salonID+1)
	require.NoError(t, err, "another salon's mapping stays")
	_, err = f.env.ExecuteActivity(activities.ActForgetDevice, activities.SalonRef{SalonID: salonID})
	require.NoError(t, err, "forgetting twice is no error")
}
