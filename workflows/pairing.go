package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// pairingChange guards two pairing rules (runs from before it keep the old ones): a pairing
// result that arrived wins over a newer request (results are read before a new attempt
// starts, and a success counts whichever attempt it belongs to), and a request repeated for an
// attempt the page has not seen yet returns the running attempt instead of starting another.
const pairingChange = "2026-12-02-pairing-result-wins"

// PairingAsk is the request-pairing update's input: the PairingRequest (its fields are
// promoted, so a bare PairingRequest decodes as one that saw nothing) and the newest attempt
// the page had seen when it asked. A double click on «Показать новый код», or a page that sent
// its request twice, asks twice with the same Seen: the second request gets the attempt the
// first one started.
type PairingAsk struct {
	PairingRequest
	Seen int
}

// pairingRules reports whether this run follows the pairing rules of pairingChange.
func (w *installation) pairingRules(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, pairingChange, workflow.DefaultVersion, 1) >= 1
}

// successWaiting reports whether a successful pairing result arrived that the status loop has
// not applied yet: the phone is linked, so a request for a new code is moot.
func (w *installation) successWaiting() bool {
	for _, r := range w.pairResults {
		if r.err == nil && r.out.Outcome == activities.PairSucceeded {
			return true
		}
	}
	return false
}

// repeated reports whether req asks again for the attempt that is running: the same page
// (session), method and phone, and it had not seen that attempt yet.
func (w *installation) repeated(req PairingAsk) bool {
	p := w.st.Pairing
	return p.Running && req.Seen < p.Attempt && req.Session == p.Session && req.Method == p.Method &&
		(req.Method != activities.PairByPhone || req.Phone == w.pairPhone)
}

// requestPairing is the request-pairing update: it records the request for the status loop
// and answers with the attempt that will show the page its codes.
func (w *installation) requestPairing(ctx workflow.Context, req PairingAsk) (PairingStarted, error) {
	if w.pairingRules(ctx) && (w.successWaiting() || w.repeated(req)) {
		return PairingStarted{Attempt: w.st.Pairing.Attempt}, nil
	}
	w.st.Pairing.Attempt++
	w.st.Pairing.Method = req.Method
	w.st.Pairing.Session = req.Session
	w.st.Pairing.Running = true
	w.pairPhone = req.Phone
	r := req.PairingRequest
	w.pairReq = &r
	return PairingStarted{Attempt: w.st.Pairing.Attempt}, nil
}
