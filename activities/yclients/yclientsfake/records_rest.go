package yclientsfake

// The record endpoints of the REST API (reference §5.6): one record, the records list, and the
// visit edit a partner app uses to set a record's attendance.

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	// visitIDOffset makes a record's default visit ID: record ID + 7000000.
	visitIDOffset = 7_000_000
	// Records list paging: YClients' doc example is count=50 and gives no maximum; the fake
	// caps a page at 200 (the maximum page of clients/search), answering fewer than asked.
	defaultRecordsCount = 50
	maxRecordsCount     = 200
)

func (f *Fake) handleRecord(w http.ResponseWriter, r *http.Request) {
	s, loc, ok := f.lookupSalon(w, r, "company_id")
	if !ok {
		return
	}
	recordID, _ := pathID(r, "record_id")
	i := slices.IndexFunc(s.Records, func(rec Record) bool { return rec.ID == recordID })
	if i < 0 {
		writeLegacyError(w, http.StatusNotFound, "Запись не найдена")
		return
	}
	writeData(w, http.StatusOK, renderRecord(s, loc, s.Records[i], phoneJSON), map[string]any{})
}

// renderRecord is the record object of GET /record/{company_id}/{record_id}, which entity
// webhooks also carry as data. phone renders the client's phone: a JSON number in the REST
// answer (phoneJSON), a "+7…" string in webhooks (phoneText).
func renderRecord(s Salon, loc *time.Location, rec Record, phone func(string) any) *recordJSON {
	start := rec.Datetime.In(loc)
	services := []recordServiceJSON{}
	for _, id := range rec.ServiceIDs {
		if i := slices.IndexFunc(s.Services, func(svc Service) bool { return svc.ID == id }); i >= 0 {
			svc := s.Services[i]
			cost, discount := svc.PriceMin, 0
			if c, ok := rec.Costs[id]; ok {
				cost = c
				if c < svc.PriceMin && svc.PriceMin > 0 {
					discount = int(math.Round((svc.PriceMin - c) / svc.PriceMin * 100))
				}
			}
			services = append(services, recordServiceJSON{
				ID: svc.ID, Title: svc.Title, Cost: cost, CostToPay: cost, ManualCost: cost,
				CostPerUnit: cost, Discount: discount, FirstCost: svc.PriceMin, Amount: 1,
			})
		}
	}
	var staff any = struct{}{}
	if i := slices.IndexFunc(s.Staff, func(st Staff) bool { return st.ID == rec.StaffID }); i >= 0 {
		st := s.Staff[i]
		staff = recordStaffJSON{ID: st.ID, Name: st.Name, Specialization: st.Specialization,
			Position: positionJSON(i, st)}
	}
	var client *recordClientJSON // null, as YClients sends for records without a client
	if rec.ClientName != "" {
		client = &recordClientJSON{
			ID: rec.ClientID, Name: rec.ClientName, DisplayName: rec.ClientName,
			Phone: phone(rec.ClientPhone), Email: rec.ClientEmail, SuccessVisitsCount: 3,
			CustomFields: []any{},
		}
	}
	return &recordJSON{
		ID: rec.ID, CompanyID: s.ID, StaffID: rec.StaffID, Services: services,
		Staff: staff, Client: client,
		Date:           start.Format(layoutNaive),
		Datetime:       start.Format(layoutISOColon),
		CreateDate:     rec.CreatedAt.In(loc).Format(layoutISOBare),
		LastChangeDate: rec.ChangedAt.In(loc).Format(layoutISOBare),
		Comment:        rec.Comment, Online: true, VisitAttendance: rec.Attendance,
		Attendance: rec.Attendance, Confirmed: 1, SeanceLength: rec.SeanceLength,
		Length: rec.SeanceLength, MasterRequest: 1,
		VisitID: strconv.FormatInt(cmp.Or(rec.VisitID, rec.ID+visitIDOffset), 10),
		Deleted: rec.Deleted, RecordLabels: []any{}, CustomFields: []any{}, Documents: []any{},
		SMSRemainHours: 5, EmailRemainHours: 1,
	}
}

