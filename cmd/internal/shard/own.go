package shard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// tick is one round on the lock connection: release the locks of finished handovers, check
// that every owned lock is still held, acquire free shards up to the fair share, and hand one
// surplus shard over.
func (m *Manager) tick(ctx context.Context, conn *pgx.Conn) error {
	lctx, cancel := context.WithTimeout(ctx, m.opts.LockTimeout)
	defer cancel()
	if err := m.unlockFinished(lctx, conn); err != nil {
		return err
	}
	held, err := ownShards(lctx, conn, m.hi, m.opts.Shards)
	if err != nil {
		return fmt.Errorf("verify locks: %w", err)
	}
	m.mu.Lock()
	for k, s := range m.slots {
		if s.term != nil && !s.lost && !held[k] {
			m.log.Error("whatsapp shards: lock of an owned shard is gone", "shard", k)
			m.loseLocked(k)
		}
	}
	m.mu.Unlock()

	acquired, target, err := m.acquire(lctx, conn)
	if err != nil {
		return err
	}
	for _, k := range acquired {
		if err := m.start(ctx, k); err != nil {
			m.log.Error("whatsapp shards: cannot start shard; releasing it", "shard", k, "err", err)
			if _, uerr := conn.Exec(lctx, `SELECT pg_advisory_unlock($1)`, lockKey(m.hi, kindShard, m.opts.Shards, k)); uerr != nil {
				return fmt.Errorf("unlock shard %d: %w", k, uerr)
			}
		}
	}
	m.rebalance(target)
	m.report()
	m.watchOwners(lctx, conn)
	return nil
}

// unlockFinished releases the locks of shards whose handover has finished.
func (m *Manager) unlockFinished(ctx context.Context, conn *pgx.Conn) error {
	m.mu.Lock()
	var done []int
	for k, s := range m.slots {
		if s.state == slotUnlock {
			done = append(done, k)
		}
	}
	m.mu.Unlock()
	for _, k := range done {
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lockKey(m.hi, kindShard, m.opts.Shards, k)); err != nil {
			return fmt.Errorf("unlock shard %d: %w", k, err)
		}
		m.mu.Lock()
		m.slots[k].state, m.slots[k].term = slotFree, nil
		m.mu.Unlock()
		m.log.Info("whatsapp shard handed over", "shard", k)
	}
	return nil
}

// acquire takes free shards up to the fair share, in one transaction under the scope's
// layout lock so that the member count and the shard counts it sees cannot change meanwhile.
func (m *Manager) acquire(ctx context.Context, conn *pgx.Conn) (acquired []int, target int, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // after Commit, a no-op; session locks survive either way
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(m.hi, kindLayout, 0, 0)); err != nil {
		return nil, 0, fmt.Errorf("layout lock: %w", err)
	}
	members, err := membersByCount(ctx, tx, m.hi)
	if err != nil {
		return nil, 0, fmt.Errorf("count members: %w", err)
	}
	target, ok := m.countMembers(members)
	if !ok {
		return nil, m.opts.Shards, tx.Commit(ctx)
	}
	owned := 0
	var free []int
	m.mu.Lock()
	for k, s := range m.slots {
		switch s.state {
		case slotActive:
			owned++
		case slotFree:
			free = append(free, k)
		}
	}
	m.mu.Unlock()
	for _, k := range free {
		if owned >= target {
			break
		}
		ok, err := tryLock(ctx, tx, lockKey(m.hi, kindShard, m.opts.Shards, k))
		if err != nil {
			return nil, 0, fmt.Errorf("lock shard %d: %w", k, err)
		}
		if ok {
			acquired = append(acquired, k)
			owned++
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, 0, fmt.Errorf("commit: %w", err)
	}
	return acquired, target, nil
}

