package yclientsfake

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Connection statuses of the application in a salon (YClients spells "freezed").
const (
	StatusPending     = "pending"
	StatusActive      = "active"
	StatusFreezed     = "freezed"
	StatusUninstalled = "uninstalled"
)

// Log sources, as in YClients' status logs.
const (
	sourceMarketplace = "marketplace"
	sourcePartnerAPI  = "partner_api"
)

// Salon is one YClients company (marketplace "salon") held by the fake. It doubles as the JSON
// body of POST /_fake/salons, which also accepts the company as YClients' GET /company/{id}
// answers it (IDs as strings, the phone as a number, timezone_name with the IANA zone and
// timezone with the UTC offset), with staff and services in the shapes of YClients' lists; see
// UnmarshalJSON.
type Salon struct {
	ID         int64     `json:"id"`
	Title      string    `json:"title"`
	ShortDescr string    `json:"short_descr,omitempty"`
	Phone      string    `json:"phone,omitempty"`
	Email      string    `json:"email,omitempty"`
	Address    string    `json:"address,omitempty"`
	City       string    `json:"city,omitempty"`
	Timezone   string    `json:"timezone,omitempty"` // IANA name; default Europe/Moscow
	Owner      Owner     `json:"owner"`
	Services   []Service `json:"services,omitempty"`
	Staff      []Staff   `json:"staff,omitempty"`
	Records    []Record  `json:"records,omitempty"`
	// Status is the initial connection status of the application; "" means pending, as if
	// the owner had just clicked "Подключить".
	Status string `json:"status,omitempty"`
	// Extra holds the fields of YClients' company object that the fake does not model (social,
	// bookforms, the UTC offset, ...), as they were given; GET /company/{id} answers them back.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Owner is the YClients user who connects the application; it becomes the redirect's
// user_data.
type Owner struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Phone      string `json:"phone"`
	Email      string `json:"email"`
	IsApproved bool   `json:"is_approved"`
	Avatar     string `json:"avatar"`
}