// recordJSON is the record object YClients renders (reference §5.6). Its fields are in the
// order of their names, the order in which encoding/json writes a map's keys, as the fake
// rendered records before (a map a record: the largest part of the fake's CPU in a day list).
type recordJSON struct {
	ActivityID        int                 `json:"activity_id"`
	APIID             string              `json:"api_id"`
	Attendance        int                 `json:"attendance"`
	BookformID        int                 `json:"bookform_id"`
	Client            *recordClientJSON   `json:"client"`
	Comment           string              `json:"comment"`
	CompanyID         int64               `json:"company_id"`
	Confirmed         int                 `json:"confirmed"`
	CreateDate        string              `json:"create_date"`
	CreatedUserID     int                 `json:"created_user_id"`
	CustomFields      []any               `json:"custom_fields"`
	Date              string              `json:"date"`
	Datetime          string              `json:"datetime"`
	Deleted           bool                `json:"deleted"`
	Documents         []any               `json:"documents"`
	EmailNow          int                 `json:"email_now"`
	EmailRemainHours  int                 `json:"email_remain_hours"`
	FromURL           string              `json:"from_url"`
	GoodsTransactions *[]any              `json:"goods_transactions,omitempty"` // in lists only
	ID                int64               `json:"id"`
	IsMobile          int                 `json:"is_mobile"`
	LastChangeDate    string              `json:"last_change_date"`
	Length            int                 `json:"length"`
	MasterRequest     int                 `json:"master_request"`
	Notified          int                 `json:"notified"`
	Online            bool                `json:"online"`
	PaidFull          int                 `json:"paid_full"`
	Prepaid           bool                `json:"prepaid"`
	PrepaidConfirmed  bool                `json:"prepaid_confirmed"`
	RecordFrom        string              `json:"record_from"`
	RecordLabels      []any               `json:"record_labels"`
	SeanceLength      int                 `json:"seance_length"`
	Services          []recordServiceJSON `json:"services"`
	SMSBefore         int                 `json:"sms_before"`
	SMSNow            int                 `json:"sms_now"`
	SMSRemainHours    int                 `json:"sms_remain_hours"`
	Staff             any                 `json:"staff"` // recordStaffJSON, or {} for a master gone
	StaffID           int64               `json:"staff_id"`
	VisitAttendance   int                 `json:"visit_attendance"`
	VisitID           string              `json:"visit_id"`
}

type recordServiceJSON struct {
	Amount      int     `json:"amount"`
	Cost        float64 `json:"cost"`
	CostPerUnit float64 `json:"cost_per_unit"`
	CostToPay   float64 `json:"cost_to_pay"`
	Discount    int     `json:"discount"`
	FirstCost   float64 `json:"first_cost"`
	ID          int64   `json:"id"`
	ManualCost  float64 `json:"manual_cost"`
	Title       string  `json:"title"`
}

type recordStaffJSON struct {
	Avatar         string `json:"avatar"`
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	Position       any    `json:"position"`
	Rating         int    `json:"rating"`
	Specialization string `json:"specialization"`
	VotesCount     int    `json:"votes_count"`
}

type recordClientJSON struct {
	Card               string `json:"card"`
	CustomFields       []any  `json:"custom_fields"`
	Discount           int    `json:"discount"`
	DisplayName        string `json:"display_name"`
	Email              string `json:"email"`
	FailVisitsCount    int    `json:"fail_visits_count"`
	ID                 int64  `json:"id"`
	IsNew              bool   `json:"is_new"`
	Name               string `json:"name"`
	Patronymic         string `json:"patronymic"`
	Phone              any    `json:"phone"`
	SuccessVisitsCount int    `json:"success_visits_count"`
	Surname            string `json:"surname"`
}

// phoneJSON renders a phone as a JSON number when it is all digits (as YClients does for
// clients, e.g. 70001234567), else as the string.
func phoneJSON(p string) any {
	digits := strings.TrimPrefix(p, "+")
	if n, err := strconv.ParseInt(digits, 10, 64); err == nil {
		return n
	}
	return p
}

// phoneText renders a phone as "+" and its digits, as entity webhooks carry it.
func phoneText(p string) any {
	if p == "" {
		return ""
	}
	return "+" + strings.TrimPrefix(p, "+")
}

