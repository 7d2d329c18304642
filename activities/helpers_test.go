package activities_test

import (
	"context"
	"errors"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/aiadmin/aiadmin/db/sqlc"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// noTemporal stands in for the Temporal client: these tests never resume bookings.
type noTemporal struct{}

func (noTemporal) ListWorkflow(context.Context, *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	return &workflowservice.ListWorkflowExecutionsResponse{}, nil
}

func (noTemporal) SignalWorkflow(context.Context, string, string, string, any) error { return nil }

func dbListParams(salonID int64) sqlc.ListPairingEventsParams {
	return sqlc.ListPairingEventsParams{SalonID: salonID, MaxRows: 100}
}

// scanSoon scans the salon's QR as soon as a pairing attempt is running.
func scanSoon(p *simphone.Phone) {
	for i := 0; i < 500; i++ {
		if p.Scan(salonID, "79990001122", "Бархат") == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signals records the signals the activities send ("<workflow ID>/<signal>").
type signals struct {
	noTemporal
	sent []string
}

func (s *signals) SignalWorkflow(_ context.Context, id, _, name string, _ any) error {
	s.sent = append(s.sent, id+"/"+name)
	return nil
}
