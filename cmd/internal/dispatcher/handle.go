package dispatcher

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/reqid"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"github.com/aiadmin/aiadmin/workflows"
)

// States of an inbox row (webhook_inbox.state).
const (
	statePending   = "pending"
	stateProcessed = "processed" // handed on to Temporal (or stored, for clients)
	stateIgnored   = "ignored"   // a resource AI Admin does not use
	stateFailed    = "failed"    // cannot be decoded: retrying cannot help
	stateDuplicate = "duplicate" // byte-identical to the lane's previous delivery: no signal
	stateDead      = "dead"      // refused too many times: an operator looks at it
)

// callTimeout bounds one Temporal call.
const callTimeout = 10 * time.Second

// handle hands one row on and says how it ended (processed, ignored or failed, with a note);
// an error means the row was not handed on and is to be tried again.
func (d *Dispatcher) handle(ctx context.Context, row inboxRow) (state, note string, err error) {
	ctx = reqid.With(ctx, requestIDOf(row))
	env, _, err := yclients.ParseWebhook(row.Body)
	if err != nil {
		return stateFailed, err.Error(), nil
	}
	switch env.Resource {
	case "record":
		sc, err := d.clocks.clock(ctx, row.SalonID)
		if err != nil {
			return "", "", fmt.Errorf("salon clock: %w", err)
		}
		ev, err := recordEvent(row, env, sc)
		if err != nil {
			return stateFailed, err.Error(), nil
		}
		if err := d.signalBooking(ctx, row, ev); err != nil {
			return "", "", err
		}
		return stateProcessed, "", nil
	case "client":
		if env.Status == "delete" {
			return stateProcessed, "", nil
		}
		c, err := yclients.DecodeClient(env.Data)
		if err != nil {
			return stateProcessed, "", nil // nothing to keep of it
		}
		return stateProcessed, "", d.client(ctx, row.SalonID, env.Status, c)
	default:
		return stateIgnored, "resource " + env.Resource + " not handled", nil
	}
}

// signalBooking signals the record's booking workflow, starting it if needed.
func (d *Dispatcher) signalBooking(ctx context.Context, row inboxRow, ev workflows.RecordEvent) error {
	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	id := workflows.BookingID(row.SalonID, row.ResourceID)
	_, err := d.temporal.SignalWithStartWorkflow(sctx, id, workflows.SignalRecordEvent, ev, client.StartWorkflowOptions{
		ID: id, TaskQueue: d.taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchAttrSalonID.ValueSet(strconv.FormatInt(row.SalonID, 10))),
	}, workflows.BookingWorkflowName, workflows.BookingInput{SalonID: row.SalonID, RecordID: row.ResourceID, MergeWindow: d.merge,
		NoVersionMarkers: true})
	if err != nil {
		return fmt.Errorf("signal %s: %w", id, err)
	}
	return nil
}

// client stores a client webhook's client and, for a new one, starts the welcome.
func (d *Dispatcher) client(ctx context.Context, salonID int64, status string, c yclients.WebhookClient) error {
	c.Name, c.Phone = noNUL(c.Name), noNUL(c.Phone)
	phone, _ := whatsapp.NormalizePhone(c.Phone)
	if err := d.store.UpsertClient(ctx, sqlc.UpsertClientParams{SalonID: salonID, YClientsID: c.ID, Name: c.Name, Phone: phone}); err != nil {
		return fmt.Errorf("store client: %w", err)
	}
	if status != "create" {
		return nil
	}
	return d.welcome(ctx, salonID, c, phone)
}

// goLiveSlack is how long before activated_at a record may have been created and still count
// as booked under AI Admin (owed a confirmation): YClients' create_date has whole seconds, and
// the owner's page says active moments before the installation stamps activated_at, so a
// client who booked as the salon went live would otherwise get no confirmation whenever the
// record's update reaches the booking workflow before its creation.
const goLiveSlack = time.Minute

