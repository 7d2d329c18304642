package activities

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// maxAskedVisits bounds the upcoming visits a reply is matched against (each costs a YClients
// read when the nearer ones were cancelled or moved).
const maxAskedVisits = 5

// FindQuestion finds what a client's reply may answer: their nearest upcoming visit at the
// salon whose message asked them to confirm (the ledger's asks_reply rows), as long as
// YClients still has it at the time asked about and not cancelled, and their latest review
// request that no score has answered, within ReviewAnswerWindow. Only messages sent before
// the reply count. The workflow decides which one a bare number answers.
func (a *Messaging) FindQuestion(ctx context.Context, in FindQuestionInput) (FindQuestionOutput, error) {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return FindQuestionOutput{}, err
	}
	out := FindQuestionOutput{DeclineCancels: p.row.DeclineCancels}
	phone, err := whatsapp.NormalizePhone(in.Phone)
	if err != nil {
		return out, nil
	}
	at := in.At
	if now := a.now(); at.IsZero() || at.After(now) {
		at = now
	}
	// WhatsApp stamps a message to the second: what we sent within that second counts as before.
	before := at.Add(time.Second)
	if out.Confirm, err = a.askedVisit(ctx, in.SalonID, phone, before); err != nil {
		return out, err
	}
	rev, err := a.store.LatestReviewAsk(ctx, sqlc.LatestReviewAskParams{SalonID: in.SalonID, Phone: phone,
		AskedAfter: at.Add(-ReviewAnswerWindow), AskedBefore: before})
	switch {
	case err == nil:
		out.Review = &AskedReview{RecordID: rev.RecordID, AskedAt: rev.AskedAt}
	case !db.IsNotFound(err):
		return out, fmt.Errorf("review request asked: %w", err)
	}
	return out, nil
}

// askedVisit is the nearest upcoming visit that asked the client to confirm and that YClients
// still has as asked; nil when there is none.
func (a *Messaging) askedVisit(ctx context.Context, salonID int64, phone string, before time.Time) (*AskedVisit, error) {
	rows, err := a.store.ListAskedVisits(ctx, sqlc.ListAskedVisitsParams{SalonID: salonID, Phone: phone,
		UpcomingAfter: a.now(), AskedBefore: before, MaxRows: maxAskedVisits})
	if err != nil {
		return nil, fmt.Errorf("asked visits: %w", err)
	}
	for _, r := range rows {
		rec, err := a.records.Record(ctx, salonID, r.RecordID)
		switch {
		case yclients.IsNotFound(err):
			continue
		case err != nil:
			return nil, classify(err)
		case rec.Deleted || rec.Attendance == AttendanceNoShow || !rec.Datetime.Equal(r.VisitTime):
			continue // cancelled or moved since it asked: the answer was about another visit
		}
		return &AskedVisit{RecordID: r.RecordID, Visit: visitOf(rec), AskedAt: r.AskedAt, Attendance: rec.Attendance,
			Declined: r.Declined}, nil
	}
	return nil, nil
}

// visitOf is what the messages need of a record (as the dispatcher makes it of a webhook).
func visitOf(rec yclients.Record) Visit {
	v := Visit{Start: rec.Datetime, StaffID: cmp.Or(rec.StaffID, rec.Staff.ID), StaffName: rec.Staff.Name}
	services := slices.Clone(rec.Services)
	slices.SortFunc(services, func(a, b yclients.RecordService) int { return cmp.Compare(a.ID, b.ID) })
	for _, s := range services {
		v.ServiceIDs = append(v.ServiceIDs, s.ID)
		v.Services = append(v.Services, s.Title)
	}
	if rec.Client != nil {
		v.ClientName, v.ClientPhone = rec.Client.Name, rec.Client.Phone
	}
	return v
}

// SetAttendance sets a record's attendance in YClients (PUT /visits/{visit}/{record}; YClients
// then sends the record's update webhook). It reads the record first: nothing is changed when
// it already has that attendance (a retry, or the salon was quicker), and a confirmation never
// overwrites an attendance the salon set (came, no-show). A deleted record is NotFound.
func (a *Messaging) SetAttendance(ctx context.Context, in AttendanceInput) error {
	rec, err := a.records.Record(ctx, in.SalonID, in.RecordID)
	switch {
	case err != nil:
		return classify(err)
	case rec.Deleted:
		return errNotFound(fmt.Sprintf("record %d is deleted", in.RecordID))
	case rec.Attendance == in.Attendance,
		in.Attendance == AttendanceConfirmed && rec.Attendance != 0:
		return nil
	}
	if err := a.records.SetAttendance(ctx, in.SalonID, rec.VisitID, in.RecordID, in.Attendance); err != nil {
		return classify(err)
	}
	a.log.InfoContext(ctx, "attendance set in YClients", "salonID", in.SalonID, "recordID", in.RecordID,
		"attendance", in.Attendance)
	return nil
}

// NotifyReply tells the operators (an alert without the client's data) and the salon's owner
// (their second channel: the client, the visit, the master, the score) about a client's answer.
func (a *Messaging) NotifyReply(ctx context.Context, in ReplyNotice) error {
	p, err := a.policy(ctx, in.SalonID)
	if err != nil {
		return err
	}
	var phone string
	if n, err := whatsapp.NormalizePhone(in.Visit.ClientPhone); err == nil {
		phone = "+" + n
	}
	v := texts.Visit{ClientName: in.Visit.ClientName, Start: in.Visit.Start, Services: in.Visit.Services,
		StaffName: in.Visit.StaffName}
	alert := notify.Alert{SalonID: in.SalonID, Level: notify.Info, Kind: in.Kind}
	var owner string
	switch in.Kind {
	case NoticeDeclined:
		owner = texts.OwnerDeclined(p.salon(), v, phone, in.Cancelled)
		alert.Message = fmt.Sprintf("Клиент ответил, что не сможет прийти (запись %d)", in.RecordID)
		if in.Cancelled {
			alert.Message += "; визит отменён в YClients"
		}
	case NoticeLowScore:
		owner = texts.OwnerLowScore(p.salon(), v, in.Score, phone)
		alert.Message = fmt.Sprintf("Низкая оценка визита: %d из 5 (запись %d)", in.Score, in.RecordID)
	case NoticeConfirmStuck:
		owner = texts.OwnerConfirmNotSaved(p.salon(), v, phone)
		alert.Level = notify.Warn
		alert.Message = fmt.Sprintf("Клиент подтвердил визит, YClients не принял отметку (запись %d)", in.RecordID)
	default:
		return errInvalid("unknown reply notice " + in.Kind)
	}
	// The alert first: it is stored, so a retry after a failed owner post only repeats the alert.
	if err := a.notifier.Notify(ctx, alert); err != nil {
		return err
	}
	return a.notifier.NotifyOwner(ctx, notify.OwnerNotice{SalonID: in.SalonID, Kind: in.Kind, Message: owner})
}
