package yclients

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// Company is a salon (YClients "company", the marketplace "salon"/branch).
type Company struct {
	ID         int64
	Title      string
	Phone      string
	Email      string
	Address    string
	City       string
	Timezone   string // IANA name from timezone_name, e.g. "Europe/Moscow"
	ShortDescr string
}

// Service is one bookable service of a salon.
type Service struct {
	ID         int64
	Title      string
	CategoryID int64
	PriceMin   float64
	PriceMax   float64
	// DurationSeconds is the service's seance length: the top-level seance_length when present,
	// otherwise the longest staff[].seance_length, otherwise zero.
	DurationSeconds int
	Active          bool
}

// Staff is one member of a salon's team.
type Staff struct {
	ID             int64
	Name           string
	Specialization string
	// Position is the position title; YClients sends {"id":1,"title":"…"}, {} or [].
	Position string
	Fired    bool
	Hidden   bool
	// Bookable is true when clients may book this person online. When the API omits the flag,
	// it is derived as !Fired && !Hidden.
	Bookable bool
}

// ScheduleDay is one staff member's working time on one date.
type ScheduleDay struct {
	StaffID   int64
	Date      string // "YYYY-MM-DD" in the salon's time zone
	IsWorking bool
	Slots     []Slot
}

// Slot is a working interval within a day, in the salon's local time.
type Slot struct {
	From string // "HH:MM"
	To   string // "HH:MM"
}

// Record is one appointment.
type Record struct {
	ID        int64
	CompanyID int64
	StaffID   int64
	Staff     RecordStaff
	Services  []RecordService
	// Client is nil for records without a client (YClients sends "client": null).
	Client *RecordClient
	// Datetime is the start with the offset YClients sent (the salon's zone).
	Datetime     time.Time
	SeanceLength int // seconds
	Attendance   int // 2 confirmed, 1 came, 0 waiting, -1 no-show
	Deleted      bool
	Comment      string
	// VisitID is the record's visit, the key of SetAttendance.
	VisitID int64
	// CreateDate and LastChangeDate keep the offset YClients sent ("+0900").
	CreateDate     time.Time
	LastChangeDate time.Time

	// zoneless are the times that came without an offset, for In.
	zoneless recordTimes
}

// recordTimes are a record's times as they came.
type recordTimes struct{ start, created, changed FlexTime }

// In is the record with the times that came without an offset (a "date" without "datetime",
// a zone-less "datetime") read as clock times in loc, the salon's zone: YClients writes them
// in the salon's zone, and reading them as UTC would be hours off. Call it on a decoded
// record; times with an offset are kept.
func (r Record) In(loc *time.Location) Record {
	r.Datetime = r.zoneless.start.In(loc)
	r.CreateDate = r.zoneless.created.In(loc)
	r.LastChangeDate = r.zoneless.changed.In(loc)
	return r
}

// RecordStaff is the staff member a record is booked with.
type RecordStaff struct {
	ID   int64
	Name string
}

// RecordService is one service within a record.
type RecordService struct {
	ID    int64
	Title string
	Cost  float64
}

// RecordClient is the client of a record. Phone and Email are personal data: do not log them.
type RecordClient struct {
	ID    int64
	Name  string
	Phone string
	Email string
}

// Wire shapes: what the API sends, decoded with the Flex types, then converted.

type wireCompany struct {
	ID           FlexInt    `json:"id"`
	Title        FlexString `json:"title"`
	Phone        FlexString `json:"phone"`
	Email        FlexString `json:"email"`
	Address      FlexString `json:"address"`
	City         FlexString `json:"city"`
	TimezoneName FlexString `json:"timezone_name"`
	ShortDescr   FlexString `json:"short_descr"`
}

func (w wireCompany) toCompany() Company {
	return Company{
		ID: int64(w.ID), Title: string(w.Title), Phone: string(w.Phone), Email: string(w.Email),
		Address: string(w.Address), City: string(w.City), Timezone: string(w.TimezoneName),
		ShortDescr: string(w.ShortDescr),
	}
}

type wireService struct {
	ID           FlexInt    `json:"id"`
	Title        FlexString `json:"title"`
	CategoryID   FlexInt    `json:"category_id"`
	PriceMin     FlexFloat  `json:"price_min"`
	PriceMax     FlexFloat  `json:"price_max"`
	Active       FlexBool   `json:"active"`
	SeanceLength *FlexInt   `json:"seance_length"`
	Staff        []struct {
		ID           FlexInt `json:"id"`
		SeanceLength FlexInt `json:"seance_length"`
	} `json:"staff"`
}

func (w wireService) toService() Service {
	s := Service{
		ID: int64(w.ID), Title: string(w.Title), CategoryID: int64(w.CategoryID),
		PriceMin: float64(w.PriceMin), PriceMax: float64(w.PriceMax), Active: bool(w.Active),
	}
	if w.SeanceLength != nil && *w.SeanceLength > 0 {
		s.DurationSeconds = int(*w.SeanceLength)
		return s
	}
	for _, st := range w.Staff {
		s.DurationSeconds = max(s.DurationSeconds, int(st.SeanceLength))
	}
	return s
}

type wireStaff struct {
	ID             FlexInt      `json:"id"`
	Name           FlexString   `json:"name"`
	Specialization FlexString   `json:"specialization"`
	Position       flexPosition `json:"position"`
	Fired          FlexBool     `json:"fired"`
	Hidden         FlexBool     `json:"hidden"`
	Bookable       *FlexBool    `json:"bookable"`
}

func (w wireStaff) toStaff() Staff {
	s := Staff{
		ID: int64(w.ID), Name: string(w.Name), Specialization: string(w.Specialization),
		Position: string(w.Position), Fired: bool(w.Fired), Hidden: bool(w.Hidden),
	}
	if w.Bookable != nil {
		s.Bookable = bool(*w.Bookable)
	} else {
		s.Bookable = !s.Fired && !s.Hidden
	}
	return s
}