// Service is one service of a salon.
type Service struct {
	ID              int64   `json:"id"`
	Title           string  `json:"title"`
	CategoryID      int64   `json:"category_id,omitempty"`
	PriceMin        float64 `json:"price_min"`
	PriceMax        float64 `json:"price_max"`
	DurationSeconds int     `json:"duration_seconds"`
	// Active defaults to true when decoded from JSON.
	Active bool `json:"active"`
	// StaffIDs are the staff who provide it; empty means every staff member.
	StaffIDs []int64 `json:"staff_ids,omitempty"`
	// Extra holds the fields of YClients' service object that the fake does not model, as they
	// were given; the services list answers them back.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Staff is one member of a salon's team, with a weekly working pattern that the fake turns
// into schedules for any requested dates.
type Staff struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	Specialization string `json:"specialization,omitempty"`
	Position       string `json:"position,omitempty"` // "" is rendered as [] like YClients does
	// PositionID is the position's ID in YClients' {"id","title"}; 0 numbers positions in order.
	PositionID int64 `json:"position_id,omitempty"`
	Fired      bool  `json:"fired,omitempty"`
	Hidden     bool  `json:"hidden,omitempty"`
	// Bookable defaults to !Fired && !Hidden when decoded from JSON.
	Bookable bool `json:"bookable"`
	// WorkDays are the weekdays worked (0 = Sunday); empty means Monday to Friday.
	WorkDays []time.Weekday `json:"work_days,omitempty"`
	// DaysOff are extra dates ("YYYY-MM-DD") not worked.
	DaysOff []string `json:"days_off,omitempty"`
	// ShiftFrom and ShiftTo bound the working day ("HH:MM"; default 10:00-20:00).
	ShiftFrom string `json:"shift_from,omitempty"`
	ShiftTo   string `json:"shift_to,omitempty"`
	// BreakFrom and BreakTo, when set, split the day into two slots.
	BreakFrom string `json:"break_from,omitempty"`
	BreakTo   string `json:"break_to,omitempty"`
	// Extra holds the fields of YClients' staff object that the fake does not model, as they
	// were given; the staff list answers them back.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Record is one appointment in a salon.
type Record struct {
	ID int64 `json:"id"`
	// VisitID is the record's visit (YClients' visit_id), the key of PUT /visits/{visit_id}/
	// {record_id}; 0 gives ID + 7000000.
	VisitID      int64     `json:"visit_id,omitempty"`
	StaffID      int64     `json:"staff_id"`
	ServiceIDs   []int64   `json:"service_ids"`
	ClientID     int64     `json:"client_id,omitempty"`
	ClientName   string    `json:"client_name,omitempty"` // "" renders "client": null
	ClientPhone  string    `json:"client_phone,omitempty"`
	ClientEmail  string    `json:"client_email,omitempty"`
	Datetime     time.Time `json:"datetime"`
	SeanceLength int       `json:"seance_length"`
	Attendance   int       `json:"attendance,omitempty"`
	Deleted      bool      `json:"deleted,omitempty"`
	Comment      string    `json:"comment,omitempty"`
	// Costs are prices set on this record by service ID (a manual price or discount); services
	// not in it cost their PriceMin.
	Costs     map[int64]float64 `json:"costs,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	ChangedAt time.Time         `json:"changed_at"`
}

// Client is one client (customer) in a salon's client base. Phone is digits only, e.g.
// 79990001122.
type Client struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Phone     string    `json:"phone"`
	Email     string    `json:"email,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

// StatusLog is one transition of the application-salon link.
type StatusLog struct {
	ChangedAt  time.Time
	StatusFrom string
	StatusTo   string
	Source     string
}

// salonState is a Salon plus the fake's bookkeeping for the application link.
type salonState struct {
	salon        Salon
	loc          *time.Location
	status       string
	createdAt    time.Time // when the link was created (last uninstalled → pending)
	pendingSince time.Time
	logs         []StatusLog
	clients      []Client // the client base: the seeded records' clients plus those created since
}

// AddSalon adds or replaces a salon. A salon whose Status is empty starts pending, as if the
// owner had just clicked "Подключить".
func (f *Fake) AddSalon(s Salon) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addSalonLocked(s)
}

func (f *Fake) addSalonLocked(s Salon) {
	if s.Timezone == "" {
		s.Timezone = "Europe/Moscow"
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		loc = time.UTC
	}
	s.Services = slices.Clone(s.Services)
	s.Staff = slices.Clone(s.Staff)
	s.Records = slices.Clone(s.Records)
	var clients []Client
	for i, rec := range s.Records {
		s.Records[i].ServiceIDs = slices.Clone(rec.ServiceIDs)
		s.Records[i].Costs = maps.Clone(rec.Costs)
		if rec.VisitID == 0 {
			s.Records[i].VisitID = rec.ID + visitIDOffset
		}
		f.nextRecordID = max(f.nextRecordID, rec.ID+1)
		if rec.ClientID > 0 && !slices.ContainsFunc(clients, func(c Client) bool { return c.ID == rec.ClientID }) {
			clients = append(clients, Client{ID: rec.ClientID, Name: rec.ClientName, Phone: rec.ClientPhone,
				Email: rec.ClientEmail, ChangedAt: rec.CreatedAt})
			f.nextClientID = max(f.nextClientID, rec.ClientID+1)
		}
	}
	status := s.Status
	if status == "" {
		status = StatusPending
	}
	now := f.now()
	st := &salonState{salon: s, loc: loc, status: StatusUninstalled, createdAt: now, clients: clients}
	f.salons[s.ID] = st
	f.setStatusLocked(st, status, sourceMarketplace)
}

// Status returns the application's connection status in the salon, or "" for an unknown salon.
func (f *Fake) Status(salonID int64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st, ok := f.salons[salonID]; ok {
		return st.status
	}
	return ""
}

// SetStatus forces the connection status (pending restarts the activation window). It does
// nothing for an unknown salon and sends no webhook; see Lifecycle for that.
func (f *Fake) SetStatus(salonID int64, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st, ok := f.salons[salonID]; ok {
		f.setStatusLocked(st, status, sourceMarketplace)
	}
}

// setStatusLocked moves the link to status and logs the transition. Entering pending restarts
// the activation window; leaving uninstalled creates a new link.
func (f *Fake) setStatusLocked(st *salonState, status, source string) {
	now := f.now()
	if status == StatusPending {
		st.pendingSince = now
	}
	if st.status == status {
		return
	}
	if st.status == StatusUninstalled {
		st.createdAt = now
	}
	st.logs = append(st.logs, StatusLog{ChangedAt: now, StatusFrom: st.status, StatusTo: status, Source: source})
	st.status = status
}

// validStatus reports whether s is one of the four connection statuses.
func validStatus(s string) bool {
	switch s {
	case StatusPending, StatusActive, StatusFreezed, StatusUninstalled:
		return true
	}
	return false
}

// Salon returns a copy of a salon as the fake now holds it.
func (f *Fake) Salon(salonID int64) (Salon, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.salons[salonID]
	if !ok {
		return Salon{}, false
	}
	s := st.salon
	s.Services = append([]Service(nil), s.Services...)
	s.Staff = append([]Staff(nil), s.Staff...)
	s.Records = append([]Record(nil), s.Records...)
	return s, true
}
