package app

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/workflows"
)

// linkForwarder tells installation workflows about WhatsApp link changes reported by the
// connections this process owns (logged out on the phone, bans, restrictions, ...).
type linkForwarder struct {
	temporal client.Client
	logger   *slog.Logger
}

func (f linkForwarder) forward(salonID int64, st whatsapp.Status) {
	switch st.State {
	case whatsapp.StatePairing, whatsapp.StateUnlinked, whatsapp.StateConnecting:
		return // the installation workflow drives these itself
	}
	metrics.LinkEvent(string(st.State))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := f.temporal.SignalWorkflow(ctx, workflows.InstallationID(salonID), "", workflows.SignalLinkState,
		workflows.LinkEvent{State: st.State, Reason: st.Reason, Until: st.Until})
	if err != nil {
		f.logger.Warn("link state not delivered to the installation", "salonID", salonID, "state", st.State, "err", err)
	}
}