// countMembers records how many managers share the shards and returns this one's share;
// ok is false while managers with another shard count run.
func (m *Manager) countMembers(members map[int]int) (target int, ok bool) {
	var others []string
	for n, c := range members {
		if n != m.opts.Shards {
			others = append(others, fmt.Sprintf("%d worker(s) with %d shards", c, n))
		}
	}
	m.mu.Lock()
	m.members = max(members[m.opts.Shards], 1)
	target = (m.opts.Shards + m.members - 1) / m.members
	slices.Sort(others)
	mismatch := strings.Join(others, ", ")
	changed := mismatch != m.mismatch
	m.mismatch = mismatch
	m.mu.Unlock()
	if mismatch != "" {
		// Salons map to shards by the count: two counts at once would give a salon two owners.
		// Keep what we own, take nothing new, until the others are gone.
		if changed {
			m.log.Error("whatsapp shards: WHATSAPP_SHARDS differs between workers; taking no shards until it matches",
				"shards", m.opts.Shards, "others", mismatch)
		}
		return target, false
	}
	if changed {
		m.log.Info("whatsapp shards: every worker has the same WHATSAPP_SHARDS again", "shards", m.opts.Shards)
	}
	return target, true
}

// start begins a term on a shard whose lock was just taken: connect its salons, then start
// its worker.
func (m *Manager) start(ctx context.Context, k int) error {
	t := &term{shard: k, attached: make(map[int64]bool)}
	t.allowed.Store(true)
	t.ctx, t.cancel = context.WithCancel(context.Background())
	m.mu.Lock()
	m.slots[k].state, m.slots[k].term, m.slots[k].lost = slotActive, t, false
	m.mu.Unlock()

	ids, err := m.salonsOf(ctx, k)
	if err != nil {
		m.log.Warn("whatsapp shard: cannot list its salons; they connect on first use", "shard", k, "err", err)
	}
	connected := 0
	for _, id := range ids {
		if m.connect(ctx, t, id) {
			connected++
		}
	}
	w, err := m.opts.NewWorker(k)
	if err == nil {
		err = w.Start()
	}
	if err != nil {
		m.endTerm(t)
		m.release(t)
		m.mu.Lock()
		m.slots[k].state, m.slots[k].term = slotFree, nil
		m.mu.Unlock()
		return err
	}
	m.mu.Lock()
	t.worker = w
	m.mu.Unlock()
	m.log.Info("whatsapp shard acquired", "shard", k, "salons", len(ids), "connected", connected)
	return nil
}

