package yclientsfake

// Validation and parsing of the record and client control inputs.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

func checkDuplicates(n int) (int, error) {
	switch {
	case n == 0:
		return 1, nil
	case n < 0 || n > maxDuplicates:
		return 0, fmt.Errorf("%w: duplicates: от 1 до %d", ErrInvalidInput, maxDuplicates)
	}
	return n, nil
}

func checkStaff(s Salon, id int64) error {
	if !slices.ContainsFunc(s.Staff, func(st Staff) bool { return st.ID == id }) {
		return fmt.Errorf("%w: staff_id: сотрудника %d нет в филиале", ErrInvalidInput, id)
	}
	return nil
}

// checkServices validates the services and returns the record length: length when set, else
// the services' durations added up.
func checkServices(s Salon, ids []int64, length int) (int, error) {
	if len(ids) == 0 {
		return 0, fmt.Errorf("%w: service_ids: нужна хотя бы одна услуга", ErrInvalidInput)
	}
	total := 0
	for _, id := range ids {
		i := slices.IndexFunc(s.Services, func(svc Service) bool { return svc.ID == id })
		if i < 0 {
			return 0, fmt.Errorf("%w: service_ids: услуги %d нет в филиале", ErrInvalidInput, id)
		}
		total += s.Services[i].DurationSeconds
	}
	if length == 0 {
		length = total
	}
	if length <= 0 || length > maxSeanceLength {
		return 0, fmt.Errorf("%w: seance_length: от 1 до %d секунд", ErrInvalidInput, maxSeanceLength)
	}
	return length, nil
}

func checkAttendance(a int) error {
	if a < -1 || a > 2 {
		return fmt.Errorf("%w: attendance: 2, 1, 0 или -1", ErrInvalidInput)
	}
	return nil
}

// checkCosts accepts prices that are not negative, for services of the record (or the key 0).
func checkCosts(set Costs, services []int64) error {
	for id, p := range set {
		switch {
		case id != 0 && !slices.Contains(services, id):
			return fmt.Errorf("%w: cost: услуги %d нет в записи", ErrInvalidInput, id)
		case p < 0:
			return fmt.Errorf("%w: cost: цена не может быть отрицательной", ErrInvalidInput)
		}
	}
	return nil
}

// applyCosts merges checked prices into the record's (the key 0 prices every service) and
// drops prices of services the record no longer has.
func applyCosts(old map[int64]float64, set Costs, services []int64) map[int64]float64 {
	out := maps.Clone(old)
	for id, p := range set {
		if out == nil {
			out = map[int64]float64{}
		}
		if id == 0 {
			for _, sid := range services {
				out[sid] = p
			}
			continue
		}
		out[id] = p
	}
	for id := range out {
		if !slices.Contains(services, id) {
			delete(out, id)
		}
	}
	return out
}

// nextChange is the new last_change_date: now, but always a whole second after the previous
// one, so that consumers deduplicating on it never mistake a change for a duplicate.
func nextChange(prev, now time.Time) time.Time {
	t := now.Truncate(time.Second)
	if !t.After(prev) {
		t = prev.Truncate(time.Second).Add(time.Second)
	}
	return t
}

func cloneRecord(r Record) Record {
	r.ServiceIDs = slices.Clone(r.ServiceIDs)
	r.Costs = maps.Clone(r.Costs)
	return r
}

// parseDatetime reads the datetime layouts YClients uses: RFC 3339 with "+03:00" or "+0300",
// or a naive "2006-01-02 15:04:05" in the salon's zone.
func parseDatetime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, layoutISOBare} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{layoutNaive, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf(`%w: datetime: "2026-12-12T14:30:00+03:00" или "2026-12-12 14:30:00"`, ErrInvalidInput)
}

// normalizePhone turns a phone as people write it into digits with the country code: "+7 (999)
// 000-11-22", "89990001122" and "9990001122" all become 79990001122.
func normalizePhone(raw string) (string, error) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(raw) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune("+-() ", r):
		default:
			return "", fmt.Errorf("%w: client.phone: недопустимый символ", ErrInvalidInput)
		}
	}
	d := b.String()
	switch {
	case len(d) == 10:
		d = "7" + d
	case len(d) == 11 && d[0] == '8':
		d = "7" + d[1:]
	}
	if len(d) < 11 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("%w: client.phone: нужен номер с кодом страны, например 79990001122", ErrInvalidInput)
	}
	return d, nil
}

// renderClient is a client object as YClients' client API and client webhooks carry it.
func renderClient(loc *time.Location, c Client, phone func(string) any) map[string]any {
	return map[string]any{
		"id": c.ID, "name": c.Name, "surname": "", "patronymic": "", "display_name": c.Name,
		"phone": phone(c.Phone), "email": c.Email, "card": "", "birth_date": "", "comment": "",
		"discount": 0, "visits": 0, "sex_id": 0, "sex": "Неизвестно", "sms_check": 0, "sms_bot": 0,
		"spent": 0, "paid": 0, "balance": 0, "importance_id": 0, "importance": "Без класса",
		"categories": []any{}, "custom_fields": []any{},
		"last_change_date": c.ChangedAt.In(loc).Format(layoutISOBare),
	}
}
