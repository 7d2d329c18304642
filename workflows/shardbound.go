package workflows

import (
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// ownerlessShardChange guards what the installation does when an activity on the salon's
// WhatsApp shard queue runs into its schedule-to-close bound (shardOptions): no worker owned
// the shard meanwhile. It goes on with the local fallback and tells ops the salon and the
// shard. Activities scheduled before the bound existed have none, so no earlier run can have
// reached this path.
const ownerlessShardChange = "2026-12-02-ownerless-shard-fallback"

// shardTimedOut reports whether a shard-queue activity gave up at its schedule-to-close bound:
// its shard had no owner (or none that could do it) for that long.
func shardTimedOut(ctx workflow.Context, err error) bool {
	var te *temporal.TimeoutError
	if !errors.As(err, &te) || te.TimeoutType() != enumspb.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE {
		return false
	}
	return workflow.GetVersion(ctx, ownerlessShardChange, workflow.DefaultVersion, 1) >= 1
}

// shardUnavailable tells ops that what could not be done for the salon because its shard had
// no owner; fallback says what the installation did instead.
func (w *installation) shardUnavailable(ctx workflow.Context, what, fallback string) {
	w.notify(ctx, "error", "shard_unavailable", fmt.Sprintf(
		"Не удалось %s салона %d за %s: %s без владельца. %s", what, w.st.SalonID,
		shardOptions.ScheduleToCloseTimeout, shardText(ctx, w.st.SalonID), fallback))
}

// unlink unlinks the phone on the salon's shard; when the shard has no owner within the bound,
// the device is forgotten locally instead (its mapping deleted, so no later owner connects
// it; the owner is asked to remove it on the phone).
func (w *installation) unlink(ctx workflow.Context) {
	dctx := workflow.WithActivityOptions(newDisconnected(ctx), shardOptions)
	ref := activities.SalonRef{SalonID: w.st.SalonID}
	err := workflow.ExecuteActivity(dctx, activities.ActUnlink, ref).Get(dctx, nil)
	switch {
	case err == nil:
	case shardTimedOut(ctx, err):
		lctx := workflow.WithActivityOptions(newDisconnected(ctx), localOptions)
		ferr := workflow.ExecuteActivity(lctx, activities.ActForgetDevice, ref).Get(lctx, nil)
		fallback := "Устройство забыто локально, владельцу отправлена просьба удалить его на телефоне."
		if ferr != nil {
			fallback = "Забыть устройство локально тоже не удалось: " + rootMessage(ferr)
		}
		w.shardUnavailable(ctx, "отвязать WhatsApp", fallback)
	default:
		w.notify(ctx, "warn", "unlink_failed", "Не удалось отвязать WhatsApp: "+rootMessage(err))
	}
}

// shardCountKey is the workflow context key of the WhatsApp shard count (WhatsAppRouting).
type shardCountKey struct{}

// shardText names the salon's shard for operators, e.g. "шард 1 из 4 (очередь aiadmin-wa-1)".
func shardText(ctx workflow.Context, salonID int64) string {
	n, ok := ctx.Value(shardCountKey{}).(int)
	if !ok {
		return "шард WhatsApp салона"
	}
	k := WhatsAppShard(salonID, n)
	return fmt.Sprintf("шард %d из %d (очередь %s)", k, n, WhatsAppShardQueue(workflow.GetInfo(ctx).TaskQueueName, k))
}

// reconnectFailed tells ops that the unfreeze could not reconnect the phone.
func (w *installation) reconnectFailed(ctx workflow.Context, err error) {
	if shardTimedOut(ctx, err) {
		w.shardUnavailable(ctx, "переподключить WhatsApp после разморозки",
			"Установка снова активна; салон подключится, когда у шарда появится владелец.")
		return
	}
	w.notify(ctx, "error", "reconnect_failed", "WhatsApp не переподключился после разморозки: "+rootMessage(err))
}