// salonsOf lists the shard's salons to connect.
func (m *Manager) salonsOf(ctx context.Context, k int) ([]int64, error) {
	lctx, cancel := context.WithTimeout(ctx, sessionOpTimeout)
	defer cancel()
	all, err := m.opts.Sessions.Linked(lctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, id := range all {
		if m.opts.ShardOf(id) != k {
			continue
		}
		if m.opts.Eligible != nil {
			ok, err := m.opts.Eligible(lctx, id)
			if err != nil {
				m.log.Warn("whatsapp shard: cannot tell whether to connect a salon; connecting it", "salonID", id, "err", err)
			} else if !ok {
				continue
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// connect connects one salon within the term, unless the term has ended. It reports whether
// the salon is connected (or has no device to connect).
func (m *Manager) connect(ctx context.Context, t *term, id int64) bool {
	t.gate.RLock()
	defer t.gate.RUnlock()
	if !t.allowed.Load() {
		return false
	}
	cctx, cancel := context.WithTimeout(ctx, sessionOpTimeout)
	defer cancel()
	t.attach(id) // first: a connect that fails half-way is still released with the term
	if err := m.opts.Sessions.Connect(cctx, []int64{id}); err != nil {
		m.log.Warn("whatsapp shard: cannot connect a salon; retried on first use", "shard", t.shard, "salonID", id, "err", err)
		t.mu.Lock()
		delete(t.attached, id)
		t.mu.Unlock()
		return false
	}
	return true
}

// endTerm stops letting the term's salons be used, waits for connects in flight and ends the
// term's context (pairing attempts with it).
func (m *Manager) endTerm(t *term) {
	t.allowed.Store(false)
	t.gate.Lock()
	t.gate.Unlock() //nolint:staticcheck // an empty critical section: a barrier for connects in flight
	t.cancel()
}

// release closes the connections opened in the term.
func (m *Manager) release(t *term) {
	ids := t.salons()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionOpTimeout)
	defer cancel()
	if err := m.opts.Sessions.Release(ctx, ids); err != nil {
		m.log.Warn("whatsapp shard: release connections", "shard", t.shard, "err", err)
	}
}

// rebalance hands one surplus shard over when this process owns more than its share and no
// handover is running.
func (m *Manager) rebalance(target int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	owned := m.ownedLocked()
	for _, s := range m.slots {
		if s.state == slotReleasing || s.state == slotUnlock {
			return
		}
	}
	if len(owned) <= target {
		return
	}
	k := owned[len(owned)-1]
	s := m.slots[k]
	s.state = slotReleasing
	m.log.Info("whatsapp shard: handing over (more than my share)", "shard", k, "owned", len(owned), "share", target)
	go m.finish(s, s.term)
}

// finish ends a term: the worker stops (its running activities finish first; those of a
// lost shard are refused their salons and end quickly), then the connections close. A shard
// handed over then waits for the lock connection to release its lock; a lost one is free.
func (m *Manager) finish(s *slot, t *term) {
	if t.worker != nil {
		t.worker.Stop()
	}
	m.endTerm(t)
	m.release(t)
	m.mu.Lock()
	if s.term == t {
		if s.lost {
			s.state, s.term = slotFree, nil
		} else {
			s.state = slotUnlock
		}
	}
	m.mu.Unlock()
	m.poke()
}

// loseLocked ends a term whose lock is gone: its salons are refused and its pairing attempts
// cancelled at once, then finish runs (or, if a handover was running, completes it).
func (m *Manager) loseLocked(k int) {
	s := m.slots[k]
	if s.term == nil || s.lost {
		return
	}
	s.lost = true
	t := s.term
	t.allowed.Store(false)
	t.cancel()
	if s.state == slotActive {
		s.state = slotReleasing
		go m.finish(s, t)
	}
}

// loseAll ends every term: the lock connection is gone.
func (m *Manager) loseAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.slots {
		switch s.state {
		case slotUnlock:
			s.state, s.term = slotFree, nil // its lock went with the connection
		default:
			if s.term != nil {
				m.loseLocked(k)
			}
		}
	}
}

// shutdown hands every shard over: workers stopped (running activities finish), connections
// closed, and only then the locks released by closing the lock connection.
func (m *Manager) shutdown(conn *pgx.Conn) {
	m.mu.Lock()
	var wg sync.WaitGroup
	for _, s := range m.slots {
		if s.state == slotActive {
			s.state = slotReleasing
			t := s.term
			wg.Add(1)
			go func() { defer wg.Done(); m.finish(s, t) }()
		}
	}
	m.mu.Unlock()
	wg.Wait()
	// Terms lost or handed over before shutdown finish on their own goroutines; wait for them.
	for {
		m.mu.Lock()
		busy := false
		for _, s := range m.slots {
			if s.state == slotReleasing {
				busy = true
			}
		}
		m.mu.Unlock()
		if !busy {
			break
		}
		<-m.wake
	}
	closeConn(conn)
	m.mu.Lock()
	for _, s := range m.slots {
		s.state, s.term = slotFree, nil
	}
	m.mu.Unlock()
	m.report()
}

// report logs the owned shards when they change.
func (m *Manager) report() {
	m.mu.Lock()
	owned, members := m.ownedLocked(), m.members
	line := fmt.Sprint(owned)
	changed := line != m.logged
	m.logged = line
	m.mu.Unlock()
	if changed {
		m.log.Info("whatsapp shards owned", "owned", owned, "shards", m.opts.Shards, "workers", members)
	}
}
