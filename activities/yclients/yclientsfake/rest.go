package yclientsfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The REST answers below are deliberately as sloppy as YClients' own (reference §5): IDs and
// flags sometimes strings, prices as "1300.00", client phones as JSON numbers, three datetime
// layouts, position as an object or [].

const (
	layoutNaive    = "2006-01-02 15:04:05"
	layoutISOColon = "2006-01-02T15:04:05-07:00"
	layoutISOBare  = "2006-01-02T15:04:05-0700"
	maxScheduleDay = 62
)

// lookupSalon returns a copy of the salon (its records copied under the lock: edits change
// them in place) and its zone, writing the legacy 404 when unknown.
func (f *Fake) lookupSalon(w http.ResponseWriter, r *http.Request, param string) (Salon, *time.Location, bool) {
	return f.lookupSalonWith(w, r, param, true)
}

// lookupSalonWith is lookupSalon, with the salon's records or (withRecords false) without
// them, for a handler that picks the few it answers (matchingRecords) instead of copying all.
func (f *Fake) lookupSalonWith(w http.ResponseWriter, r *http.Request, param string, withRecords bool) (Salon, *time.Location, bool) {
	id, ok := pathID(r, param)
	if ok {
		f.mu.Lock()
		st, found := f.salons[id]
		var s Salon
		var loc *time.Location
		if found {
			s, loc = st.salon, st.loc
			s.Records = nil
			if withRecords {
				s.Records = slices.Clone(st.salon.Records)
			}
		}
		f.mu.Unlock()
		if found {
			return s, loc, true
		}
	}
	writeLegacyError(w, http.StatusNotFound, msgCompanyNotFound)
	return Salon{}, nil, false
}

func (f *Fake) handleCompany(w http.ResponseWriter, r *http.Request) {
	s, loc, ok := f.lookupSalon(w, r, "id")
	if !ok {
		return
	}
	active := 0
	for _, st := range s.Staff {
		if !st.Fired {
			active++
		}
	}
	placeholders := map[string]any{
		"public_title": s.Title, "country_id": 1, "country": "Россия", "city_id": s.ID % 1000,
		"zip": 101000, "phones": []string{s.Phone}, "coordinate_lat": 55.757, "coordinate_lon": "37.615",
		"social": map[string]any{"vk": "", "whatsapp": ""}, "site": "", "business_type_id": 1,
		"phone_confirmation": true, "active_staff_count": active,
		"logo": "https://yclients.com/images/no-master.png", "currency_short_title": "р",
		"access": map[string]any{}, "bookforms": []any{},
		"timezone": utcHours(f.now(), loc), // a given UTC offset (checked against the zone) wins
	}
	writeData(w, http.StatusOK, overlay(placeholders, s.Extra, map[string]any{
		"id": s.ID, "title": s.Title, "short_descr": s.ShortDescr, "city": s.City,
		"timezone_name": s.Timezone, "address": s.Address,
		"phone": s.Phone, "email": s.Email,
	}), map[string]any{})
}

// overlay is an answer object: the fake's placeholders for fields it does not model, then the
// fields a test gave in YClients' shape (extra, as given), then the modelled fields.
func overlay(placeholders map[string]any, extra map[string]json.RawMessage, modelled map[string]any) map[string]any {
	out := placeholders
	for k, v := range extra {
		out[k] = v
	}
	for k, v := range modelled {
		out[k] = v
	}
	return out
}

// utcHours is the zone's UTC offset at t in hours, as YClients' company "timezone" (3, or 5.5).
func utcHours(t time.Time, loc *time.Location) any {
	_, off := t.In(loc).Zone()
	if off%3600 == 0 {
		return off / 3600
	}
	return float64(off) / 3600
}

func (f *Fake) handleServices(w http.ResponseWriter, r *http.Request) {
	s, _, ok := f.lookupSalon(w, r, "id")
	if !ok {
		return
	}
	items := make([]map[string]any, 0, len(s.Services))
	for i, svc := range s.Services {
		staffIDs := svc.StaffIDs
		if len(staffIDs) == 0 {
			for _, st := range s.Staff {
				if !st.Fired {
					staffIDs = append(staffIDs, st.ID)
				}
			}
		}
		weight := len(s.Services) - i
		if i%2 == 0 {
			items = append(items, serviceListItem(svc, staffIDs, weight))
		} else {
			items = append(items, serviceBookItem(svc, staffIDs, weight))
		}
	}
	writeData(w, http.StatusOK, items, map[string]any{"total_count": len(items)})
}

// serviceListItem is the services list's documented shape: everything a string.
func serviceListItem(svc Service, staffIDs []int64, weight int) map[string]any {
	staff := make([]map[string]any, 0, len(staffIDs))
	for _, id := range staffIDs {
		staff = append(staff, map[string]any{"id": strconv.FormatInt(id, 10), "seance_length": strconv.Itoa(svc.DurationSeconds)})
	}
	placeholders := map[string]any{"discount": "0", "comment": "", "weight": strconv.Itoa(weight), "api_id": ""}
	return overlay(placeholders, svc.Extra, map[string]any{
		"id": strconv.FormatInt(svc.ID, 10), "title": svc.Title,
		"category_id": strconv.FormatInt(svc.CategoryID, 10),
		"price_min":   fmt.Sprintf("%.2f", svc.PriceMin), "price_max": fmt.Sprintf("%.2f", svc.PriceMax),
		"active": boolDigit(svc.Active), "staff": staff,
	})
}

