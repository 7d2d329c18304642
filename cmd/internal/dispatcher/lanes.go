package dispatcher

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/api/serviceerror"

	"github.com/aiadmin/aiadmin/activities/metrics"
	"github.com/aiadmin/aiadmin/activities/notify"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// Leases: a claimed row belongs to this dispatcher for lease; a lane stops taking rows once
// less than leaseMargin of it is left (a call may take callTimeout), so that no row is still
// being handed on when another dispatcher may claim it.
const (
	lease       = time.Minute
	leaseMargin = callTimeout + 5*time.Second
	maxErrorLen = 500
	dbTimeout   = 5 * time.Second // recording a row's end
)

// pass is one round: the rows claimed together, handed on lane by lane.
type pass struct {
	until time.Time // lanes start no row after it
	fin   *finisher // records the rows' ends, the lanes' together

	mu   sync.Mutex
	done int   // rows finished
	err  error // PostgreSQL or Temporal unreachable: the pass stops taking rows
}

func (p *pass) finished() {
	p.mu.Lock()
	p.done++
	p.mu.Unlock()
}

func (p *pass) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// more tells whether a lane may start its next row.
func (p *pass) more(ctx context.Context) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err == nil && ctx.Err() == nil && time.Now().Before(p.until)
}

// DispatchOnce claims up to one batch of pending rows, hands them on lane by lane and reports
// how many it finished (handed on, ignored, failed, duplicate or dead). The error tells that
// PostgreSQL or Temporal could not be reached; a row Temporal refuses is retried later on its
// own and is no error of the pass.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	_, done, err := d.pass(ctx)
	return done, err
}

// pass is DispatchOnce, also reporting how many rows were claimed.
func (d *Dispatcher) pass(ctx context.Context) (claimed, done int, err error) {
	start := time.Now()
	rows, err := d.claim(ctx)
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	p := &pass{until: start.Add(lease - leaseMargin), fin: newFinisher(d.store, d.token, &d.finishStatements)}
	defer p.fin.stop()
	sem := make(chan struct{}, d.parallel)
	var wg sync.WaitGroup
	ls := lanes(rows)
	prev := d.previousBodies(ctx, ls)
	for i, lane := range ls {
		sem <- struct{}{}
		wg.Go(func() {
			var once sync.Once
			free := func() { once.Do(func() { <-sem }) }
			defer free()
			d.runLane(ctx, p, lane, prev[i], free)
		})
	}
	wg.Wait()
	return len(rows), p.done, p.err
}

// inboxRow is an inbox row as the claim returns it: every column but the lease columns of the
// code before migration 00015, which nothing reads any more.
type inboxRow = sqlc.ClaimInboxLanesRow

