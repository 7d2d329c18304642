package inbox

import (
	"context"
	"time"

	"github.com/aiadmin/aiadmin/db"
)

// Channel is the PostgreSQL notification channel on which the intake announces that it has
// committed webhooks; the inbox dispatcher, in whichever process holds its lock, listens on
// it and looks at the inbox at once instead of at its next poll. A notification carries
// nothing: the inbox is the queue, and a lost notification only delays a row until the poll.
const Channel = "aiadmin_inbox"

// DefaultAnnounceGap is Options.AnnounceGap's default.
const DefaultAnnounceGap = 10 * time.Millisecond

// announcer sends the notifications of one Batcher: the first commit after a quiet spell is
// announced at once, later ones at most once per gap (a busy intake costs PostgreSQL at most
// 1/gap notifications a second, and the last commit of a burst is always announced).
type announcer struct {
	notify func(context.Context) error
	gap    time.Duration
	kick   chan struct{} // buffered 1: commits not announced yet
	stop   chan struct{}
	done   chan struct{}
}

func newAnnouncer(store *db.Store, gap time.Duration) *announcer {
	return newAnnouncerFunc(func(ctx context.Context) error {
		_, err := store.Pool.Exec(ctx, "SELECT pg_notify($1, '')", Channel)
		return err
	}, gap)
}

func newAnnouncerFunc(notify func(context.Context) error, gap time.Duration) *announcer {
	a := &announcer{notify: notify, gap: gap, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go a.run()
	return a
}

// stored tells that rows were committed; it never waits.
func (a *announcer) stored() {
	select {
	case a.kick <- struct{}{}:
	default: // already due
	}
}

// close stops the announcer, announcing at once the commits told before it and not yet
// announced. stored must not be called after it.
func (a *announcer) close() {
	close(a.stop)
	<-a.done
}

func (a *announcer) run() {
	defer close(a.done)
	gap := time.NewTimer(0)
	defer gap.Stop()
	for {
		select {
		case <-a.kick:
		case <-a.stop:
			a.flush()
			return
		}
		a.send()
		gap.Reset(a.gap)
		select {
		case <-gap.C:
		case <-a.stop:
			a.flush()
			return
		}
	}
}

func (a *announcer) flush() {
	select {
	case <-a.kick:
		a.send()
	default:
	}
}

func (a *announcer) send() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = a.notify(ctx) // a notification that fails costs the dispatcher's poll interval, no row
}
