package ops

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aiadmin/aiadmin/workflows"
)

// when formats a time for people: UTC, to the second; "—" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func whenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return when(*t)
}

func syncText(s workflows.SyncSummary) string {
	if s.At.IsZero() {
		return "never"
	}
	text := fmt.Sprintf("%s: %d services, %d staff, %d schedules", when(s.At), s.Services, s.Staff, s.Schedules)
	if s.Error != "" {
		text += "; error: " + s.Error
	}
	return text
}

func printStatus(out io.Writer, v statusView) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, args...)) }
	title := ""
	switch {
	case v.Workflow != nil && v.Workflow.State.SalonName != "":
		title = " «" + v.Workflow.State.SalonName + "»"
	case v.Company != nil && v.Company.Title != "":
		title = " «" + v.Company.Title + "»"
	}
	fmt.Fprintf(out, "Salon %d%s\n", v.SalonID, title)
	if w := v.Workflow; w != nil {
		st := w.State
		status := string(st.Status)
		if st.Reason != "" {
			status += " (" + st.Reason + ")"
		}
		row("installation", "%s since %s; workflow %s, %s", status, when(st.Since), w.ID, orUnknown(w.Execution))
		row("time zone", "%s", orUnknown(st.Timezone))
		if st.WhatsApp.Phone != "" {
			row("whatsapp", "%s %s, connected %s", st.WhatsApp.Phone, quoted(st.WhatsApp.Name), when(st.WhatsApp.ConnectedAt))
		} else {
			row("whatsapp", "not linked")
		}
		if st.Link.State != "" {
			row("link state", "%s %s", st.Link.State, st.Link.Reason)
		}
		row("pairing", "attempt %d, running %t, last outcome %s", st.Pairing.Attempt, st.Pairing.Running, orUnknown(string(st.Pairing.LastOutcome)))
		row("last sync", "%s", syncText(st.LastSync))
		row("activated", "%s", when(st.ActivatedAt))
		row("welcome sent", "%t", st.WelcomeSent)
	} else {
		row("installation", "no workflow")
	}
	if c := v.Company; c != nil {
		row("database", "status %s%s, whatsapp %s", c.InstallStatus, map[bool]string{true: " (" + c.InstallReason + ")", false: ""}[c.InstallReason != ""], orUnknown(c.WhatsAppPhone))
		row("last message", "%s", whenPtr(c.LastMessageAt))
	}
	if in := v.Inbox; in != nil {
		row("inbox", "%d pending (oldest %s), %d dead", in.Pending, whenPtr(in.OldestPendingAt), in.Dead)
	}
	for i, a := range v.Alerts {
		k := ""
		if i == 0 {
			k = "recent alerts"
		}
		row(k, "%s %s %s: %s", when(a.At), a.Level, a.Kind, a.Message)
	}
	if len(v.Alerts) == 0 {
		row("recent alerts", "none")
	}
	_ = tw.Flush()
	for _, p := range v.Problems {
		fmt.Fprintf(out, "could not read: %s\n", p)
	}
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return "«" + s + "»"
}
