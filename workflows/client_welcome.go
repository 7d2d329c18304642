package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
)

// ClientWelcomeWorkflowName greets a new YClients client, when the salon enabled it.
const ClientWelcomeWorkflowName = "client-welcome"

// clientWelcomeWindow is how long a welcome stays relevant while the salon cannot send.
const clientWelcomeWindow = 24 * time.Hour

// ChangeWelcomeV2 versions the welcome's send through send-message (held by quiet hours,
// waiting for the resume signal instead of re-checking every 5 minutes).
const ChangeWelcomeV2 = "2026-12-02-welcome-v2"

// ClientWelcomeID is the workflow ID of a client's welcome.
func ClientWelcomeID(salonID, clientID int64) string {
	return fmt.Sprintf("client-welcome-%d-%d", salonID, clientID)
}

// ClientWelcome sends one welcome to a new client, paced with the salon's other messages,
// within a day of the client's creation; the ledger makes it exactly once.
func ClientWelcome(ctx workflow.Context, in activities.NewClient) (ledger.Outcome, error) {
	now := workflow.Now(ctx)
	deadline := now.Add(clientWelcomeWindow)
	if workflow.GetVersion(ctx, ChangeWelcomeV2, workflow.DefaultVersion, 1) == 1 {
		out, err := sendAlone(ctx, activities.SendInput{DeliverInput: activities.DeliverInput{SalonID: in.SalonID,
			RecordID: in.ClientID, Kind: texts.ClientWelcome, Deadline: deadline,
			Visit: activities.Visit{Start: ledger.Epoch, ClientName: in.Name, ClientPhone: in.Phone}}})
		if err != nil {
			return ledger.Failed, err
		}
		return out.Outcome, nil
	}
	out, err := sendPaced(ctx, pacedSend{salonID: in.SalonID, earliest: now, deadline: deadline,
		activity: activities.ActSendClientWelcome, input: activities.ClientWelcomeInput{NewClient: in, Deadline: deadline}})
	if err != nil {
		return ledger.Failed, err
	}
	return out.Outcome, nil
}
