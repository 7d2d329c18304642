package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/yclients"
)

// How long the salon directory keeps what YClients said. A company's title, zone and phone
// hardly change, so an owner who opens the page again, or several times while the salon is
// set up, costs no YClients call for it within companyTTL; a title that does not match a
// signed redirect is read again once it is companyRecheck old (the salon was renamed). The
// integration's status changes when YClients activates it, and decides whether the page may
// pair: it is kept only statusTTL.
const (
	companyTTL     = 10 * time.Minute
	companyRecheck = 30 * time.Second
	statusTTL      = 30 * time.Second
)

// YClientsSalons is what the salon directory needs of the YClients client (*yclients.Client).
type YClientsSalons interface {
	Company(ctx context.Context, salonID int64) (yclients.Company, error)
	IntegrationStatus(ctx context.Context, salonID int64) (yclients.IntegrationStatus, error)
}

// SalonReads keeps what YClients said of salons where every api process finds it
// (*db.Store): behind a load balancer an owner's next request may reach another process.
type SalonReads interface {
	// SalonReadSince is the reading of kind kept for the salon, when it was read after since.
	SalonReadSince(ctx context.Context, salonID int64, kind string, since time.Time) (body []byte, at time.Time, ok bool, err error)
	KeepSalonReading(ctx context.Context, salonID int64, kind string, body []byte, at time.Time) error
}

// What the salon directory keeps in SalonReads.
const (
	readCompany     = "company"
	readIntegration = "integration"
)

// salonDirectory reads salons from YClients for the marketplace redirect, with a cache: in
// the process, and in SalonReads for the other processes (shared, nil when there are none).
// The company and the integration status are kept apart: when many owners connect at once and
// the page runs out of time waiting for the second read, its retry does not pay for the first
// again, whichever process it reaches.
type salonDirectory struct {
	yc     YClientsSalons
	shared SalonReads
	now    func() time.Time

	mu        sync.Mutex
	companies map[int64]cached[*activities.KnownCompany]
	statuses  map[int64]cached[string]
}

type cached[T any] struct {
	v  T
	at time.Time
}

// NewSalonDirectory is the SalonDirectory over the YClients API, sharing what it read with the
// other api processes through shared (nil: this process keeps it alone).
func NewSalonDirectory(yc YClientsSalons, shared SalonReads) SalonDirectory {
	return newSalonDirectory(yc, shared)
}

func newSalonDirectory(yc YClientsSalons, shared SalonReads) *salonDirectory {
	return &salonDirectory{yc: yc, shared: shared, now: time.Now, companies: map[int64]cached[*activities.KnownCompany]{},
		statuses: map[int64]cached[string]{}}
}

// Company implements SalonDirectory. The owner's page is waiting: the request goes first in
// the YClients budget (yclients.Urgent), as the status's does.
func (d *salonDirectory) Company(ctx context.Context, salonID int64, maxAge time.Duration) (*activities.KnownCompany, error) {
	if c, ok := kept(ctx, d, d.companies, readCompany, salonID, maxAge); ok {
		return c, nil
	}
	c, err := d.yc.Company(yclients.Urgent(ctx), salonID)
	if yclients.IsNotFound(err) {
		return nil, fmt.Errorf("salon %d: %w", salonID, ErrUnknownSalon)
	}
	if err != nil {
		return nil, err
	}
	k := &activities.KnownCompany{Title: c.Title, Phone: c.Phone, Email: c.Email, Address: c.Address, Timezone: c.Timezone}
	keep(ctx, d, d.companies, readCompany, salonID, k)
	return k, nil
}

// Integration implements SalonDirectory: "" when YClients has no integration of ours.
func (d *salonDirectory) Integration(ctx context.Context, salonID int64) (string, error) {
	if st, ok := kept(ctx, d, d.statuses, readIntegration, salonID, statusTTL); ok {
		return st, nil
	}
	st, err := d.yc.IntegrationStatus(yclients.Urgent(ctx), salonID)
	switch {
	case yclients.IsNotFound(err):
	case err != nil:
		return "", err
	}
	keep(ctx, d, d.statuses, readIntegration, salonID, st.Status)
	return st.Status, nil
}

// kept is what the process or (d.shared) another one read of the salon less than maxAge ago.
// The shared store failing costs a YClients read, nothing else.
func kept[T any](ctx context.Context, d *salonDirectory, m map[int64]cached[T], kind string, salonID int64, maxAge time.Duration) (T, bool) {
	var zero T
	d.mu.Lock()
	c, ok := m[salonID]
	d.mu.Unlock()
	now := d.now()
	if ok && now.Sub(c.at) < maxAge {
		return c.v, true
	}
	if d.shared == nil {
		return zero, false
	}
	body, at, ok, err := d.shared.SalonReadSince(ctx, salonID, kind, now.Add(-maxAge))
	var v T
	if err != nil || !ok || json.Unmarshal(body, &v) != nil {
		return zero, false
	}
	remember(d, m, salonID, v, at)
	return v, true
}

// keep keeps what YClients just said of the salon, in the process and for the others.
func keep[T any](ctx context.Context, d *salonDirectory, m map[int64]cached[T], kind string, salonID int64, v T) {
	at := d.now()
	remember(d, m, salonID, v, at)
	if d.shared == nil {
		return
	}
	if body, err := json.Marshal(v); err == nil {
		_ = d.shared.KeepSalonReading(ctx, salonID, kind, body, at) // not kept: the next process reads it again
	}
}

func remember[T any](d *salonDirectory, m map[int64]cached[T], salonID int64, v T, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(m) > 10_000 {
		clear(m) // a bound, not an eviction policy: entries serve minutes at most anyway
	}
	m[salonID] = cached[T]{v: v, at: at}
}
