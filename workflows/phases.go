package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// The statuses of a new installation, in order: registering → pending_whatsapp →
// whatsapp_connected → active (runs started before activeBeforeSyncChange: → configuring →
// active).

// activeBeforeSyncChange: an installation is active once YClients has accepted the activation,
// and its first catalogue sync runs there (active finds it due at once). Nothing a client gets
// needs the catalogue, and the owner waiting on the connect page should not wait behind it: in
// a wave of installs every sync waits its turn in the cluster's YClients budget after the
// owners' own requests. Before it, the first sync ran in configuring, before active.
const activeBeforeSyncChange = "2026-12-03-active-before-sync"

// syncFollows reports whether the first sync runs once active (activeBeforeSyncChange).
func (w *installation) syncFollows(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, activeBeforeSyncChange, workflow.DefaultVersion, 1) >= 1
}

func (w *installation) deadline() time.Time {
	return w.st.RegisteredAt.Add(w.timings.ActivationDeadline)
}

// registering reads the salon from YClients. A salon YClients does not know, or a YClients
// that does not answer, fails the installation: the owner is waiting on the page.
func (w *installation) registering(ctx workflow.Context) (Status, error) {
	var out activities.RegisterOutput
	err := w.exec(ctx, registerOptions, time.Time{}, activities.ActRegister, activities.SalonRef{SalonID: w.st.SalonID, Known: w.company}, &out)
	switch {
	case errors.Is(err, errInterrupted):
		return w.toUninstalled(ctx)
	case errType(err) == activities.ErrTypeNotFound:
		return w.toFailed(ctx, ReasonSalonNotFound, "")
	case err != nil:
		return w.toFailed(ctx, ReasonYClientsUnavailable, rootMessage(err))
	}
	w.st.SalonName, w.st.Timezone, w.st.SalonPhone = out.Title, out.Timezone, out.Phone
	return w.enter(ctx, StatusPendingWhatsApp, "")
}

// pendingWhatsApp waits for the owner to link WhatsApp from the connect page, until the
// activation deadline.
func (w *installation) pendingWhatsApp(ctx workflow.Context) (Status, error) {
	err := w.awaitPairing(ctx, w.deadline())
	switch {
	case errors.Is(err, errInterrupted):
		return w.toUninstalled(ctx)
	case errors.Is(err, errFrozen):
		return w.toFrozen(ctx)
	case errors.Is(err, errExpired):
		return w.toExpired(ctx)
	case err != nil:
		return w.st.Status, err
	}
	return w.enter(ctx, StatusWhatsAppConnected, "")
}

// whatsAppConnected tells YClients the integration is installed, within the activation
// deadline, and the installation is active. YClients refusing the activation fails the
// installation.
func (w *installation) whatsAppConnected(ctx workflow.Context) (Status, error) {
	var out activities.ActivateOutput
	err := w.activate(ctx, &out)
	switch {
	case errors.Is(err, errInterrupted):
		return w.toUninstalled(ctx)
	case errors.Is(err, errFrozen):
		return w.toFrozen(ctx)
	case errors.Is(err, errExpired):
		return w.toExpired(ctx)
	case err != nil:
		return w.toFailed(ctx, ReasonActivationRefused, rootMessage(err))
	}
	w.st.RedirectURL = out.RedirectURL
	w.st.ActivatedAt = workflow.Now(ctx)
	if w.syncFollows(ctx) {
		return w.enter(ctx, StatusActive, "")
	}
	return w.enter(ctx, StatusConfiguring, "")
}

// configuring runs the first catalogue sync, then the installation is active: runs from before
// activeBeforeSyncChange, and an installation frozen before its first sync under them.
func (w *installation) configuring(ctx workflow.Context) (Status, error) {
	if err := w.sync(ctx); errors.Is(err, errFrozen) {
		return w.toFrozen(ctx)
	} else if err != nil {
		return w.toUninstalled(ctx)
	}
	return w.enter(ctx, StatusActive, "")
}

// awaitPairing runs pairing attempts as the connect page asks for them until one succeeds
// (w.st.WhatsApp is then set), an uninstall arrives (errInterrupted) or the deadline passes
// (errExpired; a zero deadline never passes) or a freeze (errFrozen; a result that arrived
// first wins). A newer request supersedes a running attempt.
func (w *installation) awaitPairing(ctx workflow.Context, deadline time.Time) error {
	for {
		if err := w.awaitPairingEvent(ctx, deadline); err != nil {
			if errors.Is(err, errFrozen) && w.takePairResults(ctx) {
				return nil // paired just before the freeze: the status after pairing honours it
			}
			if errors.Is(err, errInterrupted) || errors.Is(err, errExpired) || errors.Is(err, errFrozen) {
				w.cancelPairing()
				w.pairReq = nil
			}
			return err
		}
		if w.pairingRules(ctx) && w.takePairResults(ctx) {
			w.pairReq = nil // the phone paired: a request that came with the result is moot
			return nil
		}
		if w.pairReq != nil {
			w.startPairing(ctx, *w.pairReq)
			w.pairReq = nil
		}
		if w.takePairResults(ctx) {
			return nil
		}
	}
}

