package dispatcher

import (
	"context"
	"time"

	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Retention: rows purged per statement (short statements, the purge goes on at the next idle
// moment), and how long the end of a pairing attempt is kept.
const (
	purgeBatch      = 1000
	pairingFinished = 24 * time.Hour
	staleLease      = time.Hour // an expired lease is deleted this long after it expired
)

// OpsRetention is how long the operational records are kept: alerts (ops_alerts), catalogue
// sync runs (sync_runs; each salon's latest stays) and the salons' daily send counts
// (salon_daily_sends; only today's counts against the cap).
const OpsRetention = 90 * 24 * time.Hour

// tidy uses idle time, at most once every purgeEvery (at once again while a purge finds a
// full batch of bodies or rows), to purge.
func (d *Dispatcher) tidy(ctx context.Context) {
	if time.Since(d.lastPurge) < d.purgeEvery {
		return
	}
	n, err := d.Purge(ctx, time.Now())
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("retention: purge", "err", err)
		}
		return
	}
	if n < purgeBatch {
		d.lastPurge = time.Now()
	}
}

// Purge empties the bodies (clients' names and phones) of up to one batch of inbox rows
// finished more than the retention before now, deletes up to one batch of rows (their bodies
// purged, not dead) finished more than the rows' retention before now, empties the numbers and
// texts of up to one batch of ended messages and deletes up to one batch of emptied messages
// of visits (Options.MessageRetention and MessageRowRetention), and deletes expired
// pairing events, the ends of pairing attempts older than a day, leases expired more than
// an hour ago (left by a dispatcher that stopped before it ended its rows) and up to one
// batch each of the operational records older than OpsRetention. It returns the
// largest of the batches: a full batch means there is more.
func (d *Dispatcher) Purge(ctx context.Context, now time.Time) (int64, error) {
	bodies, err := d.store.PurgeInboxBodies(ctx, sqlc.PurgeInboxBodiesParams{Before: now.Add(-d.retention), MaxRows: purgeBatch})
	if err != nil {
		return 0, err
	}
	rows, err := d.store.DeleteOldInboxRows(ctx, sqlc.DeleteOldInboxRowsParams{Before: now.Add(-d.rowRetention), MaxRows: purgeBatch})
	if err != nil {
		return bodies, err
	}
	n := max(bodies, rows)
	texts, err := d.store.PurgeMessageTexts(ctx, sqlc.PurgeMessageTextsParams{Before: now.Add(-d.msgRetention), MaxRows: purgeBatch})
	if err != nil {
		return n, err
	}
	messages, err := d.store.DeleteOldMessages(ctx, sqlc.DeleteOldMessagesParams{Before: now.Add(-d.msgRows), MaxRows: purgeBatch})
	if err != nil {
		return max(n, texts), err
	}
	n = max(n, texts, messages)
	expired, err := d.store.DeleteExpiredPairingEvents(ctx, now)
	if err != nil {
		return n, err
	}
	ended, err := d.store.DeleteFinishedPairingEvents(ctx, now.Add(-pairingFinished))
	if err != nil {
		return n, err
	}
	leases, err := d.store.DeleteStaleInboxLeases(ctx, now.Add(-staleLease))
	if err != nil {
		return n, err
	}
	alerts, runs, sends, err := d.purgeOps(ctx, now.Add(-OpsRetention))
	n = max(n, alerts, runs, sends)
	if err != nil {
		return n, err
	}
	if bodies+rows+texts+messages+expired+ended+leases+alerts+runs+sends > 0 {
		d.log.Info("retention: purged", "bodies", bodies, "rows", rows, "messageTexts", texts, "messages", messages,
			"pairingEvents", expired+ended, "staleLeases", leases, "alerts", alerts, "syncRuns", runs, "dailySends", sends)
	}
	return n, nil
}

// purgeOps deletes up to one batch each of the alerts, sync runs (not a salon's latest) and
// daily send counts from before before (OpsRetention).
func (d *Dispatcher) purgeOps(ctx context.Context, before time.Time) (alerts, runs, sends int64, err error) {
	if alerts, err = d.store.DeleteOldOpsAlerts(ctx, sqlc.DeleteOldOpsAlertsParams{Before: before, MaxRows: purgeBatch}); err != nil {
		return
	}
	if runs, err = d.store.DeleteOldSyncRuns(ctx, sqlc.DeleteOldSyncRunsParams{Before: before, MaxRows: purgeBatch}); err != nil {
		return
	}
	sends, err = d.store.DeleteOldDailySends(ctx, sqlc.DeleteOldDailySendsParams{Before: before, MaxRows: purgeBatch})
	return
}
