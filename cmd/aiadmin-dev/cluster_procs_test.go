package main

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestResolveAddrNeverHandsOutAPortTwice: the ports a cluster's processes get are chosen
// before the processes listen on them, so two of them given the same one means the second
// cannot start (CI saw worker-1's OPS_ADDR be api-1's HTTP_ADDR). Every port handed out is
// free when handed out, below the kernel's ephemeral range, and never handed out again.
func TestResolveAddrNeverHandsOutAPortTwice(t *testing.T) {
	seen := map[int]bool{}
	hi := ephemeralLow()
	for range 1000 {
		addr, err := resolveAddr("127.0.0.1:0")
		require.NoError(t, err)
		_, p, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		port, err := strconv.Atoi(p)
		require.NoError(t, err)
		require.False(t, seen[port], "port %d handed out twice (after %d others)", port, len(seen))
		require.True(t, port >= 20000 && port < hi, "port %d outside 20000-%d", port, hi)
		seen[port] = true
	}
	// An address with a port of its own is given back as it is.
	addr, err := resolveAddr("127.0.0.1:7233")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7233", addr)
}
