package shard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/aiadmin/aiadmin/activities/whatsapp/simphone"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/db/dbtest"
)

// fakeWA is WhatsApp as the shards see it: who holds each salon's live connection, and how
// often a connect pushed another holder off («stream replaced»).
type fakeWA struct {
	mu       sync.Mutex
	devices  []int64
	live     map[int64]string
	replaced int
}

func newFakeWA(n int) *fakeWA {
	wa := &fakeWA{live: map[int64]string{}}
	for i := 1; i <= n; i++ {
		wa.devices = append(wa.devices, int64(1000+i))
	}
	return wa
}

func (wa *fakeWA) holders() map[int64]string {
	wa.mu.Lock()
	defer wa.mu.Unlock()
	out := map[int64]string{}
	for k, v := range wa.live {
		out[k] = v
	}
	return out
}

// sessions is one process's view of fakeWA.
type sessions struct {
	wa   *fakeWA
	name string
}

func (s sessions) Linked(context.Context) ([]int64, error) { return slices.Clone(s.wa.devices), nil }

func (s sessions) Connect(_ context.Context, ids []int64) error {
	s.wa.mu.Lock()
	defer s.wa.mu.Unlock()
	for _, id := range ids {
		if h := s.wa.live[id]; h != "" && h != s.name {
			s.wa.replaced++
		}
		s.wa.live[id] = s.name
	}
	return nil
}

func (s sessions) Release(_ context.Context, ids []int64) error {
	s.wa.mu.Lock()
	defer s.wa.mu.Unlock()
	for _, id := range ids {
		if s.wa.live[id] == s.name {
			delete(s.wa.live, id)
		}
	}
	return nil
}

// pollers records which process polls each shard queue, and any overlap.
type pollers struct {
	mu       sync.Mutex
	running  map[int]string
	overlaps int
}

type fakeWorker struct {
	p     *pollers
	shard int
	name  string
}

func (w *fakeWorker) Start() error {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.running[w.shard] != "" {
		w.p.overlaps++
	}
	w.p.running[w.shard] = w.name
	return nil
}

func (w *fakeWorker) Stop() {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.running[w.shard] == w.name {
		delete(w.p.running, w.shard)
	}
}

type cluster struct {
	t       *testing.T
	store   *db.Store
	dsn     string
	scope   string
	wa      *fakeWA
	pollers *pollers
}

func newCluster(t *testing.T) *cluster {
	store, dsn := dbtest.New(t)
	return &cluster{t: t, store: store, dsn: dsn, scope: "default/" + t.Name(), wa: newFakeWA(20),
		pollers: &pollers{running: map[int]string{}}}
}

type proc struct {
	m    *Manager
	stop context.CancelFunc
	done chan struct{}
}

