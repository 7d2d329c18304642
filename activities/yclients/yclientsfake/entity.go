package yclientsfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors of the record and client methods, mapped by the control API to 404, 409 and 422
// (ErrUnknownSalon, defined with Lifecycle, is a 404 too).
var (
	ErrUnknownRecord = errors.New("yclientsfake: unknown record")
	ErrRecordDeleted = errors.New("yclientsfake: the record is deleted")
	ErrClientExists  = errors.New("yclientsfake: a client with this phone already exists")
	ErrInvalidInput  = errors.New("yclientsfake: invalid input")
)

const (
	// IDs of new records and clients: realistic magnitudes, above every seeded ID.
	firstRecordID = 1_213_340_001
	firstClientID = 180_000_001
	// maxDuplicates bounds how often one change may be delivered (YClients was seen sending 4).
	maxDuplicates      = 20
	defaultEntityDelay = 5 * time.Second
	maxSeanceLength    = 24 * 60 * 60
)

// ClientInput names a record's client, or a new client for CreateClient. Phone may be written
// as people write it ("+7 999 000-11-22", "89990001122"); Russian numbers without the country
// code are accepted.
type ClientInput struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email,omitempty"`
}

// Costs are per-service prices of a record by service ID, for manual prices and discounts. In
// JSON ("cost") it is an object {"1001": 3000} or a single number, which prices every service of
// the record and is kept under the key 0.
type Costs map[int64]float64

// UnmarshalJSON accepts an object of prices by service ID, or one price for every service; a
// price may be a number or a numeric string ("3000.00"), as YClients itself writes them.
func (c *Costs) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if p, ok := flexPrice(b); ok {
		*c = Costs{0: p}
		return nil
	}
	var raw map[int64]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf(`cost: want a number or an object {"service_id": cost}: %w`, err)
	}
	out := make(Costs, len(raw))
	for id, v := range raw {
		p, ok := flexPrice(v)
		if !ok {
			return fmt.Errorf("cost of service %d: want a number", id)
		}
		out[id] = p
	}
	*c = out
	return nil
}

