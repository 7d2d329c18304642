package activities_test

import (
	"errors"

	"github.com/aiadmin/aiadmin/db/sqlc"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func dbListParams(salonID int64) sqlc.ListPairingEventsParams {
	return sqlc.ListPairingEventsParams{SalonID: salonID, MaxRows: 100}
}