// claim leases the next batch in a short transaction of its own.
func (d *Dispatcher) claim(ctx context.Context) ([]inboxRow, error) {
	var rows []inboxRow
	err := d.store.InTx(ctx, func(q *sqlc.Queries) error {
		if err := q.LockInboxClaims(ctx); err != nil {
			return err
		}
		var err error
		rows, err = q.ClaimInboxLanes(ctx, sqlc.ClaimInboxLanesParams{
			LeaseSeconds: lease.Seconds(), ClaimToken: d.token, MaxRows: int32(d.batchSize)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim inbox rows: %w", err)
	}
	return rows, nil
}

// lanes groups rows by (salon, resource, resource ID), each lane in inbox order, the lanes in
// the order of their oldest row.
func lanes(rows []inboxRow) [][]inboxRow {
	slices.SortFunc(rows, func(a, b inboxRow) int { return cmp.Compare(a.ID, b.ID) })
	type key struct {
		salon    int64
		resource string
		id       int64
	}
	index := map[key]int{}
	var out [][]inboxRow
	for _, r := range rows {
		k := key{r.SalonID, r.Resource, r.ResourceID}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out
}

// runLane hands on a lane's rows in order, prev being the body of the lane's last delivery
// handed on before them (previousBodies). It stops at the first row that is not handed on:
// the later rows of the lane are given back and wait for it. Once its last row is handed on
// it calls free, letting the next lane start while this row's end is recorded: a lane waits
// for a row's end only to start its own next row, and the ends that queue meanwhile share a
// statement (finisher).
func (d *Dispatcher) runLane(ctx context.Context, p *pass, rows []inboxRow, prev []byte, free func()) {
	for i, row := range rows {
		if !p.more(ctx) {
			d.release(rows[i:])
			return
		}
		last := i == len(rows)-1
		if sameSignal(prev, row.Body) {
			if last {
				free()
			}
			if !d.finish(p, row, stateDuplicate, "duplicate delivery") {
				d.release(rows[i+1:])
				return
			}
			continue
		}
		state, note, err := d.handle(ctx, row)
		if err != nil {
			d.failed(ctx, p, row, err)
			d.release(rows[i+1:])
			return
		}
		if last {
			free()
		}
		if !d.finish(p, row, state, note) {
			d.release(rows[i+1:])
			return
		}
		if state == stateProcessed {
			prev = row.Body
		}
	}
}

// previousBodies is, for each lane, the body of its last delivery handed on before its first
// row, nil when none, read in one statement for all the lanes of a pass (a burst of bookings
// is as many lanes). When they cannot be read every lane gets nil: its first row is then
// handed on, which the workflow tolerates.
func (d *Dispatcher) previousBodies(ctx context.Context, ls [][]inboxRow) [][]byte {
	out := make([][]byte, len(ls))
	arg := sqlc.PreviousLaneBodiesParams{SalonIds: make([]int64, len(ls)), Resources: make([]string, len(ls)),
		ResourceIds: make([]int64, len(ls)), BeforeIds: make([]int64, len(ls))}
	for i, lane := range ls {
		first := lane[0]
		arg.SalonIds[i], arg.Resources[i], arg.ResourceIds[i], arg.BeforeIds[i] = first.SalonID, first.Resource, first.ResourceID, first.ID
	}
	rows, err := d.store.PreviousLaneBodies(ctx, arg)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("inbox: cannot read the lanes' previous deliveries", "lanes", len(ls), "err", err)
		}
		return out
	}
	for _, r := range rows {
		if i := int(r.Position) - 1; i >= 0 && i < len(out) {
			out[i] = r.Body
		}
	}
	return out
}

// finish records how a leased row ended; false when it could not be recorded (the lane stops).
func (d *Dispatcher) finish(p *pass, row inboxRow, state, note string) bool {
	held, err := p.fin.finish(row.ID, state, errText(note))
	switch {
	case err != nil:
		p.fail(fmt.Errorf("finish inbox row %d: %w", row.ID, err))
		return false
	case !held:
		d.log.Warn("inbox: lease of a row lost before it was finished", "inboxID", row.ID, "state", state)
		return false
	}
	p.finished()
	metrics.InboxRow(state, state == stateProcessed, time.Since(row.ReceivedAt))
	return true
}

// failed records a row that was not handed on. A row refused (by Temporal or by PostgreSQL)
// waits, longer after each attempt, and goes dead after maxAttempts; when Temporal or
// PostgreSQL cannot be reached at all the attempt does not count and the pass stops.
func (d *Dispatcher) failed(ctx context.Context, p *pass, row inboxRow, err error) {
	if ctx.Err() != nil {
		d.release([]inboxRow{row}) // stopping: the row was not refused
		return
	}
	if unreachable(err) {
		p.fail(err)
		d.retry(ctx, p, row, 0, 0, err)
		return
	}
	attempts := int(row.Attempts) + 1
	if attempts < d.maxAttempts {
		delay := d.backoff(attempts)
		d.log.Warn("inbox: row refused; its lane waits", "inboxID", row.ID, "salonID", row.SalonID,
			"resource", row.Resource, "resourceID", row.ResourceID, "attempts", attempts, "retryIn", delay, "err", err)
		d.retry(ctx, p, row, 1, delay, err)
		metrics.InboxRow("refused", false, 0)
		return
	}
	if d.finish(p, row, stateDead, errText(err.Error())) {
		d.deadAlert(ctx, row, attempts, err)
	}
}

// backoff is the wait after a row's attempts-th refusal: retryBase, doubled after each
// attempt, at most retryMax.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	delay := d.retryBase
	for i := 1; i < attempts && delay < d.retryMax; i++ {
		delay *= 2
	}
	return min(delay, d.retryMax)
}

func (d *Dispatcher) retry(ctx context.Context, p *pass, row inboxRow, add int32, delay time.Duration, cause error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dbTimeout)
	defer cancel()
	_, err := d.store.RetryInbox(rctx, sqlc.RetryInboxParams{ID: row.ID, ClaimToken: d.token,
		AddAttempts: add, LastError: errText(cause.Error()), DelaySeconds: delay.Seconds()})
	if err != nil {
		p.fail(fmt.Errorf("retry inbox row %d: %w", row.ID, err))
	}
}

// release gives rows back untried.
func (d *Dispatcher) release(rows []inboxRow) {
	if len(rows) == 0 {
		return
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	if err := d.store.ReleaseInbox(ctx, sqlc.ReleaseInboxParams{Ids: ids, ClaimToken: d.token}); err != nil {
		d.log.Warn("inbox: cannot give rows back; they are free again when their lease ends", "rows", len(ids), "err", err)
	}
}

func (d *Dispatcher) deadAlert(ctx context.Context, row inboxRow, attempts int, cause error) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	err := d.alerts.Notify(actx, notify.Alert{SalonID: row.SalonID, Level: notify.Error, Kind: "inbox_dead",
		Message: fmt.Sprintf("Вебхук %d (%s %d, %s) не передан после %d попыток и отложен (dead); следующие события этой записи идут дальше. Ошибка: %s",
			row.ID, row.Resource, row.ResourceID, row.EventStatus, attempts, errText(cause.Error()))})
	if err != nil {
		d.log.Error("inbox: cannot raise the alert of a dead row", "inboxID", row.ID, "err", err)
	}
}

// unreachable tells an error that says nothing about the row: Temporal or PostgreSQL could
// not be reached, or refused everyone (rate limits, permissions, an unknown namespace).
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// PostgreSQL answered: it refused this row, unless it refused everyone (connection,
		// conflicts between transactions, resources, shutdown, system errors).
		switch pgErr.Code[:min(2, len(pgErr.Code))] {
		case "08", "40", "53", "57", "58":
			return true
		}
		return false
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.As(err, &netErr) || errors.As(err, &connErr) || pgconn.Timeout(err) ||
		is[*serviceerror.Unavailable](err) || is[*serviceerror.DeadlineExceeded](err) ||
		is[*serviceerror.Canceled](err) || is[*serviceerror.ResourceExhausted](err) ||
		is[*serviceerror.PermissionDenied](err) || is[*serviceerror.Unimplemented](err) ||
		is[*serviceerror.NamespaceNotFound](err) || is[*serviceerror.NamespaceNotActive](err) ||
		is[*serviceerror.NamespaceUnavailable](err) || is[*serviceerror.NamespaceInvalidState](err)
}

func is[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// errText is an error as last_error keeps it: no NUL, valid UTF-8, at most maxErrorLen bytes.
func errText(s string) string {
	s = noNUL(s)
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen] + "…"
	}
	return strings.ToValidUTF8(s, "")
}
