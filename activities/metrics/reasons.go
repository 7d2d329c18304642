package metrics

import "strings"

// skipReasons maps the reasons the messaging activities give for a skipped message (stored
// in the ledger and shown to operators) to label words.
var skipReasons = map[string]string{
	"expired":                 "expired",
	"no valid client phone":   "no_phone",
	"opted_out":               "opted_out",
	"daily_cap":               "daily_cap",
	"welcome turned off":      "turned_off",
	"record cancelled":        "record_cancelled",
	"record rescheduled":      "record_rescheduled",
	"record changed again":    "record_changed",
	"record is not cancelled": "record_not_cancelled",
	"reviewed_recently":       "reviewed_recently",
	"not attended":            "not_attended",
	"turned_off":              "turned_off",
}

// SkipReason is the label word of a skip reason; an unknown one is "other".
func SkipReason(reason string) string {
	if w, ok := skipReasons[reason]; ok {
		return w
	}
	return "other"
}

// PauseReason is the label word of why a salon cannot send now: its installation is not
// active ("salon frozen"), its WhatsApp is not linked ("whatsapp logged_out"), or the send
// found no connection.
func PauseReason(reason string) string {
	switch {
	case strings.HasPrefix(reason, "salon "):
		return "salon_inactive"
	case strings.HasPrefix(reason, "whatsapp "):
		return "whatsapp_not_linked"
	}
	return "not_connected"
}