// flexPosition is a staff position: {"id":1,"title":"…"}, {}, [], null or a plain string.
type flexPosition string

// UnmarshalJSON implements json.Unmarshaler.
func (p *flexPosition) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*p = ""
	switch {
	case len(b) == 0 || b[0] == '[' || string(b) == "null":
		return nil
	case b[0] == '{':
		var obj struct {
			Title FlexString `json:"title"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		*p = flexPosition(obj.Title)
		return nil
	default:
		var s FlexString
		if err := s.UnmarshalJSON(b); err != nil {
			return err
		}
		*p = flexPosition(s)
		return nil
	}
}

type wireScheduleDay struct {
	StaffID   FlexInt    `json:"staff_id"`
	Date      FlexString `json:"date"`
	IsWorking *FlexBool  `json:"is_working"`
	Slots     []struct {
		From FlexString `json:"from"`
		To   FlexString `json:"to"`
	} `json:"slots"`
}

func (w wireScheduleDay) toScheduleDay() ScheduleDay {
	d := ScheduleDay{StaffID: int64(w.StaffID), Date: string(w.Date)}
	for _, s := range w.Slots {
		d.Slots = append(d.Slots, Slot{From: string(s.From), To: string(s.To)})
	}
	if w.IsWorking != nil {
		d.IsWorking = bool(*w.IsWorking)
	} else {
		d.IsWorking = len(d.Slots) > 0
	}
	return d
}

type wireRecord struct {
	ID             FlexInt             `json:"id"`
	CompanyID      FlexInt             `json:"company_id"`
	StaffID        FlexInt             `json:"staff_id"`
	Staff          json.RawMessage     `json:"staff"` // object, or [] / null when absent
	Services       []wireRecordService `json:"services"`
	Client         json.RawMessage     `json:"client"` // object, or null / [] for no client
	Date           FlexTime            `json:"date"`
	Datetime       FlexTime            `json:"datetime"`
	SeanceLength   FlexInt             `json:"seance_length"`
	Length         FlexInt             `json:"length"`
	Attendance     FlexInt             `json:"attendance"`
	Deleted        FlexBool            `json:"deleted"`
	Comment        FlexString          `json:"comment"`
	VisitID        FlexInt             `json:"visit_id"`
	CreateDate     FlexTime            `json:"create_date"`
	LastChangeDate FlexTime            `json:"last_change_date"`
}

type wireRecordService struct {
	ID    FlexInt    `json:"id"`
	Title FlexString `json:"title"`
	Cost  FlexFloat  `json:"cost"`
}

type wireRecordStaff struct {
	ID   FlexInt    `json:"id"`
	Name FlexString `json:"name"`
}

type wireRecordClient struct {
	ID    FlexInt    `json:"id"`
	Name  FlexString `json:"name"`
	Phone FlexString `json:"phone"`
	Email FlexString `json:"email"`
}

// decodeObject decodes raw into v when raw is a JSON object; PHP-style [] and null mean absent.
func decodeObject(raw json.RawMessage, v any) (bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return false, nil
	}
	if fs, ok := v.(fieldScanner); ok {
		if scanFields(raw, fs) {
			return true, nil
		}
		reflect.ValueOf(v).Elem().SetZero() // encoding/json starts from what scanFields left
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, err
	}
	return true, nil
}

func (w wireRecord) toRecord() (Record, error) {
	r := Record{
		ID: int64(w.ID), CompanyID: int64(w.CompanyID), StaffID: int64(w.StaffID),
		Datetime: w.Datetime.Time, SeanceLength: int(w.SeanceLength), Attendance: int(w.Attendance),
		Deleted: bool(w.Deleted), Comment: string(w.Comment), VisitID: int64(w.VisitID),
		CreateDate: w.CreateDate.Time, LastChangeDate: w.LastChangeDate.Time,
	}
	r.zoneless = recordTimes{start: w.Datetime, created: w.CreateDate, changed: w.LastChangeDate}
	if r.Datetime.IsZero() {
		r.Datetime = w.Date.Time // "date" has no offset: In reads it in the salon's zone
		r.zoneless.start = w.Date
	}
	if r.SeanceLength == 0 {
		r.SeanceLength = int(w.Length)
	}
	var staff wireRecordStaff
	if ok, err := decodeObject(w.Staff, &staff); err != nil {
		return Record{}, fmt.Errorf("record staff: %w", err)
	} else if ok {
		r.Staff = RecordStaff{ID: int64(staff.ID), Name: string(staff.Name)}
		if r.StaffID == 0 {
			r.StaffID = r.Staff.ID
		}
	}
	for _, s := range w.Services {
		r.Services = append(r.Services, RecordService{ID: int64(s.ID), Title: string(s.Title), Cost: float64(s.Cost)})
	}
	var client wireRecordClient
	if ok, err := decodeObject(w.Client, &client); err != nil {
		return Record{}, fmt.Errorf("record client: %w", err)
	} else if ok && (client.ID != 0 || client.Name != "" || client.Phone != "") {
		r.Client = &RecordClient{
			ID: int64(client.ID), Name: string(client.Name),
			Phone: string(client.Phone), Email: string(client.Email),
		}
	}
	return r, nil
}

// DecodeRecord decodes a record object as GET /record/{company_id}/{record_id} returns it
// inside `data`, which is also the `data` of a record webhook.
func DecodeRecord(data []byte) (Record, error) {
	var w wireRecord
	if err := decodeValue(data, &w); err != nil {
		return Record{}, fmt.Errorf("decode record: %w", err)
	}
	return w.toRecord()
}
