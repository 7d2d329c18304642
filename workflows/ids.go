package workflows

import "strconv"

// InstallationID is the workflow ID of a salon's installation: one per salon.
func InstallationID(salonID int64) string {
	return "installation-" + strconv.FormatInt(salonID, 10)
}
