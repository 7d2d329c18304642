package wameow

import (
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// Translate maps a whatsmeow connection event to the link status it means (reference §3.3).
// ok is false for events that do not change the link state (messages, receipts, …). Only State,
// Reason and Until are set; the adapter adds the account's phone and name.
//
//	Connected, KeepAliveRestored            → linked
//	Disconnected                            → connecting (whatsmeow reconnects by itself)
//	KeepAliveTimeout                        → degraded
//	LoggedOut (401/403/406, device_removed) → logged_out (whatsmeow has deleted the device)
//	StreamReplaced                          → replaced (never reconnect: another client owns the keys)
//	TemporaryBan                            → temp_banned until now+Expire
//	NotifyAccountReachoutTimelock active    → restricted until its end (463 on new contacts)
//	NotifyAccountReachoutTimelock inactive  → linked (timelock lifted)
//	ClientOutdated                          → disconnected, reason says to upgrade whatsmeow
//	ConnectFailure                          → disconnected with the failure as reason
func Translate(evt any) (st whatsapp.Status, ok bool) {
	return translateAt(evt, time.Now())
}

func translateAt(evt any, now time.Time) (whatsapp.Status, bool) {
	switch e := evt.(type) {
	case *events.Connected, *events.KeepAliveRestored:
		return whatsapp.Status{State: whatsapp.StateLinked}, true
	case *events.Disconnected:
		return whatsapp.Status{State: whatsapp.StateConnecting, Reason: "connection lost, reconnecting"}, true
	case *events.KeepAliveTimeout:
		return whatsapp.Status{State: whatsapp.StateDegraded,
			Reason: fmt.Sprintf("keep-alive timeout (%d failed pings)", e.ErrorCount)}, true
	case *events.LoggedOut:
		reason := "device removed"
		if e.OnConnect {
			reason = e.Reason.String()
		}
		return whatsapp.Status{State: whatsapp.StateLoggedOut, Reason: reason}, true
	case *events.StreamReplaced:
		return whatsapp.Status{State: whatsapp.StateReplaced,
			Reason: "another client connected with the same device keys"}, true
	case *events.TemporaryBan:
		st := whatsapp.Status{State: whatsapp.StateTempBanned, Reason: e.Code.String()}
		if e.Expire > 0 {
			st.Until = now.Add(e.Expire)
		}
		return st, true
	case *events.NotifyAccountReachoutTimelock:
		if !e.IsActive {
			return whatsapp.Status{State: whatsapp.StateLinked}, true
		}
		reason := "reach-out timelock: messages to new contacts are refused (463)"
		if e.EnforcementType != "" {
			reason += " [" + e.EnforcementType + "]"
		}
		return whatsapp.Status{State: whatsapp.StateRestricted, Reason: reason, Until: e.TimeEnforcementEnds.Time}, true
	case *events.ClientOutdated:
		return whatsapp.Status{State: whatsapp.StateDisconnected,
			Reason: "client outdated (405): upgrade go.mau.fi/whatsmeow"}, true
	case *events.ConnectFailure:
		return whatsapp.Status{State: whatsapp.StateDisconnected,
			Reason: strings.TrimSpace(fmt.Sprintf("connect failure %s %s", e.Reason, e.Message))}, true
	}
	return whatsapp.Status{}, false
}
