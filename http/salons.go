package httpapi

import (
	"context"
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

// salonDirectory reads salons from YClients for the marketplace redirect, with a cache.
// The company and the integration status are kept apart: when many owners connect at once and
// the page runs out of time waiting for the second read, its retry does not pay for the first
// again.
type salonDirectory struct {
	yc  YClientsSalons
	now func() time.Time

	mu        sync.Mutex
	companies map[int64]cached[*activities.KnownCompany]
	statuses  map[int64]cached[string]
}

type cached[T any] struct {
	v  T
	at time.Time
}

// NewSalonDirectory is the SalonDirectory over the YClients API.
func NewSalonDirectory(yc YClientsSalons) SalonDirectory { return newSalonDirectory(yc) }

func newSalonDirectory(yc YClientsSalons) *salonDirectory {
	return &salonDirectory{yc: yc, now: time.Now, companies: map[int64]cached[*activities.KnownCompany]{},
		statuses: map[int64]cached[string]{}}
}

// Company implements SalonDirectory. The owner's page is waiting: the request goes first in
// the YClients budget (yclients.Urgent), as the status's does.
func (d *salonDirectory) Company(ctx context.Context, salonID int64, maxAge time.Duration) (*activities.KnownCompany, error) {
	if c, ok := lookup(d, d.companies, salonID, maxAge); ok {
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
	store(d, d.companies, salonID, k)
	return k, nil
}

// Integration implements SalonDirectory: "" when YClients has no integration of ours.
func (d *salonDirectory) Integration(ctx context.Context, salonID int64) (string, error) {
	if st, ok := lookup(d, d.statuses, salonID, statusTTL); ok {
		return st, nil
	}
	st, err := d.yc.IntegrationStatus(yclients.Urgent(ctx), salonID)
	switch {
	case yclients.IsNotFound(err):
	case err != nil:
		return "", err
	}
	store(d, d.statuses, salonID, st.Status)
	return st.Status, nil
}

func lookup[T any](d *salonDirectory, m map[int64]cached[T], salonID int64, maxAge time.Duration) (T, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := m[salonID]
	if !ok || d.now().Sub(c.at) >= maxAge {
		var zero T
		return zero, false
	}
	return c.v, true
}

func store[T any](d *salonDirectory, m map[int64]cached[T], salonID int64, v T) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(m) > 10_000 {
		clear(m) // a bound, not an eviction policy: entries serve minutes at most anyway
	}
	m[salonID] = cached[T]{v: v, at: d.now()}
}
