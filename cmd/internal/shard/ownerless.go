package shard

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aiadmin/aiadmin/activities/notify"
)

// DefaultOwnerlessAfter is how long a shard may go without an owner before ops are alerted.
const DefaultOwnerlessAfter = 2 * time.Minute

// alertTimeout bounds the delivery of one alert.
const alertTimeout = 5 * time.Second

// watchOwners looks at who holds the shards' locks (every manager's, not only this one's). A
// shard that has had no owner for longer than OwnerlessAfter (its salons' pairing, sends,
// disconnect and unlink wait on its task queue meanwhile) is reported to ops once per such
// period, by one manager of the scope: the running manager of this shard count with the
// lowest PostgreSQL backend pid. Failures of the watch are logged; they never cost a shard.
func (m *Manager) watchOwners(ctx context.Context, conn *pgx.Conn) {
	if m.opts.Alerts == nil {
		return
	}
	owned, err := ownedShards(ctx, conn, m.hi, m.opts.Shards)
	if err == nil {
		m.alerter, err = lowestMember(ctx, conn, m.hi, m.opts.Shards)
	}
	if err != nil {
		m.log.Warn("whatsapp shards: cannot read who owns the shards", "err", err)
		return
	}
	now := time.Now()
	for k := range m.opts.Shards {
		if owned[k] {
			delete(m.ownerSince, k)
			delete(m.alerted, k)
			continue
		}
		since, seen := m.ownerSince[k]
		if !seen {
			m.ownerSince[k] = now
			continue
		}
		if m.alerter && !m.alerted[k] && now.Sub(since) >= m.opts.OwnerlessAfter {
			m.alerted[k] = true
			m.alertOwnerless(ctx, k, now.Sub(since))
		}
	}
}

// alertOwnerless raises the alert of a shard without an owner.
func (m *Manager) alertOwnerless(ctx context.Context, k int, d time.Duration) {
	msg := fmt.Sprintf("Шард WhatsApp %d из %d без владельца уже %s: сопряжение, отправки, отключение и отвязка "+
		"его салонов (salon_id mod %d = %d) ждут; проверьте воркеры (WHATSAPP_SHARDS, доступ к Temporal и PostgreSQL)",
		k, m.opts.Shards, d.Round(time.Second), m.opts.Shards, k)
	m.log.Error("whatsapp shard has no owner", "shard", k, "for", d.Round(time.Second))
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), alertTimeout)
	defer cancel()
	if err := m.opts.Alerts.Notify(actx, notify.Alert{Level: notify.Error, Kind: "shard_ownerless", Message: msg}); err != nil {
		m.log.Warn("whatsapp shards: cannot raise the ownerless alert", "shard", k, "err", err)
	}
}
