package httpapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/activities/yclients"
)

// salonTTL is how long a salon read from YClients serves the register page: an owner who
// reloads the page does not cost YClients calls again.
const salonTTL = 30 * time.Second

// YClientsSalons is what the salon directory needs of the YClients client (*yclients.Client).
type YClientsSalons interface {
	Company(ctx context.Context, salonID int64) (yclients.Company, error)
	IntegrationStatus(ctx context.Context, salonID int64) (yclients.IntegrationStatus, error)
}

// salonDirectory reads salons from YClients for the marketplace redirect, with a short cache.
// The company and the integration status are kept apart: when many owners connect at once and
// the page runs out of time waiting for the second read, its retry does not pay for the first
// again.
type salonDirectory struct {
	yc  YClientsSalons
	ttl time.Duration

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
	return &salonDirectory{yc: yc, ttl: salonTTL, companies: map[int64]cached[*activities.KnownCompany]{},
		statuses: map[int64]cached[string]{}}
}

// Salon implements SalonDirectory.
func (d *salonDirectory) Salon(ctx context.Context, salonID int64) (SalonInfo, error) {
	ctx = yclients.Urgent(ctx) // the owner's page is waiting: these requests go first
	company, err := d.company(ctx, salonID)
	if err != nil {
		return SalonInfo{}, err
	}
	integration, err := d.integration(ctx, salonID)
	if err != nil {
		return SalonInfo{}, err
	}
	return SalonInfo{Title: company.Title, Integration: integration, Company: company}, nil
}

func (d *salonDirectory) company(ctx context.Context, salonID int64) (*activities.KnownCompany, error) {
	if c, ok := lookup(d, d.companies, salonID); ok {
		return c, nil
	}
	c, err := d.yc.Company(ctx, salonID)
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

// integration is the status of AI Admin's integration with the salon; "" when YClients has none.
func (d *salonDirectory) integration(ctx context.Context, salonID int64) (string, error) {
	if st, ok := lookup(d, d.statuses, salonID); ok {
		return st, nil
	}
	st, err := d.yc.IntegrationStatus(ctx, salonID)
	switch {
	case yclients.IsNotFound(err):
	case err != nil:
		return "", err
	}
	store(d, d.statuses, salonID, st.Status)
	return st.Status, nil
}

func lookup[T any](d *salonDirectory, m map[int64]cached[T], salonID int64) (T, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := m[salonID]
	if !ok || time.Since(c.at) >= d.ttl {
		var zero T
		return zero, false
	}
	return c.v, true
}

func store[T any](d *salonDirectory, m map[int64]cached[T], salonID int64, v T) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(m) > 10_000 {
		clear(m) // a bound, not an eviction policy: entries live 30 s anyway
	}
	m[salonID] = cached[T]{v: v, at: time.Now()}
}
