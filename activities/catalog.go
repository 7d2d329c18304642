package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/aiadmin/aiadmin/activities/salontime"
	"github.com/aiadmin/aiadmin/activities/yclients"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// SyncDays is how many days of schedules a sync reads, starting today in the salon's zone.
const SyncDays = 14

// Catalog copies the salon's catalogue (services, staff, schedules) from YClients.
type Catalog struct {
	store *db.Store
	yc    YClients
	zones *zones
	now   func() time.Time
}

// upstream is one sync's reading of YClients.
type upstream struct {
	services []yclients.Service
	staff    []yclients.Staff
	days     []yclients.ScheduleDay
	from     time.Time // the first day read, salon-local midnight
}

// Sync copies services, staff and the next SyncDays of schedules from YClients into
// PostgreSQL with idempotent upserts, marks rows gone upstream inactive and records a
// sync_runs row. It heartbeats throughout (keepAlive), so that a freeze or an uninstall
// cancels it within the heartbeat timeout; a cancelled sync stops where it is (its upserts are
// idempotent, the next sync completes the work).
func (a *Catalog) Sync(ctx context.Context, in SalonRef) (SyncOutput, error) {
	defer keepAlive(ctx)()
	company, err := a.store.GetCompany(ctx, in.SalonID)
	if err != nil {
		return SyncOutput{}, fmt.Errorf("load company: %w", err)
	}
	loc := a.zones.location(ctx, in.SalonID, company.Timezone)
	started := a.now().UTC().Truncate(time.Microsecond)
	runID, err := a.store.StartSyncRun(ctx, in.SalonID)
	if err != nil {
		return SyncOutput{}, fmt.Errorf("start sync run: %w", err)
	}
	var out SyncOutput
	up, syncErr := a.read(ctx, in.SalonID, loc)
	if syncErr == nil {
		out, syncErr = a.write(ctx, in.SalonID, up, started)
	}
	msg := ""
	if syncErr != nil {
		msg = syncErr.Error()
	}
	if err := a.store.FinishSyncRun(context.WithoutCancel(ctx), sqlc.FinishSyncRunParams{
		ID: runID, ServicesCount: int32(out.Services), StaffCount: int32(out.Staff),
		SchedulesCount: int32(out.Schedules), DeactivatedCount: int32(out.Deactivated), Error: msg,
	}); err != nil && syncErr == nil {
		syncErr = fmt.Errorf("finish sync run: %w", err)
	}
	if syncErr != nil {
		return out, classify(syncErr)
	}
	out.FinishedAt = a.now().UTC()
	return out, nil
}

// read fetches the three catalogue lists, heartbeating between the calls.
func (a *Catalog) read(ctx context.Context, salonID int64, loc *time.Location) (upstream, error) {
	var up upstream
	var err error
	if up.services, err = a.yc.Services(ctx, salonID); err != nil {
		return up, err
	}
	activity.RecordHeartbeat(ctx, "services")
	if up.staff, err = a.yc.Staff(ctx, salonID); err != nil {
		return up, err
	}
	activity.RecordHeartbeat(ctx, "staff")
	up.from = salontime.DayStart(a.now(), loc)
	if up.days, err = a.yc.Schedules(ctx, salonID, up.from, up.from.AddDate(0, 0, SyncDays-1)); err != nil {
		return up, err
	}
	activity.RecordHeartbeat(ctx, "schedules")
	return up, nil
}

// write upserts what was read and deactivates what was not.
func (a *Catalog) write(ctx context.Context, salonID int64, up upstream, started time.Time) (SyncOutput, error) {
	var out SyncOutput
	for _, s := range up.services {
		if !s.Active {
			continue // hidden upstream: left to be marked inactive below
		}
		if err := a.store.UpsertService(ctx, sqlc.UpsertServiceParams{
			SalonID: salonID, YClientsID: s.ID, Title: s.Title, CategoryID: s.CategoryID,
			PriceMin: s.PriceMin, PriceMax: s.PriceMax, DurationSeconds: int32(s.DurationSeconds), SyncedAt: started,
		}); err != nil {
			return out, fmt.Errorf("upsert service %d: %w", s.ID, err)
		}
		out.Services++
	}
	for _, s := range up.staff {
		if s.Fired {
			continue
		}
		if err := a.store.UpsertStaff(ctx, sqlc.UpsertStaffParams{
			SalonID: salonID, YClientsID: s.ID, Name: s.Name, Specialization: s.Specialization,
			Position: s.Position, Fired: s.Fired, Hidden: s.Hidden, SyncedAt: started,
		}); err != nil {
			return out, fmt.Errorf("upsert staff %d: %w", s.ID, err)
		}
		out.Staff++
	}
	n, err := a.writeSchedules(ctx, salonID, up.days, started)
	if err != nil {
		return out, err
	}
	out.Schedules = n
	out.Deactivated, err = a.deactivate(ctx, salonID, up.from, started)
	return out, err
}

func (a *Catalog) writeSchedules(ctx context.Context, salonID int64, days []yclients.ScheduleDay, started time.Time) (int, error) {
	n := 0
	for _, d := range days {
		date, err := time.Parse("2006-01-02", d.Date)
		if err != nil {
			continue
		}
		slots, err := json.Marshal(d.Slots)
		if err != nil {
			return n, err
		}
		if err := a.store.UpsertSchedule(ctx, sqlc.UpsertScheduleParams{
			SalonID: salonID, StaffYClientsID: d.StaffID, Date: date, IsWorking: d.IsWorking, Slots: slots, SyncedAt: started,
		}); err != nil {
			return n, fmt.Errorf("upsert schedule: %w", err)
		}
		n++
	}
	return n, nil
}

// deactivate marks the rows this sync did not see as inactive.
func (a *Catalog) deactivate(ctx context.Context, salonID int64, from, started time.Time) (int, error) {
	n1, err := a.store.DeactivateServicesNotSynced(ctx, sqlc.DeactivateServicesNotSyncedParams{SalonID: salonID, SyncedAt: started})
	if err != nil {
		return 0, err
	}
	n2, err := a.store.DeactivateStaffNotSynced(ctx, sqlc.DeactivateStaffNotSyncedParams{SalonID: salonID, SyncedAt: started})
	if err != nil {
		return 0, err
	}
	n3, err := a.store.DeactivateSchedulesNotSynced(ctx, sqlc.DeactivateSchedulesNotSyncedParams{
		SalonID: salonID, SyncedAt: started, FromDate: time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return 0, err
	}
	return int(n1 + n2 + n3), nil
}