// recordsFilter is the query of GET /records/{company_id}. Dates are salon-local; zero values
// do not filter.
type recordsFilter struct {
	from, to        string // start_date, end_date: the visit's date, "YYYY-MM-DD"
	cFrom, cTo      string // c_start_date, c_end_date: the creation date
	changedAfter    time.Time
	changedBefore   time.Time
	staffID         int64
	clientID        int64
	withDeleted     bool
	page, count     int
	invalidMessages []string
}

// parseRecordsFilter reads the documented parameters; others are ignored, as YClients ignores
// them. Invalid values are collected in invalidMessages.
func parseRecordsFilter(q url.Values, loc *time.Location) recordsFilter {
	f := recordsFilter{page: 1, count: defaultRecordsCount}
	bad := func(name, want string) { f.invalidMessages = append(f.invalidMessages, name+": "+want) }
	date := func(name string) string {
		v := q.Get(name)
		if _, err := time.Parse(time.DateOnly, v); v != "" && err != nil {
			bad(name, "дата в формате YYYY-MM-DD")
		}
		return v
	}
	f.from, f.to, f.cFrom, f.cTo = date("start_date"), date("end_date"), date("c_start_date"), date("c_end_date")
	moment := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := parseDatetime(v, loc)
		if err != nil {
			if t, err = time.ParseInLocation(time.DateOnly, v, loc); err != nil {
				bad(name, "дата или дата и время")
			}
		}
		return t
	}
	f.changedAfter, f.changedBefore = moment("changed_after"), moment("changed_before")
	number := func(name string, min int64) int64 {
		v := q.Get(name)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min {
			bad(name, fmt.Sprintf("целое число не меньше %d", min))
		}
		return n
	}
	f.staffID, f.clientID = number("staff_id", 1), number("client_id", 1)
	f.page = int(cmp.Or(number("page", 1), 1))
	f.count = int(min(cmp.Or(number("count", 1), defaultRecordsCount), maxRecordsCount))
	f.withDeleted = q.Get("with_deleted") == "1" || strings.EqualFold(q.Get("with_deleted"), "true")
	return f
}

func (rf recordsFilter) match(rec *Record, loc *time.Location) bool {
	switch { // the cheap tests first: a day list of a busy salon tests thousands of records
	case rec.Deleted && !rf.withDeleted,
		!rf.changedAfter.IsZero() && rec.ChangedAt.Before(rf.changedAfter),
		!rf.changedBefore.IsZero() && rec.ChangedAt.After(rf.changedBefore),
		rf.staffID != 0 && rec.StaffID != rf.staffID,
		rf.clientID != 0 && rec.ClientID != rf.clientID:
		return false
	}
	if rf.from != "" || rf.to != "" {
		day := rec.Datetime.In(loc).Format(time.DateOnly)
		if rf.from != "" && day < rf.from || rf.to != "" && day > rf.to {
			return false
		}
	}
	if rf.cFrom != "" || rf.cTo != "" {
		created := rec.CreatedAt.In(loc).Format(time.DateOnly)
		if rf.cFrom != "" && created < rf.cFrom || rf.cTo != "" && created > rf.cTo {
			return false
		}
	}
	return true
}

// matchingRecords are copies of the salon's records rf matches, taken under the lock (a
// salon gone meanwhile has none).
func (f *Fake) matchingRecords(salonID int64, rf recordsFilter, loc *time.Location) []Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.salons[salonID]
	if !ok {
		return nil
	}
	var matched []Record
	for i := range st.salon.Records {
		if rec := &st.salon.Records[i]; rf.match(rec, loc) {
			matched = append(matched, *rec)
		}
	}
	return matched
}

