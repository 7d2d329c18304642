package shard

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/notify"
)

// alertLog records the alerts of every manager of a test.
type alertLog struct {
	mu     sync.Mutex
	alerts []notify.Alert
}

func (l *alertLog) Notify(_ context.Context, a notify.Alert) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.alerts = append(l.alerts, a)
	return nil
}

func (l *alertLog) ownerless() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, a := range l.alerts {
		if a.Kind == "shard_ownerless" {
			out = append(out, a.Message)
		}
	}
	return out
}

// The owner of two shards dies and no survivor can start their workers: after OwnerlessAfter
// ops get one alert per ownerless shard, from one manager, naming the shard; none while every
// shard had an owner.
func TestOwnerlessShardAlert(t *testing.T) {
	c := newCluster(t)
	alerts := &alertLog{}
	var broken atomic.Bool
	tweak := func(name string) func(*Options) {
		return func(o *Options) {
			o.Alerts, o.OwnerlessAfter = alerts, 700*time.Millisecond
			o.NewWorker = func(k int) (Worker, error) {
				if broken.Load() {
					return nil, errors.New("temporal unreachable")
				}
				return &fakeWorker{p: c.pollers, shard: k, name: name}, nil
			}
		}
	}
	a := c.start("a", 4, tweak("a"))
	require.Eventually(t, func() bool { return len(a.m.Owned()) == 4 }, 10*time.Second, 20*time.Millisecond)
	b := c.start("b", 4, tweak("b"))
	require.Eventually(t, func() bool {
		o := c.owners(4)
		return split(o)["a"] == 2 && split(o)["b"] == 2 && c.settled(o)
	}, 10*time.Second, 20*time.Millisecond)
	time.Sleep(time.Second)
	require.Empty(t, alerts.ownerless(), "no alert while every shard has an owner")
	aShards := a.m.Owned()

	broken.Store(true)
	_, err := c.store.Pool.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'aiadmin-shards a'`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(alerts.ownerless()) >= 2 }, 10*time.Second, 20*time.Millisecond,
		"an alert for each of a's shards once they have had no owner for 700 ms")
	time.Sleep(time.Second) // more rounds of both managers
	got := alerts.ownerless()
	require.Len(t, got, 2, "one alert per ownerless shard, from one manager: %q", got)
	for _, k := range aShards {
		want := "Шард WhatsApp " + string(rune('0'+k)) + " из 4"
		require.True(t, strings.Contains(got[0], want) || strings.Contains(got[1], want), "an alert names shard %d: %q", k, got)
	}
	require.Len(t, b.m.Owned(), 2, "b keeps its shards")

	broken.Store(false)
	require.Eventually(t, func() bool { return len(c.owners(4)) == 4 }, 10*time.Second, 20*time.Millisecond)
	require.Len(t, alerts.ownerless(), 2, "no new alert once the shards have owners again")
}
