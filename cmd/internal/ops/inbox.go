package ops

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// alertView is one operator alert.
type alertView struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	SalonID *int64    `json:"salon_id,omitempty"`
	Level   string    `json:"level"`
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
}

func viewAlert(a sqlc.OpsAlert) alertView {
	return alertView{ID: a.ID, At: a.CreatedAt.UTC(), SalonID: a.SalonID, Level: a.Level, Kind: a.Kind, Message: a.Message}
}

// salonFlag is an optional --salon N.
func salonFlag(fs *flag.FlagSet) *int64 { return fs.Int64("salon", 0, "only this salon") }

func optional(id int64) *int64 {
	if id <= 0 {
		return nil
	}
	return &id
}

// alerts lists the operator alerts raised since --since, newest first.
func alerts(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("alerts", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON")
	since := fs.Duration("since", 24*time.Hour, "how far back")
	limit := fs.Int("limit", 200, "at most this many")
	salon := salonFlag(fs)
	if pos, err := parse(fs, args); err != nil || len(pos) > 0 || *since <= 0 || *limit <= 0 {
		return fmt.Errorf("usage: alerts [--since 24h] [--salon N] [--limit 200] [--json]: %w", errUsage)
	}
	store, err := e.db(ctx)
	if err != nil {
		return err
	}
	from := time.Now().Add(-*since)
	rows, err := store.ListOpsAlertsSince(ctx, sqlc.ListOpsAlertsSinceParams{Since: from, SalonID: optional(*salon), MaxRows: int32(*limit)})
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	out := make([]alertView, len(rows))
	for i, a := range rows {
		out[i] = viewAlert(a)
	}
	if *asJSON {
		return printJSON(e.out, out)
	}
	fmt.Fprintf(e.out, "%d alert(s) since %s:\n", len(out), when(from))
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	for _, a := range out {
		salon := "—"
		if a.SalonID != nil {
			salon = strconv.FormatInt(*a.SalonID, 10)
		}
		fmt.Fprintf(tw, "  %s\t%s\tsalon %s\t%s\t%s\n", when(a.At), a.Level, salon, a.Kind, a.Message)
	}
	return tw.Flush()
}

// deadView is one dead webhook.
type deadView struct {
	ID          int64      `json:"id"`
	SalonID     int64      `json:"salon_id"`
	ReceivedAt  time.Time  `json:"received_at"`
	Resource    string     `json:"resource"`
	ResourceID  int64      `json:"resource_id"`
	EventStatus string     `json:"event_status"`
	Attempts    int32      `json:"attempts"`
	LastError   string     `json:"last_error"`
	DeadSince   *time.Time `json:"dead_since,omitempty"`
	Purged      bool       `json:"body_purged"` // past INBOX_RETENTION: cannot be retried
}

// inbox is `inbox dead-letters` and `inbox retry <id>`.
func inbox(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: inbox dead-letters | inbox retry <id>: %w", errUsage)
	}
	switch args[0] {
	case "dead-letters":
		return deadLetters(ctx, e, args[1:])
	case "retry":
		return retry(ctx, e, args[1:])
	}
	return fmt.Errorf("inbox: unknown subcommand %q (dead-letters, retry): %w", args[0], errUsage)
}

func deadLetters(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("inbox dead-letters", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON")
	salon := salonFlag(fs)
	limit := fs.Int("limit", 500, "at most this many")
	if pos, err := parse(fs, args); err != nil || len(pos) > 0 || *limit <= 0 {
		return fmt.Errorf("usage: inbox dead-letters [--salon N] [--limit 500] [--json]: %w", errUsage)
	}
	store, err := e.db(ctx)
	if err != nil {
		return err
	}
	rows, err := store.ListDeadInbox(ctx, sqlc.ListDeadInboxParams{SalonID: optional(*salon), MaxRows: int32(*limit)})
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	out := make([]deadView, len(rows))
	for i, r := range rows {
		out[i] = deadView{ID: r.ID, SalonID: r.SalonID, ReceivedAt: r.ReceivedAt.UTC(), Resource: r.Resource, ResourceID: r.ResourceID,
			EventStatus: r.EventStatus, Attempts: r.Attempts, LastError: r.LastError, DeadSince: r.ProcessedAt, Purged: r.PurgedAt != nil}
	}
	if *asJSON {
		return printJSON(e.out, out)
	}
	fmt.Fprintf(e.out, "%d dead webhook(s)", len(out))
	if len(out) > 0 {
		fmt.Fprint(e.out, "; `inbox retry <id>` hands one to the dispatcher again")
	}
	fmt.Fprintln(e.out, ":")
	tw := tabwriter.NewWriter(e.out, 0, 4, 2, ' ', 0)
	for _, d := range out {
		note := ""
		if d.Purged {
			note = " (body purged: cannot be retried)"
		}
		fmt.Fprintf(tw, "  #%d\tsalon %d\t%s %d %s\treceived %s\t%d attempts\t%s%s\n", d.ID, d.SalonID, d.Resource, d.ResourceID,
			d.EventStatus, when(d.ReceivedAt), d.Attempts, d.LastError, note)
	}
	return tw.Flush()
}

// retry hands a dead row back to the dispatcher, which takes it up within seconds. A booking
// workflow that has already seen a later event of the record ignores it as stale.
func retry(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("inbox retry", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON")
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 {
		return fmt.Errorf("usage: inbox retry <id> [--json]: %w", errUsage)
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("inbox retry: want a row ID (a positive number, from inbox dead-letters), got %q", pos[0])
	}
	store, err := e.db(ctx)
	if err != nil {
		return err
	}
	row, err := store.GetInbox(ctx, id)
	switch {
	case db.IsNotFound(err):
		return fmt.Errorf("inbox retry: no webhook #%d", id)
	case err != nil:
		return fmt.Errorf("inbox: %w", err)
	case row.State != "dead":
		return fmt.Errorf("inbox retry: webhook #%d is %s, not dead: nothing to retry", id, row.State)
	case row.PurgedAt != nil:
		return fmt.Errorf("inbox retry: webhook #%d's body was purged (older than INBOX_RETENTION): nothing left to hand on", id)
	}
	n, err := store.RetryDeadInbox(ctx, id)
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("inbox retry: webhook #%d changed meanwhile; look again with inbox dead-letters", id)
	}
	if *asJSON {
		return printJSON(e.out, map[string]any{"id": id, "state": "pending", "salon_id": row.SalonID})
	}
	fmt.Fprintf(e.out, "webhook #%d (salon %d, %s %d %s) is pending again; the dispatcher hands it on within seconds\n",
		id, row.SalonID, row.Resource, row.ResourceID, row.EventStatus)
	return nil
}
