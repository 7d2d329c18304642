package activities_test

import (
	"errors"
	"time"

	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"

	"github.com/aiadmin/aiadmin/db/sqlc"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

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
