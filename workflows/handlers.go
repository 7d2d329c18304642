package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// setup registers the installation's query, updates and signals. Handlers only record
// requests; the status loops act on them (see run).
func (w *installation) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (State, error) { return w.st, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRegister,
		func(ctx workflow.Context, req RegisterRequest) (State, error) {
			if w.st.OwnerUserID == 0 {
				w.st.OwnerUserID = req.UserID
			}
			err := workflow.Await(ctx, func() bool { return w.st.Status != StatusRegistering })
			return w.st, err
		},
		workflow.UpdateHandlerOptions{Validator: w.validateRegister},
	); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRequestPairing, w.requestPairing,
		workflow.UpdateHandlerOptions{Validator: w.validatePairing},
	); err != nil {
		return err
	}
	w.listen(ctx)
	return nil
}

// ErrTypeOtherOwner is the application error type of the register update's rejection of a
// YClients user other than the one who started an installation that is still pairing.
const ErrTypeOtherOwner = "OtherOwner"

// validateRegister admits the owner who started the installation while it is pairing, and
// anyone of the salon afterwards (they see its status, never a QR code).
func (w *installation) validateRegister(req RegisterRequest) error {
	pairing := w.st.Status == StatusRegistering || w.st.Status == StatusPendingWhatsApp
	if pairing && w.st.OwnerUserID != 0 && req.UserID != w.st.OwnerUserID {
		return temporal.NewApplicationError("installation started by another YClients user", ErrTypeOtherOwner)
	}
	return nil
}

// validatePairing admits a pairing request only while the owner pairs WhatsApp, and not once
// the phone has paired (a result waiting to be applied).
func (w *installation) validatePairing(req PairingAsk) error {
	switch {
	case w.st.Status == StatusRegistering:
		return errors.New("installation is still registering")
	case w.st.Status != StatusPendingWhatsApp && w.st.Status != StatusNeedsRelink:
		return fmt.Errorf("whatsapp pairing is not possible in status %s", w.st.Status)
	case w.successWaiting():
		return errors.New("whatsapp has just been paired")
	case req.Method != activities.PairByQR && req.Method != activities.PairByPhone:
		return fmt.Errorf("unknown pairing method %q", req.Method)
	case req.Method == activities.PairByPhone && req.Phone == "":
		return errors.New("phone is required for a pairing code")
	}
	return nil
}
