package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

func (w *installation) deadline() time.Time {
	return w.st.RegisteredAt.Add(w.timings.ActivationDeadline)
}

// pairing waits for the owner to link WhatsApp from the connect page, until the activation
// deadline. Each request starts a pairing attempt (an activity on the worker that owns the
// live connection); a newer request supersedes a running one.
func (w *installation) pairing(ctx workflow.Context) error {
	if err := w.awaitPairing(ctx, w.deadline()); err != nil {
		return err
	}
	return w.setStatus(ctx, StatusWhatsAppConnected, "")
}

// awaitPairing runs pairing attempts as the connect page asks for them until one succeeds
// (w.st.WhatsApp is then set), an uninstall arrives (errInterrupted) or the deadline passes
// (expiredError; a zero deadline never passes).
func (w *installation) awaitPairing(ctx workflow.Context, deadline time.Time) error {
	for {
		cond := func() bool { return w.uninstall || w.pairReq != nil || len(w.pairResults) > 0 }
		ok := true
		var err error
		if deadline.IsZero() {
			err = workflow.Await(ctx, cond)
		} else {
			left := deadline.Sub(workflow.Now(ctx))
			if left <= 0 {
				w.cancelPairing()
				return &expiredError{}
			}
			ok, err = workflow.AwaitWithTimeout(ctx, left, cond)
		}
		if err != nil {
			return err
		}
		if w.uninstall {
			w.cancelPairing()
			return errInterrupted
		}
		if !ok {
			w.cancelPairing()
			return &expiredError{}
		}
		if w.pairReq != nil {
			w.startPairing(ctx, *w.pairReq)
			w.pairReq = nil
		}
		for len(w.pairResults) > 0 {
			r := w.pairResults[0]
			w.pairResults = w.pairResults[1:]
			if r.attempt != w.st.Pairing.Attempt {
				continue // superseded by a newer attempt
			}
			w.st.Pairing.Running = false
			w.pairCancel = nil
			switch {
			case r.err != nil:
				w.st.Pairing.LastOutcome = PairOutcomeError
				w.st.Pairing.LastError = "Не удалось начать привязку WhatsApp. Попробуйте ещё раз."
			case r.out.Outcome == PairOutcomeSuccess:
				w.st.Pairing.LastOutcome = PairOutcomeSuccess
				w.st.Pairing.LastError = ""
				w.st.WhatsApp = WhatsAppInfo{Phone: r.out.Phone, Name: r.out.Name, ConnectedAt: workflow.Now(ctx)}
				w.linkEvents = nil // events of the old device or of the pairing itself
				return nil
			default:
				w.st.Pairing.LastOutcome = r.out.Outcome
				w.st.Pairing.LastError = r.out.Error
			}
		}
	}
}

func (w *installation) startPairing(ctx workflow.Context, req PairingRequest) {
	w.cancelPairing()
	w.st.Pairing.Running = true
	attempt := w.st.Pairing.Attempt
	actx, cancel := workflow.WithCancel(ctx)
	w.pairCancel = cancel
	fut := workflow.ExecuteActivity(workflow.WithActivityOptions(actx, pairOptions), activities.ActPair,
		activities.PairInput{SalonID: w.st.SalonID, Attempt: attempt, Method: req.Method, Phone: req.Phone})
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

// activate tells YClients the integration is installed, within the activation deadline.
func (w *installation) activate(ctx workflow.Context) error {
	if w.st.Status != StatusWhatsAppConnected {
		return nil
	}
	var out activities.ActivateOutput
	err := w.exec(ctx, yclientsOptions, w.deadline(), activities.ActActivate, activities.SalonRef{SalonID: w.st.SalonID}, &out)
	var exp *expiredError
	switch {
	case errors.Is(err, errInterrupted), errors.As(err, &exp):
		return err
	case err != nil:
		return &failedError{reason: "activation: " + rootMessage(err)}
	}
	w.st.RedirectURL = out.RedirectURL
	w.st.ActivatedAt = workflow.Now(ctx)
	return w.setStatus(ctx, StatusConfiguring, "")
}

// configure runs the first catalogue sync, then the installation is active.
func (w *installation) configure(ctx workflow.Context) error {
	if err := w.sync(ctx); err != nil {
		return err
	}
	return w.setStatus(ctx, StatusActive, "")
}

// sync reads services, staff and schedules from YClients into PostgreSQL. A sync that gives
// up is recorded and reported to operators; the installation keeps working.
func (w *installation) sync(ctx workflow.Context) error {
	var out activities.SyncOutput
	err := w.exec(ctx, syncOptions, time.Time{}, activities.ActSync, activities.SalonRef{SalonID: w.st.SalonID}, &out)
	if errors.Is(err, errInterrupted) {
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
	err := w.exec(ctx, cleanupOptions, time.Time{}, activities.ActSendWelcome,
		activities.WelcomeInput{SalonID: w.st.SalonID, Phone: w.st.WhatsApp.Phone, SalonName: w.st.SalonName}, &out)
	if errors.Is(err, errInterrupted) {
		return err
	}
	if err != nil {
		w.notify(ctx, "warn", "welcome_failed", "Приветственное сообщение не отправлено: "+rootMessage(err))
	}
	w.st.WelcomeSent = true // sent, or given up on and reported: never retried by a later run
	return nil
}