// serviceBookItem is the book_services shape: numbers, plus a top-level seance_length.
func serviceBookItem(svc Service, staffIDs []int64, weight int) map[string]any {
	staff := make([]map[string]any, 0, len(staffIDs))
	for _, id := range staffIDs {
		staff = append(staff, map[string]any{"id": id, "seance_length": svc.DurationSeconds})
	}
	placeholders := map[string]any{"discount": 0, "comment": "", "weight": weight, "sex": 0, "image": "", "prepaid": "forbidden"}
	return overlay(placeholders, svc.Extra, map[string]any{
		"id": svc.ID, "title": svc.Title, "category_id": svc.CategoryID,
		"price_min": svc.PriceMin, "price_max": svc.PriceMax, "active": boolInt(svc.Active),
		"seance_length": svc.DurationSeconds, "staff": staff,
	})
}

func (f *Fake) handleStaff(w http.ResponseWriter, r *http.Request) {
	s, _, ok := f.lookupSalon(w, r, "id")
	if !ok {
		return
	}
	items := make([]map[string]any, 0, len(s.Staff))
	for i, st := range s.Staff {
		placeholders := map[string]any{
			"avatar": "https://yclients.com/images/no-master-sm.png", "avatar_big": "https://yclients.com/images/no-master.png",
			"status": 0, "rating": 5, "votes_count": 0, "information": "<span></span>", "weight": len(s.Staff) - i,
		}
		modelled := map[string]any{
			"id": st.ID, "name": st.Name, "company_id": s.ID, "specialization": st.Specialization,
			"position": positionJSON(i, st), "fired": boolInt(st.Fired), "hidden": boolInt(st.Hidden),
			"bookable": st.Bookable,
		}
		if i%3 == 1 {
			modelled["id"] = strconv.FormatInt(st.ID, 10)
			modelled["hidden"] = boolDigit(st.Hidden)
			placeholders["rating"] = "4.9"
		}
		items = append(items, overlay(placeholders, st.Extra, modelled))
	}
	writeData(w, http.StatusOK, items, map[string]any{"total_count": len(items)})
}

// positionJSON renders a position as {"id","title"}, or [] when empty (PHP's empty array).
func positionJSON(i int, st Staff) any {
	if st.Position == "" {
		return []any{}
	}
	return map[string]any{"id": cmp.Or(st.PositionID, int64(i+1)), "title": st.Position}
}

func (f *Fake) handleSchedules(w http.ResponseWriter, r *http.Request) {
	s, loc, ok := f.lookupSalon(w, r, "id")
	if !ok {
		return
	}
	q := r.URL.Query()
	from, err1 := time.Parse(time.DateOnly, q.Get("start_date"))
	to, err2 := time.Parse(time.DateOnly, q.Get("end_date"))
	switch {
	case err1 != nil || err2 != nil:
		writeV2Error(w, http.StatusUnprocessableEntity, msgInvalidParams, "start_date и end_date обязательны, формат YYYY-MM-DD")
		return
	case to.Before(from) || to.Sub(from) > maxScheduleDay*24*time.Hour:
		writeV2Error(w, http.StatusUnprocessableEntity, msgInvalidParams, fmt.Sprintf("период должен быть от 1 до %d дней", maxScheduleDay))
		return
	}
	var only []int64
	for _, v := range append(q["staff_ids[]"], q["staff_ids"]...) {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			only = append(only, id)
		}
	}
	busy := slices.Contains(q["include[]"], "busy_intervals")
	var items []map[string]any
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		date := d.Format(time.DateOnly)
		for _, st := range s.Staff {
			if st.Fired || (len(only) > 0 && !slices.Contains(only, st.ID)) {
				continue
			}
			item := map[string]any{"staff_id": st.ID, "date": date, "slots": []any{}}
			if slots := workSlots(st, d); len(slots) > 0 {
				item["slots"] = slots
			} else {
				item["off_day_type"] = 1
			}
			if busy {
				item["busy_intervals"] = busyIntervals(s, loc, st.ID, date)
			}
			items = append(items, item)
		}
	}
	if items == nil {
		items = []map[string]any{}
	}
	writeData(w, http.StatusOK, items, map[string]any{"count": len(items)})
}

// workSlots is a staff member's working time on date d (a date at UTC midnight).
func workSlots(st Staff, d time.Time) []map[string]string {
	days := st.WorkDays
	if len(days) == 0 {
		days = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	}
	if !slices.Contains(days, d.Weekday()) || slices.Contains(st.DaysOff, d.Format(time.DateOnly)) {
		return nil
	}
	from, to := orDefault(st.ShiftFrom, "10:00"), orDefault(st.ShiftTo, "20:00")
	if st.BreakFrom != "" && st.BreakTo != "" {
		return []map[string]string{{"from": from, "to": st.BreakFrom}, {"from": st.BreakTo, "to": to}}
	}
	return []map[string]string{{"from": from, "to": to}}
}

func busyIntervals(s Salon, loc *time.Location, staffID int64, date string) []map[string]any {
	out := []map[string]any{}
	for _, rec := range s.Records {
		start := rec.Datetime.In(loc)
		if rec.StaffID != staffID || rec.Deleted || start.Format(time.DateOnly) != date {
			continue
		}
		end := start.Add(time.Duration(rec.SeanceLength) * time.Second)
		out = append(out, map[string]any{"entity_type": "record", "entity_id": rec.ID,
			"from": start.Format("15:04"), "to": end.Format("15:04")})
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func boolDigit(b bool) string { return strconv.Itoa(boolInt(b)) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
