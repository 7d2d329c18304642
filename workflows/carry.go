package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// RunInput is what an installation run starts from: the InstallationInput that starters send
// (its fields are promoted, so their payloads decode as they are) and, when the previous run
// continued as new, the requests that run had received but not acted on yet.
type RunInput struct {
	InstallationInput
	Pending *PendingRequests `json:",omitempty"`
}

// PendingRequests are the signals a run had received but not acted on when it continued as
// new: the next run acts on them first. Nothing a salon or YClients sent is dropped with the
// old run.
type PendingRequests struct {
	Uninstall, Freeze, Unfreeze, Resync, Check bool
	LinkEvents                                 []LinkEvent
	// UnlinkedWhileFrozen: the phone unlinked the device while frozen (a re-link is owed on
	// the unfreeze).
	UnlinkedWhileFrozen bool
}

// flagSignal is a signal that only raises a request flag.
type flagSignal struct {
	name string
	ch   workflow.ReceiveChannel
	flag *bool
}

// listen starts the receivers of the signals: each raises its request for the status loops.
func (w *installation) listen(ctx workflow.Context) {
	w.flagSignals = []flagSignal{
		{name: SignalFreeze, flag: &w.freeze}, {name: SignalUnfreeze, flag: &w.unfreeze},
		{name: SignalUninstall, flag: &w.uninstall}, {name: SignalResync, flag: &w.resync},
		{name: SignalCheckStatus, flag: &w.check},
	}
	w.linkCh = workflow.GetSignalChannel(ctx, SignalLinkState)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var ev LinkEvent
			w.linkCh.Receive(ctx, &ev)
			w.linkEvents = append(w.linkEvents, ev)
		}
	})
	for i := range w.flagSignals {
		sig := &w.flagSignals[i]
		sig.ch = workflow.GetSignalChannel(ctx, sig.name)
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				sig.ch.Receive(ctx, nil)
				*sig.flag = true
			}
		})
	}
}

// drainSignals takes what the signal channels still hold (delivered in this workflow task,
// before their receivers ran), so that nothing delivered is left behind in them.
func (w *installation) drainSignals() {
	for _, sig := range w.flagSignals {
		for sig.ch.ReceiveAsync(nil) {
			*sig.flag = true
		}
	}
	for {
		var ev LinkEvent
		if !w.linkCh.ReceiveAsync(&ev) {
			return
		}
		w.linkEvents = append(w.linkEvents, ev)
	}
}

// pending returns the requests not acted on yet, nil when there are none.
func (w *installation) pending() *PendingRequests {
	p := &PendingRequests{Uninstall: w.uninstall, Freeze: w.freeze, Unfreeze: w.unfreeze, Resync: w.resync,
		Check: w.check, LinkEvents: w.linkEvents, UnlinkedWhileFrozen: w.unlinkedWhileFrozen}
	if !p.Uninstall && !p.Freeze && !p.Unfreeze && !p.Resync && !p.Check && len(p.LinkEvents) == 0 &&
		!p.UnlinkedWhileFrozen {
		return nil
	}
	return p
}

// takePending raises the requests the previous run carried over.
func (w *installation) takePending(p *PendingRequests) {
	if p == nil {
		return
	}
	w.uninstall = w.uninstall || p.Uninstall
	w.freeze = w.freeze || p.Freeze
	w.unfreeze = w.unfreeze || p.Unfreeze
	w.resync = w.resync || p.Resync
	w.check = w.check || p.Check
	w.linkEvents = append(append([]LinkEvent(nil), p.LinkEvents...), w.linkEvents...)
	w.unlinkedWhileFrozen = w.unlinkedWhileFrozen || p.UnlinkedWhileFrozen
}

// continueAsNew waits for running handlers, takes every signal delivered so far, and
// continues as new with the state and the requests not acted on yet.
func (w *installation) continueAsNew(ctx workflow.Context) (State, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.st, err
	}
	w.drainSignals()
	st := w.st
	return w.st, workflow.NewContinueAsNewError(ctx, InstallationWorkflowName, RunInput{
		InstallationInput: InstallationInput{SalonID: w.st.SalonID, Timings: w.timings, State: &st},
		Pending:           w.pending(),
	})
}
