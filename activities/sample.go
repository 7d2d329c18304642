package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aiadmin/aiadmin/activities/ledger"
	"github.com/aiadmin/aiadmin/activities/texts"
	"github.com/aiadmin/aiadmin/db"
)

// Reasons of an example message that did not go out.
const (
	reasonNoLinkedNumber = "no linked number"
	reasonEmptySample    = "empty text"
)

// SendSample sends the owner's example message (the cabinet's «Отправить пример себе») to the
// salon's own linked number, once per request: its ledger key is the request's fresh Key. A
// salon that cannot send now is not waited for: the owner is looking at the page, so the
// example is marked failed with the reason and they may try again.
func (a *WhatsApp) SendSample(ctx context.Context, in SampleInput) (SampleOutput, error) {
	key := ledger.Key{SalonID: in.SalonID, RecordID: in.Key, Kind: KindSample, VisitTime: ledger.Epoch}
	if res, done, err := a.ledger.Finished(ctx, key); err != nil || done {
		return SampleOutput{Outcome: res.Outcome, Reason: res.Reason}, err
	}
	c, err := a.store.GetCompany(ctx, in.SalonID)
	if err != nil {
		return SampleOutput{}, fmt.Errorf("sample: %w", db.NotFound(err))
	}
	phone := ""
	if c.WhatsappPhone != nil {
		phone = *c.WhatsappPhone
	}
	text := strings.TrimSpace(in.Text)
	var res ledger.Result
	switch {
	case phone == "":
		res, err = a.ledger.Skip(ctx, key, "", reasonNoLinkedNumber)
	case text == "" || utf8.RuneCountInString(text) > texts.MaxMessageLen:
		res, err = a.ledger.Skip(ctx, key, phone, reasonEmptySample)
	default:
		res, err = a.ledger.Send(ctx, key, phone, text)
		if err == nil && res.Outcome == ledger.Paused {
			res, err = a.ledger.Fail(ctx, key, phone, errors.New(res.Reason))
		}
	}
	if err != nil {
		return SampleOutput{}, fmt.Errorf("sample: %w", classify(err))
	}
	a.log.InfoContext(ctx, "sample message", "salonID", in.SalonID, "kind", in.Kind, "outcome", res.Outcome)
	return SampleOutput{Outcome: res.Outcome, Reason: res.Reason}, nil
}