func flexPrice(b []byte) (float64, bool) {
	var n float64
	if json.Unmarshal(b, &n) == nil {
		return n, true
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return n, err == nil
}

// RecordInput is a new record: the JSON body of POST /_fake/salons/{salon_id}/records.
type RecordInput struct {
	StaffID    int64   `json:"staff_id"`
	ServiceIDs []int64 `json:"service_ids"`
	// Client is found in the salon's client base by phone or added to it (name required then);
	// a found client keeps its name. nil is a record without a client, which YClients renders as
	// "client": null.
	Client *ClientInput `json:"client,omitempty"`
	// Datetime is RFC 3339 ("2026-12-12T14:30:00+03:00", also "+0300"), or salon-local time
	// without an offset ("2026-12-12 14:30:00").
	Datetime string `json:"datetime"`
	// SeanceLength is in seconds; 0 adds up the services' durations.
	SeanceLength int    `json:"seance_length,omitempty"`
	Comment      string `json:"comment,omitempty"`
	// Attendance is 2 confirmed, 1 came, 0 waiting, -1 no-show.
	Attendance int   `json:"attendance,omitempty"`
	Cost       Costs `json:"cost,omitempty"`
	// Duplicates is how often the create webhook is delivered (0 means once).
	Duplicates int `json:"duplicates,omitempty"`
}

// RecordChange is an edit of a record: the JSON body of PUT
// /_fake/salons/{salon_id}/records/{record_id}. Nil fields stay as they are, so an edit of Cost
// alone is a price-only change; a client can be changed but not removed. Any edit, even an
// empty one, is a save: last_change_date moves and an "update" webhook goes out.
type RecordChange struct {
	Datetime *string `json:"datetime,omitempty"`
	StaffID  *int64  `json:"staff_id,omitempty"`
	// ServiceIDs replaces the services; without SeanceLength the length is recomputed.
	ServiceIDs   []int64      `json:"service_ids,omitempty"`
	Client       *ClientInput `json:"client,omitempty"`
	SeanceLength *int         `json:"seance_length,omitempty"`
	Attendance   *int         `json:"attendance,omitempty"`
	Comment      *string      `json:"comment,omitempty"`
	// Cost sets prices; services it does not name keep theirs.
	Cost Costs `json:"cost,omitempty"`
	// Duplicates is how often the update webhook is delivered (0 means once; YClients has
	// delivered one change as 4 identical updates).
	Duplicates int `json:"duplicates,omitempty"`
}

// CreateRecord adds a record to the salon, as a salon administrator would in YClients, and sends
// the "create" webhook in.Duplicates times.
func (f *Fake) CreateRecord(salonID int64, in RecordInput) (Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.salons[salonID]
	if !ok {
		return Record{}, ErrUnknownSalon
	}
	dups, err := checkDuplicates(in.Duplicates)
	if err != nil {
		return Record{}, err
	}
	s := st.salon
	at, err := parseDatetime(in.Datetime, st.loc)
	if err != nil {
		return Record{}, err
	}
	in = withDefaultBooking(s, in)
	if err := checkStaff(s, in.StaffID); err != nil {
		return Record{}, err
	}
	length, err := checkServices(s, in.ServiceIDs, in.SeanceLength)
	if err != nil {
		return Record{}, err
	}
	if err := checkAttendance(in.Attendance); err != nil {
		return Record{}, err
	}
	if err := checkCosts(in.Cost, in.ServiceIDs); err != nil {
		return Record{}, err
	}
	now := f.now()
	var client Client
	if in.Client != nil {
		if client, err = f.resolveClientLocked(st, *in.Client, now); err != nil {
			return Record{}, err
		}
	}
	rec := Record{
		ID: f.nextRecordID, VisitID: f.nextRecordID + visitIDOffset, StaffID: in.StaffID, ServiceIDs: slices.Clone(in.ServiceIDs),
		ClientID: client.ID, ClientName: client.Name, ClientPhone: client.Phone, ClientEmail: client.Email,
		Datetime: at, SeanceLength: length, Attendance: in.Attendance, Comment: in.Comment,
		Costs: applyCosts(nil, in.Cost, in.ServiceIDs), CreatedAt: now, ChangedAt: now.Truncate(time.Second),
	}
	f.nextRecordID++
	st.salon.Records = append(st.salon.Records, rec)
	f.emitRecordLocked(st, rec, "create", dups)
	return cloneRecord(rec), nil
}

// withDefaultBooking is a demo convenience (YClients' own form preselects them too): without
// staff or services the record goes to the first bookable staff member and the first active
// service.
func withDefaultBooking(s Salon, in RecordInput) RecordInput {
	if in.StaffID == 0 {
		for _, m := range s.Staff {
			if m.Bookable && !m.Fired {
				in.StaffID = m.ID
				break
			}
		}
	}
	if len(in.ServiceIDs) == 0 {
		for _, sv := range s.Services {
			if sv.Active {
				in.ServiceIDs = []int64{sv.ID}
				break
			}
		}
	}
	return in
}

// UpdateRecord edits a record and sends the "update" webhook ch.Duplicates times. A deleted
// record cannot be edited (ErrRecordDeleted).
func (f *Fake) UpdateRecord(salonID, recordID int64, ch RecordChange) (Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, i, err := f.recordLocked(salonID, recordID)
	if err != nil {
		return Record{}, err
	}
	dups, err := checkDuplicates(ch.Duplicates)
	if err != nil {
		return Record{}, err
	}
	s := st.salon
	rec := cloneRecord(s.Records[i])
	if err := applyVisitChange(s, st.loc, &rec, ch); err != nil {
		return Record{}, err
	}
	if ch.Attendance != nil {
		if err := checkAttendance(*ch.Attendance); err != nil {
			return Record{}, err
		}
		rec.Attendance = *ch.Attendance
	}
	if ch.Comment != nil {
		rec.Comment = *ch.Comment
	}
	if err := checkCosts(ch.Cost, rec.ServiceIDs); err != nil {
		return Record{}, err
	}
	rec.Costs = applyCosts(rec.Costs, ch.Cost, rec.ServiceIDs)
	now := f.now()
	if ch.Client != nil {
		c, err := f.resolveClientLocked(st, *ch.Client, now)
		if err != nil {
			return Record{}, err
		}
		rec.ClientID, rec.ClientName, rec.ClientPhone, rec.ClientEmail = c.ID, c.Name, c.Phone, c.Email
	}
	rec.ChangedAt = nextChange(rec.ChangedAt, now)
	st.salon.Records[i] = rec
	f.emitRecordLocked(st, rec, "update", dups)
	return cloneRecord(rec), nil
}

// applyVisitChange applies a change of the visit's time, staff, services or length.
func applyVisitChange(s Salon, loc *time.Location, rec *Record, ch RecordChange) error {
	var err error
	if ch.Datetime != nil {
		if rec.Datetime, err = parseDatetime(*ch.Datetime, loc); err != nil {
			return err
		}
	}
	if ch.StaffID != nil {
		if err := checkStaff(s, *ch.StaffID); err != nil {
			return err
		}
		rec.StaffID = *ch.StaffID
	}
	switch {
	case ch.ServiceIDs != nil:
		length := 0
		if ch.SeanceLength != nil {
			length = *ch.SeanceLength
		}
		if rec.SeanceLength, err = checkServices(s, ch.ServiceIDs, length); err != nil {
			return err
		}
		rec.ServiceIDs = slices.Clone(ch.ServiceIDs)
	case ch.SeanceLength != nil:
		if *ch.SeanceLength <= 0 || *ch.SeanceLength > maxSeanceLength {
			return fmt.Errorf("%w: seance_length: от 1 до %d секунд", ErrInvalidInput, maxSeanceLength)
		}
		rec.SeanceLength = *ch.SeanceLength
	}
	return nil
}

// DeleteRecord marks a record deleted (GET then answers it with "deleted": true) and sends the
// "delete" webhook, whose data is the deleted record, duplicates times (0 means once).
func (f *Fake) DeleteRecord(salonID, recordID int64, duplicates int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, i, err := f.recordLocked(salonID, recordID)
	if err != nil {
		return err
	}
	dups, err := checkDuplicates(duplicates)
	if err != nil {
		return err
	}
	rec := &st.salon.Records[i]
	rec.Deleted = true
	rec.ChangedAt = nextChange(rec.ChangedAt, f.now())
	f.emitRecordLocked(st, *rec, "delete", dups)
	return nil
}

// CreateClient adds a client to the salon's client base and sends the client "create" webhook
// duplicates times (0 means once). A phone already in the base fails with ErrClientExists, as
// YClients refuses it.
func (f *Fake) CreateClient(salonID int64, in ClientInput, duplicates int) (Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.salons[salonID]
	if !ok {
		return Client{}, ErrUnknownSalon
	}
	dups, err := checkDuplicates(duplicates)
	if err != nil {
		return Client{}, err
	}
	phone, err := normalizePhone(in.Phone)
	if err != nil {
		return Client{}, err
	}
	if slices.ContainsFunc(st.clients, func(c Client) bool { return c.Phone == phone }) {
		return Client{}, ErrClientExists
	}
	c, err := f.resolveClientLocked(st, in, f.now())
	if err != nil {
		return Client{}, err
	}
	f.emitLocked(st, "client", c.ID, "create", renderClient(st.loc, c, phoneText), dups)
	return c, nil
}

// Client returns the salon's client with the ID.
func (f *Fake) Client(salonID, clientID int64) (Client, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st, ok := f.salons[salonID]; ok {
		if i := slices.IndexFunc(st.clients, func(c Client) bool { return c.ID == clientID }); i >= 0 {
			return st.clients[i], true
		}
	}
	return Client{}, false
}

// Record returns the record as it now stands, deleted or not.
func (f *Fake) Record(salonID, recordID int64) (Record, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.salons[salonID]
	if !ok {
		return Record{}, false
	}
	i := slices.IndexFunc(st.salon.Records, func(r Record) bool { return r.ID == recordID })
	if i < 0 {
		return Record{}, false
	}
	return cloneRecord(st.salon.Records[i]), true
}

// recordLocked finds a live record: ErrUnknownSalon, ErrUnknownRecord or ErrRecordDeleted.
func (f *Fake) recordLocked(salonID, recordID int64) (*salonState, int, error) {
	st, ok := f.salons[salonID]
	if !ok {
		return nil, 0, ErrUnknownSalon
	}
	i := slices.IndexFunc(st.salon.Records, func(r Record) bool { return r.ID == recordID })
	switch {
	case i < 0:
		return nil, 0, ErrUnknownRecord
	case st.salon.Records[i].Deleted:
		return nil, 0, ErrRecordDeleted
	}
	return st, i, nil
}

// resolveClientLocked finds the client by phone or adds a new one.
func (f *Fake) resolveClientLocked(st *salonState, in ClientInput, now time.Time) (Client, error) {
	phone, err := normalizePhone(in.Phone)
	if err != nil {
		return Client{}, err
	}
	if i := slices.IndexFunc(st.clients, func(c Client) bool { return c.Phone == phone }); i >= 0 {
		return st.clients[i], nil
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return Client{}, fmt.Errorf("%w: client.name: обязательно для нового клиента", ErrInvalidInput)
	}
	c := Client{ID: f.nextClientID, Name: name, Phone: phone, Email: strings.TrimSpace(in.Email), ChangedAt: now}
	f.nextClientID++
	st.clients = append(st.clients, c)
	return c, nil
}

// emitRecordLocked sends a record webhook whose data is the record as GET answers it, except
// for the client's phone, which webhooks carry as a "+7…" string.
func (f *Fake) emitRecordLocked(st *salonState, rec Record, status string, dups int) {
	f.emitLocked(st, "record", rec.ID, status, renderRecord(st.salon, st.loc, rec, phoneText), dups)
}
