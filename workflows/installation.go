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
	SearchAttrWhatsAppState = SearchAttrKeyword("WhatsAppState")
)

// SearchAttrKeyword names a Keyword search attribute.
func SearchAttrKeyword(name string) temporal.SearchAttributeKeyKeyword {
	return temporal.NewSearchAttributeKeyKeyword(name)
}

// Installation is the long-lived workflow of one salon's installation: register → WhatsApp
// pairing → YClients activation → catalogue sync → active, with freeze, unfreeze, re-link and
// uninstall. It completes when the installation is uninstalled, expired or failed.
func Installation(ctx workflow.Context, in RunInput) (State, error) {
	w := &installation{timings: in.Timings.withDefaults(), company: in.Company}
	if in.State != nil {
		w.st = *in.State
	} else {
		now := workflow.Now(ctx)
		w.st = State{SalonID: in.SalonID, Status: StatusRegistering, Since: now, RegisteredAt: now}
	}
	if w.st.InstallID == "" {
		w.st.InstallID = workflow.GetInfo(ctx).FirstRunID
	}
	if err := w.setup(ctx); err != nil {
		return w.st, err
	}
	w.takePending(in.Pending)
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
	company *activities.KnownCompany // the salon as the register page read it (this run's start)

	// Requests raised by signals and updates, consumed by the status loops.
	uninstall, freeze, unfreeze, resync, check bool
	linkEvents                                 []LinkEvent
	recordPhone                                bool // the next setStatus writes the linked number
	unlinkedWhileFrozen                        bool
	pairReq                                    *PairingRequest
	pairPhone                                  string // the phone of the current attempt by code
	pairResults                                []pairResult
	pairCancel                                 workflow.CancelFunc
	stopOnFreeze                               bool // the running exec ends on a freeze (execFreezable)

	flagSignals []flagSignal // the signals that raise the flags above
	linkCh      workflow.ReceiveChannel
}

// errContinueAsNew is returned by a waiting status when the history has grown large: the run
// loop continues as new, in this one place.
var errContinueAsNew = errors.New("continue as new")

// run is the state diagram. Each status's method waits for what that status honours, does the
// work of leaving it and returns the next status:
//
//	registering        → pending_whatsapp, failed; uninstall
//	pending_whatsapp   → whatsapp_connected, expired; request-pairing, uninstall
//	whatsapp_connected → configuring, failed, expired; uninstall
//	configuring        → active; uninstall
//	active             → frozen, needs_relink, uninstalled; freeze, resync, link-state, uninstall
//	frozen             → active, needs_relink, uninstalled; unfreeze, check-status, link-state, uninstall
//	needs_relink       → active, uninstalled; request-pairing, uninstall
//
// uninstalled, expired and failed end the run. The register update and the status query are
// answered in every status.
func (w *installation) run(ctx workflow.Context) (State, error) {
	for !w.st.Status.Closed() {
		var next Status
		var err error
		switch w.st.Status {
		case StatusRegistering:
			next, err = w.registering(ctx)
		case StatusPendingWhatsApp:
			next, err = w.pendingWhatsApp(ctx)
		case StatusWhatsAppConnected:
			next, err = w.whatsAppConnected(ctx)
		case StatusConfiguring:
			next, err = w.configuring(ctx)
		case StatusActive:
			next, err = w.active(ctx)
		case StatusFrozen:
			next, err = w.frozen(ctx)
		case StatusNeedsRelink:
			next, err = w.needsRelink(ctx)
		default:
			return w.st, fmt.Errorf("installation in unknown status %q", w.st.Status)
		}
		if errors.Is(err, errContinueAsNew) {
			return w.continueAsNew(ctx)
		}
		if err != nil {
			// Cancellation of the workflow itself, or a bug: surface it to Temporal.
			return w.st, err
		}
		if next != w.st.Status {
			return w.st, fmt.Errorf("status %s returned %s without entering it", w.st.Status, next)
		}
	}
	return w.finish(ctx)
}

// continueAsNewSuggested reports whether the run should continue as new now.
func continueAsNewSuggested(ctx workflow.Context) bool {
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// finish waits for running update handlers (e.g. the register update) before the run ends.
func (w *installation) finish(ctx workflow.Context) (State, error) {
	err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return w.st, err
}

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

// enter sets the status and returns it, for the status methods' last step.
func (w *installation) enter(ctx workflow.Context, status Status, reason string) (Status, error) {
	return status, w.setStatus(ctx, status, reason)
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

// errInterrupted tells a status that an uninstall arrived while it waited.
var errInterrupted = errors.New("interrupted by uninstall")

// errExpired tells a status that the activation deadline passed while it waited.
var errExpired = errors.New("activation deadline passed")

// exec runs one activity and waits for it, unless an uninstall arrives (errInterrupted; or a
// freeze under execFreezable) or the deadline passes (errExpired); a zero deadline means none.
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
	cond := func() bool { return done || w.uninstall || (w.stopOnFreeze && w.freeze) }
	// stopped cancels the activity and, with WaitForCancellation, waits until it has ended (it
	// may be calling an outside system), then reports why it was stopped.
	stopped := func(why error) error {
		cancel()
		if opts.WaitForCancellation {
			if werr := workflow.Await(ctx, func() bool { return done }); werr != nil {
				return werr
			}
		}
		return why
	}
	if deadline.IsZero() {
		if werr := workflow.Await(ctx, cond); werr != nil {
			return werr
		}
	} else {
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			return errExpired
		}
		ok, werr := workflow.AwaitWithTimeout(ctx, left, cond)
		if werr != nil {
			return werr
		}
		if !ok {
			return stopped(errExpired)
		}
	}
	if !done {
		return stopped(errInterrupted)
	}
	return err
}

// errType is the application error type of an activity failure, or "".
func errType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

// rootMessage is the innermost error message, without Temporal's wrapping.
func rootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// newDisconnected returns a context that is not cancelled with ctx, for work that must finish.
func newDisconnected(ctx workflow.Context) workflow.Context {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	return dctx
}
