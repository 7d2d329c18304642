package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/aiadmin/aiadmin/db/sqlc"
)

// SyncDays is how many days of schedules a sync reads, starting today in the salon's zone.
const SyncDays = 14

// Sync copies services, staff and the next SyncDays of schedules from YClients into
// PostgreSQL with idempotent upserts, marks rows gone upstream inactive and records a
// sync_runs row.
func (a *Activities) Sync(ctx context.Context, in SalonRef) (SyncOutput, error) {
	company, err := a.Store.GetCompany(ctx, in.SalonID)
	if err != nil {
		return SyncOutput{}, fmt.Errorf("load company: %w", err)
	}
	loc, err := time.LoadLocation(company.Timezone)
	if err != nil {
		loc = time.UTC
	}
	started := a.now().UTC().Truncate(time.Microsecond)
	runID, err := a.Store.StartSyncRun(ctx, in.SalonID)
	if err != nil {
		return SyncOutput{}, fmt.Errorf("start sync run: %w", err)
	}
	out, syncErr := a.sync(ctx, in.SalonID, loc, started)
	msg := ""
	if syncErr != nil {
		msg = syncErr.Error()
	}
	if err := a.Store.FinishSyncRun(context.WithoutCancel(ctx), sqlc.FinishSyncRunParams{
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

func (a *Activities) sync(ctx context.Context, salonID int64, loc *time.Location, started time.Time) (SyncOutput, error) {
	var out SyncOutput
	services, err := a.YClients.Services(ctx, salonID)
	if err != nil {
		return out, err
	}
	activity.RecordHeartbeat(ctx, "services")
	staff, err := a.YClients.Staff(ctx, salonID)
	if err != nil {
		return out, err
	}
	activity.RecordHeartbeat(ctx, "staff")
	today := a.now().In(loc)
	from := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, SyncDays-1)
	days, err := a.YClients.Schedules(ctx, salonID, from, to)
	if err != nil {
		return out, err
	}
	activity.RecordHeartbeat(ctx, "schedules")

	for _, s := range services {
		if !s.Active {
			continue // hidden upstream: left to be marked inactive below
		}
		if err := a.Store.UpsertService(ctx, sqlc.UpsertServiceParams{
			SalonID: salonID, YClientsID: s.ID, Title: s.Title, CategoryID: s.CategoryID,
			PriceMin: s.PriceMin, PriceMax: s.PriceMax, DurationSeconds: int32(s.DurationSeconds), SyncedAt: started,
		}); err != nil {
			return out, fmt.Errorf("upsert service %d: %w", s.ID, err)
		}
		out.Services++
	}
	for _, s := range staff {
		if s.Fired {
			continue
		}
		if err := a.Store.UpsertStaff(ctx, sqlc.UpsertStaffParams{
			SalonID: salonID, YClientsID: s.ID, Name: s.Name, Specialization: s.Specialization,
			Position: s.Position, Fired: s.Fired, Hidden: s.Hidden, SyncedAt: started,
		}); err != nil {
			return out, fmt.Errorf("upsert staff %d: %w", s.ID, err)
		}
		out.Staff++
	}
	for _, d := range days {
		date, err := time.Parse("2006-01-02", d.Date)
		if err != nil {
			continue
		}
		slots, err := json.Marshal(d.Slots)
		if err != nil {
			return out, err
		}
		if err := a.Store.UpsertSchedule(ctx, sqlc.UpsertScheduleParams{
			SalonID: salonID, StaffYClientsID: d.StaffID, Date: date, IsWorking: d.IsWorking, Slots: slots, SyncedAt: started,
		}); err != nil {
			return out, fmt.Errorf("upsert schedule: %w", err)
		}
		out.Schedules++
	}
	n1, err := a.Store.DeactivateServicesNotSynced(ctx, sqlc.DeactivateServicesNotSyncedParams{SalonID: salonID, SyncedAt: started})
	if err != nil {
		return out, err
	}
	n2, err := a.Store.DeactivateStaffNotSynced(ctx, sqlc.DeactivateStaffNotSyncedParams{SalonID: salonID, SyncedAt: started})
	if err != nil {
		return out, err
	}
	n3, err := a.Store.DeactivateSchedulesNotSynced(ctx, sqlc.DeactivateSchedulesNotSyncedParams{
		SalonID: salonID, SyncedAt: started, FromDate: time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)})
	if err != nil {
		return out, err
	}
	out.Deactivated = int(n1 + n2 + n3)
	return out, nil
}
