package yclientsfake

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
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

// lookupSalon returns a copy of the salon and its zone, writing the legacy 404 when unknown.
func (f *Fake) lookupSalon(w http.ResponseWriter, r *http.Request, param string) (Salon, *time.Location, bool) {
	id, ok := pathID(r, param)
	if ok {
		f.mu.Lock()
		st, found := f.salons[id]
		var s Salon
		var loc *time.Location
		if found {
			s, loc = st.salon, st.loc
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
	s, _, ok := f.lookupSalon(w, r, "id")
	if !ok {
		return
	}
	active := 0
	for _, st := range s.Staff {
		if !st.Fired {
			active++
		}
	}
	writeData(w, http.StatusOK, map[string]any{
		"id": s.ID, "title": s.Title, "short_descr": s.ShortDescr, "public_title": s.Title,
		"country_id": 1, "country": "Россия", "city_id": s.ID % 1000, "city": s.City,
		"timezone_name": s.Timezone, "address": s.Address, "zip": 101000,
		"phone": s.Phone, "email": s.Email, "phones": []string{s.Phone},
		"coordinate_lat": 55.757, "coordinate_lon": "37.615",
		"social": map[string]any{"vk": "", "whatsapp": ""}, "site": "",
		"business_type_id": 1, "phone_confirmation": true, "active_staff_count": active,
		"logo": "https://yclients.com/images/no-master.png", "currency_short_title": "р",
		"access": map[string]any{}, "bookforms": []any{},
	}, map[string]any{})
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
		if i%2 == 0 {
			// The list endpoint's documented shape: everything a string.
			staff := make([]map[string]any, 0, len(staffIDs))
			for _, id := range staffIDs {
				staff = append(staff, map[string]any{"id": strconv.FormatInt(id, 10), "seance_length": strconv.Itoa(svc.DurationSeconds)})
			}
			items = append(items, map[string]any{
				"id": strconv.FormatInt(svc.ID, 10), "title": svc.Title,
				"category_id": strconv.FormatInt(svc.CategoryID, 10),
				"price_min":   fmt.Sprintf("%.2f", svc.PriceMin), "price_max": fmt.Sprintf("%.2f", svc.PriceMax),
				"discount": "0", "comment": "", "weight": strconv.Itoa(len(s.Services) - i),
				"active": boolDigit(svc.Active), "api_id": "", "staff": staff,
			})
			continue
		}
		// The book_services shape: numbers, plus a top-level seance_length.
		staff := make([]map[string]any, 0, len(staffIDs))
		for _, id := range staffIDs {
			staff = append(staff, map[string]any{"id": id, "seance_length": svc.DurationSeconds})
		}
		items = append(items, map[string]any{
			"id": svc.ID, "title": svc.Title, "category_id": svc.CategoryID,
			"price_min": svc.PriceMin, "price_max": svc.PriceMax, "discount": 0, "comment": "",
			"weight": len(s.Services) - i, "active": boolInt(svc.Active), "sex": 0, "image": "",
			"prepaid": "forbidden", "seance_length": svc.DurationSeconds, "staff": staff,
		})
	}
	writeData(w, http.StatusOK, items, map[string]any{"total_count": len(items)})
}

func (f *Fake) handleStaff(w http.ResponseWriter, r *http.Request) {
	s, _, ok := f.lookupSalon(w, r, "id")
	if !ok {
		return
	}
	items := make([]map[string]any, 0, len(s.Staff))
	for i, st := range s.Staff {
		item := map[string]any{
			"id": st.ID, "name": st.Name, "company_id": s.ID, "specialization": st.Specialization,
			"position": positionJSON(i, st.Position), "avatar": "https://yclients.com/images/no-master-sm.png",
			"avatar_big": "https://yclients.com/images/no-master.png", "fired": boolInt(st.Fired),
			"status": 0, "hidden": boolInt(st.Hidden), "bookable": st.Bookable,
			"rating": 5, "votes_count": 0, "information": "<span></span>", "weight": len(s.Staff) - i,
		}
		if i%3 == 1 {
			item["id"] = strconv.FormatInt(st.ID, 10)
			item["hidden"] = boolDigit(st.Hidden)
			item["rating"] = "4.9"
		}
		items = append(items, item)
	}
	writeData(w, http.StatusOK, items, map[string]any{"total_count": len(items)})
}

// positionJSON renders a position as {"id","title"}, or [] when empty (PHP's empty array).
func positionJSON(i int, title string) any {
	if title == "" {
		return []any{}
	}
	return map[string]any{"id": i + 1, "title": title}
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
func renderRecord(s Salon, loc *time.Location, rec Record, phone func(string) any) map[string]any {
	start := rec.Datetime.In(loc)
	services := []map[string]any{}
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
			services = append(services, map[string]any{
				"id": svc.ID, "title": svc.Title, "cost": cost, "cost_to_pay": cost,
				"manual_cost": cost, "cost_per_unit": cost, "discount": discount,
				"first_cost": svc.PriceMin, "amount": 1,
			})
		}
	}
	staff := map[string]any{}
	if i := slices.IndexFunc(s.Staff, func(st Staff) bool { return st.ID == rec.StaffID }); i >= 0 {
		st := s.Staff[i]
		staff = map[string]any{"id": st.ID, "name": st.Name, "specialization": st.Specialization,
			"position": positionJSON(i, st.Position), "avatar": "", "rating": 0, "votes_count": 0}
	}
	var client any // null, as YClients sends for records without a client
	if rec.ClientName != "" {
		client = map[string]any{
			"id": rec.ClientID, "name": rec.ClientName, "surname": "", "patronymic": "",
			"display_name": rec.ClientName, "phone": phone(rec.ClientPhone), "card": "",
			"email": rec.ClientEmail, "success_visits_count": 3, "fail_visits_count": 0,
			"discount": 0, "is_new": false, "custom_fields": []any{},
		}
	}
	return map[string]any{
		"id": rec.ID, "company_id": s.ID, "staff_id": rec.StaffID, "services": services,
		"staff": staff, "client": client,
		"date":             start.Format(layoutNaive),
		"datetime":         start.Format(layoutISOColon),
		"create_date":      rec.CreatedAt.In(loc).Format(layoutISOBare),
		"last_change_date": rec.ChangedAt.In(loc).Format(layoutISOBare),
		"comment":          rec.Comment, "online": true, "visit_attendance": rec.Attendance,
		"attendance": rec.Attendance, "confirmed": 1, "seance_length": rec.SeanceLength,
		"length": rec.SeanceLength, "sms_before": 0, "sms_now": 0, "email_now": 0, "notified": 0,
		"master_request": 1, "api_id": "", "from_url": "", "visit_id": strconv.FormatInt(rec.ID+7000000, 10),
		"created_user_id": 0, "deleted": rec.Deleted, "paid_full": 0, "prepaid": false,
		"prepaid_confirmed": false, "record_labels": []any{}, "activity_id": 0,
		"custom_fields": []any{}, "documents": []any{}, "sms_remain_hours": 5,
		"email_remain_hours": 1, "bookform_id": 0, "record_from": "", "is_mobile": 0,
	}
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
