package dispatcher

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/sqlc"
)

// maxFinishBatch bounds the rows one finishing statement records.
const maxFinishBatch = 128

// finisher records how a pass's rows ended. A lane waits for its row's end to be recorded
// before it starts the next row, as with a statement of its own; the ends that queue up while
// one statement runs are recorded together by the next (one UPDATE, one COMMIT: a group
// commit), so that the lanes working in parallel do not cost a WAL flush per row.
type finisher struct {
	store *db.Store
	token string
	queue chan finishRequest
	wg    sync.WaitGroup

	statements *atomic.Int64 // statements run (the dispatcher's count, for tests)
}

type finishRequest struct {
	id          int64
	state, note string
	done        chan finishResult // buffered: the writer never waits for a lane
}

// finishResult says whether the row's lease was still held (false: nothing was recorded), or
// why the statement failed.
type finishResult struct {
	held bool
	err  error
}

// newFinisher starts the writer; stop ends it once every queued end is recorded.
func newFinisher(store *db.Store, token string, statements *atomic.Int64) *finisher {
	f := &finisher{store: store, token: token, queue: make(chan finishRequest, maxFinishBatch), statements: statements}
	f.wg.Go(f.write)
	return f
}

// finish records one row's end and waits for the statement that carried it.
func (f *finisher) finish(id int64, state, note string) (held bool, err error) {
	r := finishRequest{id: id, state: state, note: note, done: make(chan finishResult, 1)}
	f.queue <- r
	res := <-r.done
	return res.held, res.err
}

// stop ends the writer; no finish may be called after it.
func (f *finisher) stop() {
	close(f.queue)
	f.wg.Wait()
}

func (f *finisher) write() {
	batch := make([]finishRequest, 0, maxFinishBatch)
	for first := range f.queue {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxFinishBatch {
			select {
			case r, ok := <-f.queue:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		f.record(batch)
	}
}

// record runs one statement for the batch, bounded by dbTimeout, and answers every request of
// it.
func (f *finisher) record(batch []finishRequest) {
	p := sqlc.FinishInboxRowsParams{ClaimToken: f.token, Ids: make([]int64, len(batch)),
		States: make([]string, len(batch)), LastErrors: make([]string, len(batch))}
	for i, r := range batch {
		p.Ids[i], p.States[i], p.LastErrors[i] = r.id, r.state, r.note
	}
	// Not the lanes' context: a row handed on just before a stop is recorded as such.
	ctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	f.statements.Add(1)
	ids, err := f.store.FinishInboxRows(ctx, p)
	held := make(map[int64]bool, len(ids))
	for _, id := range ids {
		held[id] = true
	}
	for _, r := range batch {
		r.done <- finishResult{held: held[r.id], err: err}
	}
}
