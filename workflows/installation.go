package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// Search attributes every installation keeps up to date for operators.
var (
	SearchAttrSalonID       = SearchAttrKeyword("SalonID")
	SearchAttrInstallStatus = SearchAttrKeyword("InstallStatus")
)

// SearchAttrKeyword names a Keyword search attribute.
func SearchAttrKeyword(name string) temporal.SearchAttributeKeyKeyword {
	return temporal.NewSearchAttributeKeyKeyword(name)
}

// Reasons recorded with closed statuses.
const (
	ReasonSalonNotFound      = "salon_not_found"
	ReasonActivationDeadline = "activation_deadline"
	ReasonUninstalled        = "uninstalled_in_yclients"
)

// errInterrupted tells a phase that an uninstall arrived while it waited.
var errInterrupted = errors.New("interrupted by uninstall")

// Installation is the long-lived workflow of one salon's installation: register → WhatsApp
// pairing → YClients activation → catalogue sync → active, with freeze, unfreeze and
// uninstall. It completes when the installation is uninstalled, expired or failed.
func Installation(ctx workflow.Context, in InstallationInput) (State, error) {
	w := &installation{timings: in.Timings.withDefaults()}
	if in.State != nil {
		w.st = *in.State
	} else {
		now := workflow.Now(ctx)
		w.st = State{SalonID: in.SalonID, Status: StatusRegistering, Since: now, RegisteredAt: now}
	}
	if err := w.setup(ctx); err != nil {
		return w.st, err
	}
	return w.run(ctx)
}

type pairResult struct {
	attempt int
	out     activities.PairOutput
	err     error
}

type installation struct {
	st      State
	timings Timings

	// Requests raised by signals and updates, consumed by the main loop.
	uninstall, freeze, unfreeze, resync, check bool
	linkEvents                                 []LinkEvent
	recordPhone                                bool // the next setStatus writes the linked number
	unlinkedWhileFrozen                        bool
	pairReq                                    *PairingRequest
	pairResults                                []pairResult
	pairCancel                                 workflow.CancelFunc
}

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

func (w *installation) validatePairing(req PairingRequest) error {
	switch {
	case w.st.Status == StatusRegistering:
		return errors.New("installation is still registering")
	case w.st.Status != StatusPendingWhatsApp && w.st.Status != StatusNeedsRelink:
		return fmt.Errorf("whatsapp pairing is not possible in status %s", w.st.Status)
	case req.Method != PairByQR && req.Method != PairByPhone:
		return fmt.Errorf("unknown pairing method %q", req.Method)
	case req.Method == PairByPhone && req.Phone == "":
		return errors.New("phone is required for a pairing code")
	}
	return nil
}

func (w *installation) run(ctx workflow.Context) (State, error) {
	var err error
	switch w.st.Status {
	case StatusActive:
		return w.active(ctx)
	case StatusFrozen:
		return w.frozen(ctx)
	case StatusNeedsRelink:
		return w.relinkWait(ctx)
	case StatusRegistering:
		if err = w.register(ctx); err != nil {
			return w.closeOnError(ctx, err)
		}
	}
	if err = w.pairing(ctx); err != nil {
		return w.closeOnError(ctx, err)
	}
	if err = w.activate(ctx); err != nil {
		return w.closeOnError(ctx, err)
	}
	if err = w.configure(ctx); err != nil {
		return w.closeOnError(ctx, err)
	}
	return w.active(ctx)
}

// closeOnError ends the run after a phase gave up: uninstall, expiry or failure.
func (w *installation) closeOnError(ctx workflow.Context, err error) (State, error) {
	var exp *expiredError
	var fail *failedError
	switch {
	case errors.Is(err, errInterrupted):
		return w.doUninstall(ctx)
	case errors.As(err, &exp):
		return w.doExpire(ctx)
	case errors.As(err, &fail):
		return w.doFail(ctx, fail.reason)
	default:
		// Cancellation of the workflow itself, or a bug: surface it to Temporal.
		return w.st, err
	}
}

type expiredError struct{}

func (*expiredError) Error() string { return "activation deadline passed" }

type failedError struct{ reason string }

func (e *failedError) Error() string { return "installation failed: " + e.reason }

// setStatus records a status change everywhere operators look: the workflow state, search
// attributes, the Web UI's current details and the companies table.
func (w *installation) setStatus(ctx workflow.Context, status Status, reason string) error {
	w.st.Status = status
	w.st.Reason = reason
	w.st.Since = workflow.Now(ctx)
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		SearchAttrSalonID.ValueSet(fmt.Sprint(w.st.SalonID)),
		SearchAttrInstallStatus.ValueSet(string(status)),
	); err != nil {
		return err
	}
	workflow.SetCurrentDetails(ctx, w.summary())
	in := activities.SetStatusInput{SalonID: w.st.SalonID, Status: string(status), Reason: reason}
	if status == StatusWhatsAppConnected || status.Closed() || w.recordPhone {
		in.WhatsAppSet = true
		if !status.Closed() {
			in.WhatsAppPhone, in.WhatsAppName = w.st.WhatsApp.Phone, w.st.WhatsApp.Name
		}
		w.recordPhone = false
	}
	actx := workflow.WithActivityOptions(newDisconnected(ctx), localOptions)
	return workflow.ExecuteActivity(actx, activities.ActSetStatus, in).Get(actx, nil)
}

// summary is the one-line text the Web UI shows for the workflow.
func (w *installation) summary() string {
	name := w.st.SalonName
	if name == "" {
		name = "салон"
	}
	s := fmt.Sprintf("%s (salon %d): %s since %s UTC", name, w.st.SalonID, w.st.Status,
		w.st.Since.UTC().Format("2006-01-02 15:04"))
	if w.st.Reason != "" {
		s += " — " + w.st.Reason
	}
	return s
}

// exec runs one activity and waits for it, unless an uninstall arrives (errInterrupted) or
// the deadline passes (expiredError); a zero deadline means none.
func (w *installation) exec(ctx workflow.Context, opts workflow.ActivityOptions, deadline time.Time,
	name string, in, out any) error {
	actx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	fut := workflow.ExecuteActivity(workflow.WithActivityOptions(actx, opts), name, in)
	done := false
	var err error
	workflow.Go(actx, func(gctx workflow.Context) {
		err = fut.Get(gctx, out)
		done = true
	})
	cond := func() bool { return done || w.uninstall }
	if deadline.IsZero() {
		if werr := workflow.Await(ctx, cond); werr != nil {
			return werr
		}
	} else {
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			return &expiredError{}
		}
		ok, werr := workflow.AwaitWithTimeout(ctx, left, cond)
		if werr != nil {
			return werr
		}
		if !ok {
			return &expiredError{}
		}
	}
	if !done {
		return errInterrupted
	}
	return err
}

func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func (w *installation) register(ctx workflow.Context) error {
	var out activities.RegisterOutput
	err := w.exec(ctx, registerOptions, time.Time{}, activities.ActRegister, activities.SalonRef{SalonID: w.st.SalonID}, &out)
	switch {
	case errors.Is(err, errInterrupted):
		return err
	case errType(err) == activities.ErrTypeNotFound:
		return &failedError{reason: ReasonSalonNotFound}
	case err != nil:
		return &failedError{reason: "yclients: " + err.Error()}
	}
	w.st.SalonName, w.st.Timezone = out.Title, out.Timezone
	return w.setStatus(ctx, StatusPendingWhatsApp, "")
}
