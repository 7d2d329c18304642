package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
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

// syncProgress is how far a sync got: it is the activity's heartbeat detail, so that an attempt
// retried after a YClients failure goes on from the part that failed instead of reading the
// parts it already stored again (with a flaky YClients, four reads in a row rarely all succeed,
// and every read waits its turn in the cluster's budget). Started stamps every row of the sync,
// whatever the attempt, for the deactivation at the end.
type syncProgress struct {
	Started time.Time
	From    time.Time // the first day of schedules read, salon-local midnight
	Done    int       // parts stored (catalogParts)
	Out     SyncOutput
}

// catalogParts are the parts of a sync, in order: each reads YClients and stores what it read.
var catalogParts = []func(a *Catalog, ctx context.Context, salonID int64, p *syncProgress) error{
	(*Catalog).syncServices, (*Catalog).syncStaff, (*Catalog).syncSchedules,
}

// Sync copies services, staff and the next SyncDays of schedules from YClients into
// PostgreSQL with idempotent upserts, marks rows gone upstream inactive and records a
// sync_runs row. It heartbeats throughout with its progress, so that a freeze or an uninstall
// cancels it within the heartbeat timeout, and a retried attempt resumes after the parts
// already stored (syncProgress); a cancelled sync stops where it is (its upserts are
// idempotent, the next sync completes the work).
func (a *Catalog) Sync(ctx context.Context, in SalonRef) (SyncOutput, error) {
	company, err := a.store.GetCompany(ctx, in.SalonID)
	if err != nil {
		return SyncOutput{}, fmt.Errorf("load company: %w", err)
	}
	loc := a.zones.location(ctx, in.SalonID, company.Timezone)
	prog := resumeSync(ctx)
	if prog.Started.IsZero() {
		prog.Started = a.now().UTC().Truncate(time.Microsecond)
		prog.From = salontime.DayStart(a.now(), loc)
	}
	var mu sync.Mutex
	defer keepAliveWith(ctx, func() any { mu.Lock(); defer mu.Unlock(); return prog })()
	runID, err := a.store.StartSyncRun(ctx, in.SalonID)
	if err != nil {
		return SyncOutput{}, fmt.Errorf("start sync run: %w", err)
	}
	syncErr := a.syncParts(ctx, in.SalonID, &prog, &mu)
	out := prog.Out
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

// syncParts runs the parts not done yet, recording each as done (the next heartbeat carries
// it), then deactivates what this sync did not see.
func (a *Catalog) syncParts(ctx context.Context, salonID int64, prog *syncProgress, mu *sync.Mutex) error {
	for i := prog.Done; i < len(catalogParts); i++ {
		p := *prog
		if err := catalogParts[i](a, ctx, salonID, &p); err != nil {
			return err
		}
		p.Done = i + 1
		mu.Lock()
		*prog = p
		mu.Unlock()
		activity.RecordHeartbeat(ctx, p)
	}
	n, err := a.deactivate(ctx, salonID, prog.From, prog.Started)
	prog.Out.Deactivated = n
	return err
}

// resumeSync is the progress the previous attempt reported, if any.
func resumeSync(ctx context.Context) syncProgress {
	var p syncProgress
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &p); err != nil || p.Done > len(catalogParts) {
			return syncProgress{} // another shape (an older worker's «waiting»): start over
		}
	}
	return p
}

func (a *Catalog) syncServices(ctx context.Context, salonID int64, p *syncProgress) error {
	services, err := a.yc.Services(ctx, salonID)
	if err != nil {
		return err
	}
	for _, s := range services {
		if !s.Active {
			continue // hidden upstream: left to be marked inactive
		}
		if err := a.store.UpsertService(ctx, sqlc.UpsertServiceParams{
			SalonID: salonID, YClientsID: s.ID, Title: s.Title, CategoryID: s.CategoryID,
			PriceMin: s.PriceMin, PriceMax: s.PriceMax, DurationSeconds: int32(s.DurationSeconds), SyncedAt: p.Started,
		}); err != nil {
			return fmt.Errorf("upsert service %d: %w", s.ID, err)
		}
		p.Out.Services++
	}
	return nil
}

func (a *Catalog) syncStaff(ctx context.Context, salonID int64, p *syncProgress) error {
	staff, err := a.yc.Staff(ctx, salonID)
	if err != nil {
		return err
	}
	for _, s := range staff {
		if s.Fired {
			continue
		}
		if err := a.store.UpsertStaff(ctx, sqlc.UpsertStaffParams{
			SalonID: salonID, YClientsID: s.ID, Name: s.Name, Specialization: s.Specialization,
			Position: s.Position, Fired: s.Fired, Hidden: s.Hidden, SyncedAt: p.Started,
		}); err != nil {
			return fmt.Errorf("upsert staff %d: %w", s.ID, err)
		}
		p.Out.Staff++
	}
	return nil
}

func (a *Catalog) syncSchedules(ctx context.Context, salonID int64, p *syncProgress) error {
	days, err := a.yc.Schedules(ctx, salonID, p.From, p.From.AddDate(0, 0, SyncDays-1))
	if err != nil {
		return err
	}
	n, err := a.writeSchedules(ctx, salonID, days, p.Started)
	p.Out.Schedules = n
	return err
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
