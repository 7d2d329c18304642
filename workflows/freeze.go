package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// freezeInterruptsChange guards a freeze taking effect at once in every status: it cancels a
// running sync, activation or pairing attempt, and is honoured before the welcome. Runs from
// before it (DefaultVersion) honoured a freeze only in the active loop, after those finished.
const freezeInterruptsChange = "2026-12-02-freeze-interrupts"

// errFrozen tells a status that a freeze arrived while it waited.
var errFrozen = errors.New("interrupted by freeze")

// freezeInterrupts reports whether this run honours a freeze at once in every status.
func (w *installation) freezeInterrupts(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, freezeInterruptsChange, workflow.DefaultVersion, 1) >= 1
}

// frozenNow reports a freeze to honour now, in runs that honour it at once.
func (w *installation) frozenNow(ctx workflow.Context) bool {
	return w.freeze && w.freezeInterrupts(ctx)
}

// execFreezable is exec that a freeze interrupts too (errFrozen), in runs that honour it: the
// activity is cancelled (it heartbeats, so it learns within its heartbeat timeout).
func (w *installation) execFreezable(ctx workflow.Context, opts workflow.ActivityOptions, deadline time.Time,
	name string, in, out any) error {
	if !w.freezeInterrupts(ctx) {
		return w.exec(ctx, opts, deadline, name, in, out)
	}
	if w.freeze {
		return errFrozen
	}
	w.stopOnFreeze = true
	defer func() { w.stopOnFreeze = false }()
	err := w.exec(ctx, opts, deadline, name, in, out)
	if errors.Is(err, errInterrupted) && !w.uninstall {
		return errFrozen
	}
	return err
}

// resumeStatus is the status an unfrozen installation returns to, read from how far it got:
// a freeze can come before the activation (the owner still pairing), after it, or while the
// owner re-links the phone. An activated installation returns to active, whose first sync
// runs there (activeBeforeSyncChange); runs from before it went back to configuring when the
// first sync had not ended.
func (w *installation) resumeStatus(ctx workflow.Context) Status {
	switch {
	case w.st.WhatsApp.Phone == "" && w.st.ActivatedAt.IsZero():
		return StatusPendingWhatsApp
	case w.st.WhatsApp.Phone == "":
		return StatusNeedsRelink
	case w.st.ActivatedAt.IsZero():
		return StatusWhatsAppConnected
	case w.st.LastSync.At.IsZero() && !w.syncFollows(ctx):
		return StatusConfiguring
	}
	return StatusActive
}

// leaveFrozen leaves frozen for where the installation stood before the freeze.
func (w *installation) leaveFrozen(ctx workflow.Context) (Status, error) {
	if !w.freezeInterrupts(ctx) {
		return w.unfreezeToActive(ctx)
	}
	switch to := w.resumeStatus(ctx); to {
	case StatusActive:
		return w.unfreezeToActive(ctx)
	case StatusPendingWhatsApp:
		w.st.FrozenAt = time.Time{}
		return w.enter(ctx, StatusPendingWhatsApp, "")
	case StatusNeedsRelink:
		w.unlinkedWhileFrozen = false
		w.st.FrozenAt = time.Time{}
		return w.toNeedsRelink(ctx) // a fresh re-link link: the one sent may have expired meanwhile
	default:
		return w.unfreezeBeforeActive(ctx, to)
	}
}

// unfreezeBeforeActive reconnects a phone paired before the activation or the first sync and
// goes back to that step; a phone that unlinked the device meanwhile pairs again.
func (w *installation) unfreezeBeforeActive(ctx workflow.Context, to Status) (Status, error) {
	err := w.exec(ctx, shardOptions, time.Time{}, activities.ActReconnect, activities.SalonRef{SalonID: w.st.SalonID}, nil)
	if errors.Is(err, errInterrupted) {
		return w.toUninstalled(ctx)
	}
	w.st.FrozenAt = time.Time{}
	if w.unlinkedWhileFrozen || errType(err) == activities.ErrTypeNotLinked {
		w.unlinkedWhileFrozen = false
		w.st.WhatsApp = WhatsAppInfo{}
		w.st.Pairing = PairingState{Attempt: w.st.Pairing.Attempt}
		w.recordPhone = true
		return w.enter(ctx, StatusPendingWhatsApp, "")
	}
	if err != nil {
		w.reconnectFailed(ctx, err)
	}
	return w.enter(ctx, to, "")
}

// unfrozenByStatus reports whether a YClients integration status read while frozen means the
// freeze is over: active again, or (for an installation frozen before its activation, which
// YClients cannot freeze) still pending.
func (w *installation) unfrozenByStatus(ctx workflow.Context, status string) bool {
	if status == "active" {
		return true
	}
	return status == "pending" && w.freezeInterrupts(ctx) && w.resumeStatus(ctx) == StatusPendingWhatsApp
}