// recordEvent turns a record webhook into the booking workflow's signal; times YClients sent
// without an offset are read in the salon's zone. Its ActivatedAt is the salon's activation
// less goLiveSlack: the moment from which records are the salon's bookings under AI Admin.
func recordEvent(row inboxRow, env yclients.Webhook, sc salonClock) (workflows.RecordEvent, error) {
	ev := workflows.RecordEvent{InboxID: row.ID, Status: env.Status, ReceivedAt: row.ReceivedAt}
	if !sc.activatedAt.IsZero() {
		ev.ActivatedAt = sc.activatedAt.Add(-goLiveSlack)
	}
	rec, err := yclients.DecodeRecord(env.Data)
	if err != nil {
		if env.Status == "delete" {
			ev.Deleted = true
			return ev, nil
		}
		return ev, err
	}
	rec = rec.In(sc.loc)
	ev.Attendance, ev.Deleted = rec.Attendance, rec.Deleted
	ev.CreatedAt, ev.ChangedAt = rec.CreateDate, rec.LastChangeDate
	ev.Visit = activities.Visit{Start: rec.Datetime, StaffID: rec.StaffID, StaffName: noNUL(rec.Staff.Name)}
	if ev.Visit.StaffID == 0 {
		ev.Visit.StaffID = rec.Staff.ID
	}
	services := slices.Clone(rec.Services)
	slices.SortFunc(services, func(a, b yclients.RecordService) int { return cmp.Compare(a.ID, b.ID) })
	for _, s := range services {
		ev.Visit.ServiceIDs = append(ev.Visit.ServiceIDs, s.ID)
		ev.Visit.Services = append(ev.Visit.Services, noNUL(s.Title))
	}
	if rec.Client != nil {
		ev.Visit.ClientName, ev.Visit.ClientPhone = noNUL(rec.Client.Name), noNUL(rec.Client.Phone)
	}
	return ev, nil
}

// requestIDHeader is the header the HTTP layer keeps the request's reference ID under
// (httpapi.RequestIDHeader).
const requestIDHeader = "X-Request-Id"

// requestIDOf is the reference ID of the webhook's request, stored with it by the HTTP layer
// in the row's headers (a JSON object of strings): the workflow the row is handed to, and its
// activities, log it. "" when there is none, or the headers are not such an object. (Read
// with jsontext in one pass: encoding/json's decoding into a map cost as much as the rest of
// the row's handling but the signal.)
func requestIDOf(row inboxRow) string {
	dec := jsontext.NewDecoder(bytes.NewBuffer(row.Headers), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return ""
	}
	id := ""
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken() // a token is valid until the next read: compared at once
		if err != nil {
			return ""
		}
		ours := name.String() == requestIDHeader
		v, err := dec.ReadToken()
		if err != nil || (v.Kind() != '"' && v.Kind() != 'n') {
			return ""
		}
		if ours { // the last of repeated names, as a map would keep it; null is ""
			id = ""
			if v.Kind() == '"' {
				id = v.String()
			}
		}
	}
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return ""
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return ""
	}
	return id
}

// noNUL drops NUL characters, which PostgreSQL's text columns refuse: a client's name with one
// (YClients lets it through) must not make the row, or the messages about it, impossible to
// store.
func noNUL(s string) string {
	return strings.ReplaceAll(s, "\x00", "")
}

// welcome starts the new client's welcome when the salon enabled it (off by default): one
// workflow per client, whatever the number of duplicate webhooks.
func (d *Dispatcher) welcome(ctx context.Context, salonID int64, c yclients.WebhookClient, phone string) error {
	settings, err := d.store.GetSalonSettings(ctx, salonID)
	if err != nil || !settings.ClientWelcome || phone == "" {
		return nil // unknown salon, welcome off, or nobody to write to
	}
	sctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	id := workflows.ClientWelcomeID(salonID, c.ID)
	_, err = d.temporal.ExecuteWorkflow(sctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: d.taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchAttrSalonID.ValueSet(strconv.FormatInt(salonID, 10))),
	}, workflows.ClientWelcomeWorkflowName, activities.NewClient{SalonID: salonID, ClientID: c.ID, Name: c.Name, Phone: phone})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil // welcomed before
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}