// handleRecords answers GET /records/{company_id}: the matching records by visit time, one page
// of them, with meta {"page", "total_count"}.
func (f *Fake) handleRecords(w http.ResponseWriter, r *http.Request) {
	s, loc, ok := f.lookupSalonWith(w, r, "company_id", false)
	if !ok {
		return
	}
	rf := parseRecordsFilter(r.URL.Query(), loc)
	if len(rf.invalidMessages) > 0 {
		writeV2Error(w, http.StatusUnprocessableEntity, msgInvalidParams, rf.invalidMessages...)
		return
	}
	matched := f.matchingRecords(s.ID, rf, loc)
	slices.SortStableFunc(matched, func(a, b Record) int {
		return cmp.Or(a.Datetime.Compare(b.Datetime), cmp.Compare(a.ID, b.ID))
	})
	items := []*recordJSON{}
	start := min((rf.page-1)*rf.count, len(matched))
	for _, rec := range matched[start:min(start+rf.count, len(matched))] {
		item := renderRecord(s, loc, rec, phoneJSON)
		item.GoodsTransactions = &[]any{}
		items = append(items, item)
	}
	writeData(w, http.StatusOK, items, map[string]any{"page": rf.page, "total_count": len(matched)})
}

// errUnknownVisit is a visit edit whose visit ID is not the record's.
var errUnknownVisit = errors.New("yclientsfake: the record is not in this visit")

// handleVisit answers PUT /visits/{visit_id}/{record_id} {"attendance": N, "comment": "…"}:
// 2 confirmed, 1 came, 0 waiting, -1 no-show (the soft cancel). Both fields are required, as
// YClients documents them; comment replaces the record's comment (the fake's visits hold one
// record each). The record's last_change_date moves and the "update" webhook goes out, as for a
// change made in YClients. Other documented fields (services, goods transactions, payment) are
// not modelled and are ignored.
func (f *Fake) handleVisit(w http.ResponseWriter, r *http.Request) {
	visitID, ok1 := pathID(r, "visit_id")
	recordID, ok2 := pathID(r, "record_id")
	var in struct {
		Attendance json.RawMessage `json:"attendance"`
		Comment    json.RawMessage `json:"comment"`
	}
	body, _ := readBody(r)
	if err := json.Unmarshal(body, &in); err != nil {
		writeV2Error(w, http.StatusUnprocessableEntity, msgInvalidParams, "тело запроса должно быть JSON-объектом")
		return
	}
	attendance, errs := visitAttendance(in.Attendance)
	var comment string
	if json.Unmarshal(in.Comment, &comment) != nil {
		errs = append(errs, "comment: обязательное строковое поле")
	}
	if len(errs) > 0 {
		writeV2Error(w, http.StatusUnprocessableEntity, msgInvalidParams, errs...)
		return
	}
	if !ok1 || !ok2 {
		writeV2Error(w, http.StatusNotFound, msgVisitNotFound)
		return
	}
	data, err := f.setVisit(visitID, recordID, attendance, comment)
	if err != nil {
		writeV2Error(w, http.StatusNotFound, msgVisitNotFound)
		return
	}
	writeData(w, http.StatusOK, data, nil)
}

// visitAttendance reads the required attendance: an integer (or numeric string) in -1..2.
func visitAttendance(raw json.RawMessage) (int, []string) {
	var n flexInt
	if len(raw) == 0 || string(raw) == "null" || n.UnmarshalJSON(raw) != nil {
		return 0, []string{"attendance: обязательное целое поле"}
	}
	if n < -1 || n > 2 {
		return 0, []string{"attendance: 2, 1, 0 или -1"}
	}
	return int(n), nil
}

// setVisit applies a visit edit to the live record with the ID and answers the record as GET
// does. Record IDs are unique across salons in YClients; the salons are searched in ID order.
func (f *Fake) setVisit(visitID, recordID int64, attendance int, comment string) (*recordJSON, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := ErrUnknownRecord
	for _, salonID := range slices.Sorted(maps.Keys(f.salons)) {
		st := f.salons[salonID]
		for i := range st.salon.Records {
			rec := &st.salon.Records[i]
			switch {
			case rec.ID != recordID:
				continue
			case rec.Deleted:
				err = ErrRecordDeleted
				continue
			case cmp.Or(rec.VisitID, rec.ID+visitIDOffset) != visitID:
				err = errUnknownVisit
				continue
			}
			rec.Attendance, rec.Comment = attendance, comment
			rec.ChangedAt = nextChange(rec.ChangedAt, f.now())
			f.emitRecordLocked(st, *rec, "update", 1)
			return renderRecord(st.salon, st.loc, *rec, phoneJSON), nil
		}
	}
	return nil, err
}
