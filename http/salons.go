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
type salonDirectory struct {
	yc  YClientsSalons
	ttl time.Duration

	mu    sync.Mutex
	cache map[int64]cachedSalon
}

type cachedSalon struct {
	info SalonInfo
	at   time.Time
}

// NewSalonDirectory is the SalonDirectory over the YClients API.
func NewSalonDirectory(yc YClientsSalons) SalonDirectory { return newSalonDirectory(yc) }

func newSalonDirectory(yc YClientsSalons) *salonDirectory {
	return &salonDirectory{yc: yc, ttl: salonTTL, cache: map[int64]cachedSalon{}}
}

// Salon implements SalonDirectory.
func (d *salonDirectory) Salon(ctx context.Context, salonID int64) (SalonInfo, error) {
	d.mu.Lock()
	c, ok := d.cache[salonID]
	d.mu.Unlock()
	if ok && time.Since(c.at) < d.ttl {
		return c.info, nil
	}
	ctx = yclients.Urgent(ctx) // the owner's page is waiting: these requests go first
	company, err := d.yc.Company(ctx, salonID)
	if yclients.IsNotFound(err) {
		return SalonInfo{}, fmt.Errorf("salon %d: %w", salonID, ErrUnknownSalon)
	}
	if err != nil {
		return SalonInfo{}, err
	}
	info := SalonInfo{Title: company.Title, Company: &activities.KnownCompany{Title: company.Title,
		Phone: company.Phone, Email: company.Email, Address: company.Address, Timezone: company.Timezone}}
	st, err := d.yc.IntegrationStatus(ctx, salonID)
	switch {
	case err == nil:
		info.Integration = st.Status
	case !yclients.IsNotFound(err):
		return SalonInfo{}, err
	}
	d.mu.Lock()
	if len(d.cache) > 10_000 {
		clear(d.cache) // a bound, not an eviction policy: entries live 30 s anyway
	}
	d.cache[salonID] = cachedSalon{info: info, at: time.Now()}
	d.mu.Unlock()
	return info, nil
}
