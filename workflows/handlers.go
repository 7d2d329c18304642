package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// setup registers the installation's query, updates and signals. Handlers only record
// requests; the status loops act on them (see run).
func (w *installation) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (State, error) { return w.st, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateRegister, func(ctx workflow.Context, _ RegisterRequest) (State, error) {
		err := workflow.Await(ctx, func() bool { return w.st.Status != StatusRegistering })
		return w.st, err
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRequestPairing,
		func(_ workflow.Context, req PairingRequest) (PairingStarted, error) {
			w.st.Pairing.Attempt++
			w.st.Pairing.Method = req.Method
			w.st.Pairing.Running = true
			w.pairReq = &req
			return PairingStarted{Attempt: w.st.Pairing.Attempt}, nil
		},
		workflow.UpdateHandlerOptions{Validator: w.validatePairing},
	); err != nil {
		return err
	}
	signals := []struct {
		name string
		flag *bool
	}{
		{SignalFreeze, &w.freeze}, {SignalUnfreeze, &w.unfreeze}, {SignalUninstall, &w.uninstall},
		{SignalResync, &w.resync}, {SignalCheckStatus, &w.check},
	}
	linkCh := workflow.GetSignalChannel(ctx, SignalLinkState)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var ev LinkEvent
			linkCh.Receive(ctx, &ev)
			w.linkEvents = append(w.linkEvents, ev)
		}
	})
	for _, sig := range signals {
		ch := workflow.GetSignalChannel(ctx, sig.name)
		flag := sig.flag
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				ch.Receive(ctx, nil)
				*flag = true
			}
		})
	}
	return nil
}

// validatePairing admits a pairing request only while the owner pairs WhatsApp.
func (w *installation) validatePairing(req PairingRequest) error {
	switch {
	case w.st.Status == StatusRegistering:
		return errors.New("installation is still registering")
	case w.st.Status != StatusPendingWhatsApp && w.st.Status != StatusNeedsRelink:
		return fmt.Errorf("whatsapp pairing is not possible in status %s", w.st.Status)
	case req.Method != activities.PairByQR && req.Method != activities.PairByPhone:
		return fmt.Errorf("unknown pairing method %q", req.Method)
	case req.Method == activities.PairByPhone && req.Phone == "":
		return errors.New("phone is required for a pairing code")
	}
	return nil
}
