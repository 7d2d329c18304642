package inbox

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aiadmin/aiadmin/db"
)

// ErrStopped is the answer to a Save after Close: nothing was stored.
var ErrStopped = errors.New("inbox: batcher stopped")

// Defaults of Options.
const (
	DefaultMaxBatch = 128
	DefaultTimeout  = 5 * time.Second
)

// Options tune a Batcher; zero values take the defaults.
type Options struct {
	// MaxBatch is the most entries one statement stores.
	MaxBatch int
	// MaxWait, when positive, is how long the writer waits for more entries after the first
	// one of a batch (while fewer than MaxBatch are queued). The default is no wait: a batch
	// is what queued up while the previous statement ran, so a lone webhook is stored at
	// once and a busy intake still shares its commits (waiting measured slower at 32
	// clients: it adds the wait to every round).
	MaxWait time.Duration
	// Timeout bounds one statement, so that a database that does not answer fails the
	// batch's callers instead of holding them.
	Timeout time.Duration
	// AnnounceGap is the shortest time between two notifications on Channel, which tell the
	// inbox dispatcher that rows were committed (default DefaultAnnounceGap).
	AnnounceGap time.Duration
}

// Batcher is a group commit in front of Write: concurrent Save calls are queued, and one
// writer takes up to MaxBatch of them, stores them in one statement and answers each caller
// with its own result once the COMMIT has returned; meanwhile the next batch queues up. A
// statement that fails fails every caller of its batch (a data error is first retried entry
// by entry, so that one bad entry fails alone). With one writer, rows commit in the order
// of their IDs. After a commit that stored rows it notifies Channel (announcer).
type Batcher struct {
	store    *db.Store
	opts     Options
	queue    chan *request
	announce *announcer

	mu     sync.RWMutex // held for reading while sending to queue; Close takes it to close queue
	closed bool
	wg     sync.WaitGroup

	batches, entries atomic.Int64
}

type request struct {
	ctx   context.Context
	entry Entry
	done  chan Result // buffered: a writer never waits for a caller
}

// New starts a Batcher's writer on store. Close stops it.
func New(store *db.Store, opts Options) *Batcher {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.AnnounceGap <= 0 {
		opts.AnnounceGap = DefaultAnnounceGap
	}
	b := &Batcher{store: store, opts: opts, queue: make(chan *request, 4*opts.MaxBatch),
		announce: newAnnouncer(store, opts.AnnounceGap)}
	b.wg.Go(b.write)
	return b
}

// Save stores one entry and returns its row's ID once the row is committed (durable), or
// ErrWrongSecret, or the error of its batch, or ErrStopped, or ctx's error when ctx ends
// first: an entry whose caller has gone before its batch is taken is not stored, but one
// already in PostgreSQL may be.
func (b *Batcher) Save(ctx context.Context, e Entry) (int64, error) {
	r := &request{ctx: ctx, entry: e, done: make(chan Result, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return 0, ErrStopped
	}
	select {
	case b.queue <- r:
	case <-ctx.Done():
		b.mu.RUnlock()
		return 0, ctx.Err()
	}
	b.mu.RUnlock()
	select {
	case res := <-r.done:
		return res.ID, res.Err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Close stops taking entries, stores those already queued and returns when the writer has
// answered them all and announced them. Later Saves get ErrStopped.
func (b *Batcher) Close() {
	b.mu.Lock()
	first := !b.closed
	if first {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
	if first {
		b.announce.close()
	}
}

// Stats are how many statements the Batcher has run and how many entries they carried.
func (b *Batcher) Stats() (batches, entries int64) {
	return b.batches.Load(), b.entries.Load()
}

// write is the writer: it takes a batch, stores it, answers it, until the queue is closed
// and empty.
func (b *Batcher) write() {
	batch := make([]*request, 0, b.opts.MaxBatch)
	for {
		first, ok := <-b.queue
		if !ok {
			return
		}
		batch = b.gather(append(batch[:0], first))
		b.commit(batch)
		clear(batch) // let the answered requests go
	}
}

// gather adds queued requests to batch until it holds MaxBatch, or the queue is empty (with
// MaxWait: until MaxWait has passed since the first), or the queue is closed.
func (b *Batcher) gather(batch []*request) []*request {
	var deadline <-chan time.Time // nil: take only what is queued
	if b.opts.MaxWait > 0 {
		t := time.NewTimer(b.opts.MaxWait)
		defer t.Stop()
		deadline = t.C
	}
	for len(batch) < b.opts.MaxBatch {
		var r *request
		var ok bool
		if deadline == nil {
			select {
			case r, ok = <-b.queue:
			default:
				return batch
			}
		} else {
			select {
			case r, ok = <-b.queue:
			case <-deadline:
				return batch
			}
		}
		if !ok {
			return batch
		}
		batch = append(batch, r)
	}
	return batch
}

// commit stores the batch's live entries and answers every request of it.
func (b *Batcher) commit(batch []*request) {
	live := make([]*request, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- Result{Err: err} // its caller has gone: not stored
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	results, err := b.run(live)
	if err != nil && len(live) > 1 && entryRefused(err) {
		for _, r := range live {
			one, err := b.run([]*request{r})
			b.announceStored(one)
			r.done <- first(one, err)
		}
		return
	}
	b.announceStored(results)
	for i, r := range live {
		if err != nil {
			r.done <- Result{Err: err}
			continue
		}
		r.done <- results[i]
	}
}

// run is one statement over the requests' entries, bounded by Timeout.
func (b *Batcher) run(reqs []*request) ([]Result, error) {
	entries := make([]Entry, len(reqs))
	for i, r := range reqs {
		entries[i] = r.entry
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.opts.Timeout)
	defer cancel()
	b.batches.Add(1)
	b.entries.Add(int64(len(entries)))
	return Write(ctx, b.store.Queries, entries)
}

// announceStored notifies Channel when results hold a stored row.
func (b *Batcher) announceStored(results []Result) {
	for _, r := range results {
		if r.Err == nil && r.ID != 0 {
			b.announce.stored()
			return
		}
	}
}

func first(results []Result, err error) Result {
	if err != nil {
		return Result{Err: err}
	}
	return results[0]
}
