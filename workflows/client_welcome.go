package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/activities"
)

// ClientWelcomeWorkflowName greets a new YClients client, when the salon enabled it.
const ClientWelcomeWorkflowName = "client-welcome"

// clientWelcomeWindow is how long a welcome stays relevant while the salon cannot send.
const clientWelcomeWindow = 24 * time.Hour

// ClientWelcomeID is the workflow ID of a client's welcome.
func ClientWelcomeID(salonID, clientID int64) string {
	return fmt.Sprintf("client-welcome-%d-%d", salonID, clientID)
}

// ClientWelcomeInput names the client.
type ClientWelcomeInput struct {
	SalonID  int64
	ClientID int64
	Name     string
	Phone    string
}

// ClientWelcome sends one welcome to a new client, paced with the salon's other messages,
// within a day of the client's creation; the ledger makes it exactly once.
func ClientWelcome(ctx workflow.Context, in ClientWelcomeInput) (string, error) {
	deadline := workflow.Now(ctx).Add(clientWelcomeWindow)
	for {
		now := workflow.Now(ctx)
		if !now.Before(deadline) {
			return activities.OutcomeSkipped, nil
		}
		var slot activities.PlanSendOutput
		pctx := workflow.WithActivityOptions(ctx, planOptions)
		if err := workflow.ExecuteActivity(pctx, activities.ActPlanSend,
			activities.PlanSendInput{SalonID: in.SalonID, Earliest: now}).Get(pctx, &slot); err != nil {
			return activities.OutcomeFailed, err
		}
		if d := slot.SendAt.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return "", err
			}
		}
		var out activities.DeliverOutput
		dctx := workflow.WithActivityOptions(ctx, deliverOptions)
		if err := workflow.ExecuteActivity(dctx, activities.ActSendClientWelcome, activities.ClientWelcomeInput{
			SalonID: in.SalonID, ClientID: in.ClientID, Name: in.Name, Phone: in.Phone, Deadline: deadline,
		}).Get(dctx, &out); err != nil {
			return activities.OutcomeFailed, err
		}
		if out.Outcome != activities.OutcomePaused {
			return out.Outcome, nil
		}
		if err := workflow.Sleep(ctx, pauseRecheck); err != nil {
			return "", err
		}
	}
}

// SensitivePayload marks the client's name and phone for encryption (activities/pii).
func (ClientWelcomeInput) SensitivePayload() {}