func (c *cluster) start(name string, shards int, tweaks ...func(*Options)) *proc {
	c.t.Helper()
	opts := Options{
		DSN: c.dsn, Scope: c.scope, Shards: shards, Name: name, Retry: 100 * time.Millisecond,
		ShardOf:   func(id int64) int { return int(id % int64(shards)) },
		NewWorker: func(k int) (Worker, error) { return &fakeWorker{p: c.pollers, shard: k, name: name}, nil },
		Sessions:  sessions{wa: c.wa, name: name},
	}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	m, err := New(opts)
	require.NoError(c.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{m: m, stop: cancel, done: make(chan struct{})}
	go func() { defer close(p.done); _ = m.Run(ctx) }()
	c.t.Cleanup(p.shutdown)
	return p
}

func (p *proc) shutdown() {
	p.stop()
	<-p.done
}

// owners maps shard -> process name, from PostgreSQL.
func (c *cluster) owners(shards int) map[int]string {
	c.t.Helper()
	got, err := Owners(context.Background(), c.store.Pool, c.scope, shards)
	require.NoError(c.t, err)
	out := map[int]string{}
	for k, app := range got {
		out[k] = strings.TrimPrefix(app, "aiadmin-shards ")
	}
	return out
}

// settled reports whether PostgreSQL, the pollers and the connections agree that want
// (shard -> process) is the ownership.
func (c *cluster) settled(want map[int]string) bool {
	if fmt.Sprint(c.owners(len(want))) != fmt.Sprint(want) {
		return false
	}
	c.pollers.mu.Lock()
	polling := fmt.Sprint(c.pollers.running)
	c.pollers.mu.Unlock()
	if polling != fmt.Sprint(want) {
		return false
	}
	live := c.wa.holders()
	for _, id := range c.wa.devices {
		if live[id] != want[int(id%int64(len(want)))] {
			return false
		}
	}
	return true
}

func split(m map[int]string) map[string]int {
	out := map[string]int{}
	for _, name := range m {
		out[name]++
	}
	return out
}

func TestTwoProcessesSplitTheShardsAndTakeOverOnShutdown(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", 4)
	require.Eventually(t, func() bool { return c.settled(map[int]string{0: "a", 1: "a", 2: "a", 3: "a"}) },
		10*time.Second, 20*time.Millisecond, "a alone owns every shard")
	require.Equal(t, []int{0, 1, 2, 3}, a.m.Owned())

	b := c.start("b", 4)
	require.Eventually(t, func() bool {
		o := c.owners(4)
		return len(o) == 4 && split(o)["a"] == 2 && split(o)["b"] == 2 && c.settled(o)
	}, 10*time.Second, 20*time.Millisecond, "a hands two shards to b")
	require.Len(t, a.m.Owned(), 2)
	require.Len(t, b.m.Owned(), 2)
	for _, id := range c.wa.devices {
		require.Equal(t, a.m.Owns(id), !b.m.Owns(id), "salon %d has exactly one owner", id)
	}

	a.shutdown()
	require.Eventually(t, func() bool { return c.settled(map[int]string{0: "b", 1: "b", 2: "b", 3: "b"}) },
		10*time.Second, 20*time.Millisecond, "b takes a's shards")
	require.Zero(t, c.wa.replaced, "no connection was ever pushed off")
	require.Zero(t, c.pollers.overlaps, "no shard queue was ever polled by two processes")
}

// A process whose lock connection dies stops using its shards at once; the other takes them
// and the process comes back as a standby that gets its share again.
func TestLockConnectionLoss(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", 4)
	require.Eventually(t, func() bool { return len(a.m.Owned()) == 4 }, 10*time.Second, 20*time.Millisecond)
	c.start("b", 4)
	require.Eventually(t, func() bool {
		o := c.owners(4)
		return split(o)["a"] == 2 && split(o)["b"] == 2 && c.settled(o)
	}, 10*time.Second, 20*time.Millisecond)
	aSalon := c.wa.devices[slices.IndexFunc(c.wa.devices, a.m.Owns)]

	_, err := c.store.Pool.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'aiadmin-shards a'`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !a.m.Owns(aSalon) }, 2*time.Second, 5*time.Millisecond, "a fences itself at once")
	require.Eventually(t, func() bool {
		o := c.owners(4)
		return len(o) == 4 && c.settled(o) && split(o)["b"] >= 2
	}, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		o := c.owners(4)
		return split(o)["a"] == 2 && split(o)["b"] == 2 && c.settled(o)
	}, 15*time.Second, 20*time.Millisecond, "a reconnects and gets its share back")
	require.Zero(t, c.pollers.overlaps)
}

// Workers with different shard counts would give a salon two owners: the newcomer waits.
func TestDifferentShardCountsNeverOwnAtOnce(t *testing.T) {
	c := newCluster(t)
	a := c.start("a", 4)
	require.Eventually(t, func() bool { return len(a.m.Owned()) == 4 }, 10*time.Second, 20*time.Millisecond)
	b := c.start("b", 8)
	time.Sleep(500 * time.Millisecond) // five retry rounds of b
	require.Empty(t, b.m.Owned(), "b takes nothing while a worker with 4 shards runs")
	require.Len(t, a.m.Owned(), 4)
	a.shutdown()
	require.Eventually(t, func() bool { return len(b.m.Owned()) == 8 }, 10*time.Second, 20*time.Millisecond)
	require.Zero(t, c.wa.replaced)
}

func TestGuard(t *testing.T) {
	c := newCluster(t)
	// b owns shard 1 of 2, a owns shard 0.
	b := c.start("b", 2)
	require.Eventually(t, func() bool { return len(b.m.Owned()) == 2 }, 10*time.Second, 20*time.Millisecond)
	a := c.start("a", 2)
	require.Eventually(t, func() bool {
		return fmt.Sprint(a.m.Owned()) == "[0]" && fmt.Sprint(b.m.Owned()) == "[1]" ||
			fmt.Sprint(a.m.Owned()) == "[1]" && fmt.Sprint(b.m.Owned()) == "[0]"
	}, 10*time.Second, 20*time.Millisecond)
	mine, theirs := int64(2000), int64(2001)
	if !a.m.Owns(mine) {
		mine, theirs = theirs, mine
	}
	phone := simphone.New(simphone.Options{FirstQR: 5 * time.Second, ConnectDelay: time.Millisecond})
	g := a.m.Guard(phone)
	ctx := context.Background()

	_, err := g.Send(ctx, theirs, whatsapp.Message{ID: "x", Phone: "79161234567", Text: "x"})
	require.ErrorIs(t, err, ErrNotOwner)
	require.ErrorIs(t, err, whatsapp.ErrNotConnected, "retryable")
	_, err = g.PairQR(ctx, theirs)
	require.ErrorIs(t, err, ErrNotOwner)
	require.ErrorIs(t, g.Reconnect(ctx, theirs), ErrNotOwner)
	require.ErrorIs(t, g.Unlink(ctx, theirs), ErrNotOwner)
	require.ErrorIs(t, g.Disconnect(ctx, theirs), ErrNotOwner)
	st, err := g.Status(ctx, theirs)
	require.NoError(t, err, "status is read-only: passed through")
	require.Equal(t, whatsapp.StateUnlinked, st.State)

	ch, err := g.PairQR(ctx, mine)
	require.NoError(t, err)
	require.Equal(t, whatsapp.PairQR, (<-ch).Kind)
	require.NoError(t, phone.Scan(mine, "79990001122", "Салон"))
	require.Equal(t, whatsapp.PairSuccess, (<-ch).Kind)
	_, err = g.Send(ctx, mine, whatsapp.Message{ID: "y", Phone: "79161234567", Text: "y"})
	require.NoError(t, err)

	// Losing the shard ends a running pairing attempt without a terminal item.
	ch, err = g.PairPhone(ctx, mine, "79990001122")
	require.NoError(t, err)
	require.Equal(t, whatsapp.PairCode, (<-ch).Kind)
	_, err = c.store.Pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'aiadmin-shards a'`)
	require.NoError(t, err)
	select {
	case ev, ok := <-ch:
		require.False(t, ok, "got %+v", ev)
	case <-time.After(5 * time.Second):
		t.Fatal("pairing attempt still running after the shard was lost")
	}
	_, err = g.Send(ctx, mine, whatsapp.Message{ID: "z", Phone: "79161234567", Text: "z"})
	require.True(t, errors.Is(err, ErrNotOwner) || err == nil, "got %v", err) // a may have won the shard back
}