// awaitPairingEvent waits for a pairing request or result, an uninstall or the deadline.
func (w *installation) awaitPairingEvent(ctx workflow.Context, deadline time.Time) error {
	freezes := w.freezeInterrupts(ctx)
	cond := func() bool {
		return w.uninstall || w.pairReq != nil || len(w.pairResults) > 0 || (freezes && w.freeze)
	}
	ok := true
	var err error
	if deadline.IsZero() {
		err = workflow.Await(ctx, cond)
	} else {
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			return errExpired
		}
		ok, err = workflow.AwaitWithTimeout(ctx, left, cond)
	}
	switch {
	case err != nil:
		return err
	case w.uninstall:
		return errInterrupted
	case freezes && w.freeze:
		return errFrozen
	case !ok:
		return errExpired
	}
	return nil
}

// takePairResults applies the finished attempts; it reports whether the phone paired: in the
// current attempt, or (pairingRules) in an earlier one that a newer request superseded just
// after the scan, whose success wins over the newer attempt.
func (w *installation) takePairResults(ctx workflow.Context) bool {
	for len(w.pairResults) > 0 {
		r := w.pairResults[0]
		w.pairResults = w.pairResults[1:]
		paired := r.err == nil && r.out.Outcome == activities.PairSucceeded
		if r.attempt != w.st.Pairing.Attempt {
			if !paired || !w.pairingRules(ctx) {
				continue // superseded by a newer attempt
			}
			w.cancelPairing() // the newer attempt shows codes for a phone that is paired already
		}
		w.st.Pairing.Running = false
		w.pairCancel = nil
		switch {
		case r.err != nil:
			w.st.Pairing.LastOutcome = activities.PairFailed
			w.st.Pairing.LastError = "Не удалось начать привязку WhatsApp. Попробуйте ещё раз."
		case r.out.Outcome == activities.PairSucceeded:
			w.st.Pairing.LastOutcome = activities.PairSucceeded
			w.st.Pairing.LastError = ""
			w.st.WhatsApp = WhatsAppInfo{Phone: r.out.Phone, Name: r.out.Name, ConnectedAt: workflow.Now(ctx)}
			w.linkEvents = nil // events of the old device or of the pairing itself
			return true
		default:
			w.st.Pairing.LastOutcome = r.out.Outcome
			w.st.Pairing.LastError = r.out.Error
		}
	}
	return false
}

// startPairing runs one attempt on the worker that owns the salon's live connection.
func (w *installation) startPairing(ctx workflow.Context, req PairingRequest) {
	w.cancelPairing()
	w.st.Pairing.Running = true
	attempt := w.st.Pairing.Attempt
	actx, cancel := workflow.WithCancel(ctx)
	w.pairCancel = cancel
	fut := workflow.ExecuteActivity(workflow.WithActivityOptions(actx, pairOptions), activities.ActPair,
		activities.PairInput{SalonID: w.st.SalonID, Attempt: attempt, Method: req.Method, Phone: req.Phone, Session: req.Session})
	workflow.Go(ctx, func(gctx workflow.Context) {
		var out activities.PairOutput
		err := fut.Get(gctx, &out)
		w.pairResults = append(w.pairResults, pairResult{attempt: attempt, out: out, err: err})
	})
}

func (w *installation) cancelPairing() {
	if w.pairCancel != nil {
		w.pairCancel()
		w.pairCancel = nil
	}
	w.st.Pairing.Running = false
}

// sync reads services, staff and schedules from YClients into PostgreSQL. A sync that gives
// up is recorded and reported to operators; the installation keeps working. Only an uninstall
// (errInterrupted) or a freeze (errFrozen) ends it with an error.
func (w *installation) sync(ctx workflow.Context) error {
	var out activities.SyncOutput
	err := w.execFreezable(ctx, syncOptions, time.Time{}, activities.ActSync, activities.SalonRef{SalonID: w.st.SalonID}, &out)
	if errors.Is(err, errInterrupted) || errors.Is(err, errFrozen) {
		return err
	}
	if err != nil {
		w.st.LastSync = SyncSummary{At: workflow.Now(ctx), Error: rootMessage(err)}
		w.notify(ctx, "error", "sync_failed", "Синхронизация с YClients не удалась: "+rootMessage(err))
		return nil
	}
	w.st.LastSync = SyncSummary{At: out.FinishedAt, Services: out.Services, Staff: out.Staff,
		Schedules: out.Schedules, Deactivated: out.Deactivated}
	if w.st.LastSync.At.IsZero() {
		w.st.LastSync.At = workflow.Now(ctx)
	}
	return nil
}

// welcome sends the one welcome message to the linked number; the ledger makes it exactly once.
func (w *installation) welcome(ctx workflow.Context) error {
	if w.st.WelcomeSent {
		return nil
	}
	var out activities.WelcomeOutput
	err := w.exec(ctx, shardOptions, time.Time{}, activities.ActSendWelcome,
		activities.WelcomeInput{SalonID: w.st.SalonID, Phone: w.st.WhatsApp.Phone, SalonName: w.st.SalonName}, &out)
	switch {
	case errors.Is(err, errInterrupted):
		return err
	case shardTimedOut(ctx, err):
		w.shardUnavailable(ctx, "отправить приветствие", "Приветственное сообщение не отправлено.")
	case err != nil:
		w.notify(ctx, "warn", "welcome_failed", "Приветственное сообщение не отправлено: "+rootMessage(err))
	}
	w.st.WelcomeSent = true // sent, or given up on and reported: never retried by a later run
	return nil
}
