package yclientsfake

// Decoding of POST /_fake/salons bodies: the fake's own shape of a salon, service and staff
// member, or YClients' shape of a company, service and staff member, with YClients' types (IDs
// as strings, phones as numbers, flags as 0/1/"1"). The modelled fields become the fake's
// fields; the other fields of YClients' shape are kept in Extra and answered back as given.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// salonWire is a salon body: the fake's fields and the company fields it models.
type salonWire struct {
	ID           flexInt                    `json:"id"`
	Title        flexStr                    `json:"title"`
	ShortDescr   flexStr                    `json:"short_descr"`
	Phone        flexStr                    `json:"phone"`
	Email        flexStr                    `json:"email"`
	Address      flexStr                    `json:"address"`
	City         flexStr                    `json:"city"`
	Timezone     json.RawMessage            `json:"timezone"` // IANA name, or YClients' UTC offset
	TimezoneName flexStr                    `json:"timezone_name"`
	Owner        Owner                      `json:"owner"`
	Services     []Service                  `json:"services"`
	Staff        []Staff                    `json:"staff"`
	Records      []Record                   `json:"records"`
	Status       string                     `json:"status"`
	Extra        map[string]json.RawMessage `json:"extra"`
}

// UnmarshalJSON decodes the fake's shape of a salon or YClients' shape of a company (see the
// package doc); a field in neither fails with *UnknownFieldsError.
func (s *Salon) UnmarshalJSON(b []byte) error {
	var w salonWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	extra, err := shapeExtras(b, w.Extra, reflect.TypeFor[salonWire](), companyShape)
	if err != nil {
		return err
	}
	zone, err := salonZone(w.Timezone, string(w.TimezoneName), extra)
	if err != nil {
		return err
	}
	*s = Salon{
		ID: int64(w.ID), Title: string(w.Title), ShortDescr: string(w.ShortDescr), Phone: string(w.Phone),
		Email: string(w.Email), Address: string(w.Address), City: string(w.City), Timezone: zone,
		Owner: w.Owner, Services: w.Services, Staff: w.Staff, Records: w.Records, Status: w.Status,
		Extra: nilIfEmpty(extra),
	}
	return nil
}

func nilIfEmpty(m map[string]json.RawMessage) map[string]json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	return m
}

// salonZone returns the salon's IANA zone from timezone (the fake's IANA name, or YClients' UTC
// offset, which must then match timezone_name and is kept in extra) and timezone_name.
func salonZone(tz json.RawMessage, name string, extra map[string]json.RawMessage) (string, error) {
	tz = bytes.TrimSpace(tz)
	if len(tz) == 0 || string(tz) == "null" {
		return name, nil
	}
	offset, isOffset := utcOffset(tz)
	if !isOffset {
		var zone string
		if err := json.Unmarshal(tz, &zone); err != nil {
			return "", &InvalidFieldError{Field: "timezone", Msg: "an IANA zone or a UTC offset"}
		}
		if name != "" && name != zone {
			return "", &InvalidFieldError{Field: "timezone_name", Msg: fmt.Sprintf("%s, but timezone is %s", name, zone)}
		}
		return zone, nil
	}
	if name == "" {
		return "", &InvalidFieldError{Field: "timezone_name", Msg: "required with timezone as a UTC offset"}
	}
	if loc, err := time.LoadLocation(name); err == nil && !zoneHasOffset(loc, offset) {
		return "", &InvalidFieldError{Field: "timezone",
			Msg: fmt.Sprintf("UTC offset %s is not the offset of %s", string(tz), name)}
	}
	extra["timezone"] = tz // answered back as given
	return name, nil
}

// utcOffset reads a UTC offset in seconds: 3, 5.5, "3", "+03:00", "+0300", "UTC+3", "GMT-2".
// It reports false for anything else, such as an IANA zone name.
func utcOffset(raw json.RawMessage) (int, bool) {
	var text string
	if json.Unmarshal(raw, &text) != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return 0, false
		}
		text = n.String()
	}
	s := strings.TrimSpace(text)
	if u := strings.ToUpper(s); strings.HasPrefix(u, "UTC") || strings.HasPrefix(u, "GMT") {
		s = s[3:]
	}
	sign := 1
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		sign, s = -1, rest
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	hh, mm, colon := strings.Cut(s, ":")
	if !colon && len(s) == 4 && !strings.Contains(s, ".") {
		hh, mm = s[:2], s[2:]
	}
	hours, err := strconv.ParseFloat(hh, 64)
	if err != nil || hours < 0 || hours > 14 {
		return 0, false
	}
	minutes := 0
	if mm != "" {
		if minutes, err = strconv.Atoi(mm); err != nil || minutes < 0 || minutes > 59 || hours != float64(int(hours)) {
			return 0, false
		}
	}
	return sign * (int(hours*3600) + minutes*60), true
}

// zoneHasOffset reports whether loc is at offset (seconds) now or at either solstice of this
// year, so that zones with daylight saving time match in either season.
func zoneHasOffset(loc *time.Location, offset int) bool {
	now := time.Now()
	for _, t := range []time.Time{now, time.Date(now.Year(), 1, 1, 12, 0, 0, 0, time.UTC),
		time.Date(now.Year(), 7, 1, 12, 0, 0, 0, time.UTC)} {
		if _, off := t.In(loc).Zone(); off == offset {
			return true
		}
	}
	return false
}

