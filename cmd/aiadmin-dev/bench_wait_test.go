package main

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBenchWaitProgressWaitsWhileSendsArrive: a benchmark waits for its last sends while they
// keep arriving, past its minimum wait (a backlog on a slow machine is slow, not lost: `make
// bench` failed P4 when the skeleton's last sends came after 2 minutes), and stops waiting
// once none has come for the stall time.
func TestBenchWaitProgressWaitsWhileSendsArrive(t *testing.T) {
	var sent atomic.Int64
	go func() {
		for range 10 {
			time.Sleep(30 * time.Millisecond)
			sent.Add(1)
		}
	}()
	benchWaitProgress(50*time.Millisecond, 200*time.Millisecond, 10*time.Second, 10, func() int { return int(sent.Load()) })
	require.EqualValues(t, 10, sent.Load(), "sends that kept arriving past the minimum wait were waited for")

	start := time.Now()
	benchWaitProgress(50*time.Millisecond, 200*time.Millisecond, 10*time.Second, 10, func() int { return 3 })
	waited := time.Since(start)
	require.GreaterOrEqual(t, waited, 200*time.Millisecond, "the stall is waited out")
	require.Less(t, waited, 5*time.Second, "sends that stopped coming are not waited for until the limit")
}
