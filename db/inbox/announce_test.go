package inbox

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The first commit after a quiet spell is announced at once; the commits during the gap that
// follows make one more notification, which a close does not lose.
func TestAnnouncerLeadsAndTrails(t *testing.T) {
	calls := make(chan struct{}, 10)
	a := newAnnouncerFunc(func(context.Context) error { calls <- struct{}{}; return nil }, time.Hour)
	a.stored()
	select {
	case <-calls:
	case <-time.After(5 * time.Second):
		t.Fatal("the first commit was not announced at once")
	}
	a.stored()
	a.stored()
	require.Empty(t, calls, "within the gap nothing more is sent")
	a.close()
	require.Len(t, calls, 1, "the commits of the gap are announced once, at close")
}