// shapeExtras collects the fields of b that YClients' shape (yc) has and the wire type does not
// model, over own (the "extra" field of the fake's shape). Any other field is unknown.
func shapeExtras(b []byte, own map[string]json.RawMessage, wire reflect.Type, yc map[string]reflect.Type) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	modelled := allowedFields(wire)
	extra := make(map[string]json.RawMessage, len(own))
	for k, v := range own {
		extra[k] = v
	}
	var unknown []string
	for k, v := range obj {
		_, isModelled := modelled[k]
		_, isYC := yc[k]
		switch {
		case isModelled:
		case isYC:
			extra[k] = v
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, &UnknownFieldsError{Fields: unknown}
	}
	return extra, nil
}

// serviceStaff is one entry of a YClients service's staff list: who provides it and how long.
type serviceStaff struct {
	ID                  flexInt `json:"id"`
	SeanceLength        flexInt `json:"seance_length"`
	TechnologicalCardID flexInt `json:"technological_card_id"`
}

// serviceWire is a service body: the fake's fields and the service fields it models.
type serviceWire struct {
	ID              flexInt                    `json:"id"`
	Title           flexStr                    `json:"title"`
	CategoryID      flexInt                    `json:"category_id"`
	PriceMin        flexNum                    `json:"price_min"`
	PriceMax        flexNum                    `json:"price_max"`
	DurationSeconds flexInt                    `json:"duration_seconds"`
	SeanceLength    flexInt                    `json:"seance_length"` // book_services
	Duration        flexInt                    `json:"duration"`
	Active          *flexFlag                  `json:"active"`
	StaffIDs        []flexInt                  `json:"staff_ids"`
	Staff           []serviceStaff             `json:"staff"`
	Extra           map[string]json.RawMessage `json:"extra"`
}

// UnmarshalJSON decodes the fake's shape of a service or YClients' (the services list or
// book_services). Active defaults to true. The duration is duration_seconds, seance_length or
// duration, else the longest staff[].seance_length; staff[].id are the staff who provide it.
func (s *Service) UnmarshalJSON(b []byte) error {
	var w serviceWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	extra, err := shapeExtras(b, w.Extra, reflect.TypeFor[serviceWire](), serviceShape)
	if err != nil {
		return err
	}
	out := Service{
		ID: int64(w.ID), Title: string(w.Title), CategoryID: int64(w.CategoryID),
		PriceMin: float64(w.PriceMin), PriceMax: float64(w.PriceMax), Active: w.Active == nil || bool(*w.Active),
		DurationSeconds: int(cmp.Or(w.DurationSeconds, w.SeanceLength, w.Duration)), Extra: nilIfEmpty(extra),
	}
	for _, id := range w.StaffIDs {
		out.StaffIDs = append(out.StaffIDs, int64(id))
	}
	longest := 0
	for _, st := range w.Staff {
		if !slices.Contains(out.StaffIDs, int64(st.ID)) {
			out.StaffIDs = append(out.StaffIDs, int64(st.ID))
		}
		longest = max(longest, int(st.SeanceLength))
	}
	if out.DurationSeconds == 0 {
		out.DurationSeconds = longest
	}
	*s = out
	return nil
}

// staffWire is a staff body: the fake's fields and the staff fields it models.
type staffWire struct {
	ID             flexInt                    `json:"id"`
	Name           flexStr                    `json:"name"`
	CompanyID      flexInt                    `json:"company_id"` // answered as the salon's ID
	Specialization flexStr                    `json:"specialization"`
	Position       position                   `json:"position"`
	PositionID     flexInt                    `json:"position_id"`
	Fired          flexFlag                   `json:"fired"`
	Hidden         flexFlag                   `json:"hidden"`
	Bookable       *flexFlag                  `json:"bookable"`
	WorkDays       []time.Weekday             `json:"work_days"`
	DaysOff        []string                   `json:"days_off"`
	ShiftFrom      string                     `json:"shift_from"`
	ShiftTo        string                     `json:"shift_to"`
	BreakFrom      string                     `json:"break_from"`
	BreakTo        string                     `json:"break_to"`
	Extra          map[string]json.RawMessage `json:"extra"`
}

// UnmarshalJSON decodes the fake's shape of a staff member or YClients' (the staff list or
// book_staff). Bookable defaults to !fired && !hidden.
func (s *Staff) UnmarshalJSON(b []byte) error {
	var w staffWire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	extra, err := shapeExtras(b, w.Extra, reflect.TypeFor[staffWire](), staffShape)
	if err != nil {
		return err
	}
	*s = Staff{
		ID: int64(w.ID), Name: string(w.Name), Specialization: string(w.Specialization),
		Position: w.Position.Title, PositionID: cmp.Or(int64(w.PositionID), w.Position.ID),
		Fired: bool(w.Fired), Hidden: bool(w.Hidden), Bookable: !bool(w.Fired) && !bool(w.Hidden),
		WorkDays: w.WorkDays, DaysOff: w.DaysOff, ShiftFrom: w.ShiftFrom, ShiftTo: w.ShiftTo,
		BreakFrom: w.BreakFrom, BreakTo: w.BreakTo, Extra: nilIfEmpty(extra),
	}
	if w.Bookable != nil {
		s.Bookable = bool(*w.Bookable)
	}
	return nil
}
