package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSupportURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"":                               true,
		"https://t.me/aiadmin_support":   true,
		" https://aiadmin.example/help ": true, // trimmed
		"mailto:support@aiadmin.example": true,
		"javascript:alert(1)":            false,
		"t.me/aiadmin_support":           false,
		"https://":                       false,
		"mailto:support":                 false,
		"ftp://aiadmin.example":          false,
	} {
		t.Run(raw, func(t *testing.T) {
			t.Setenv("DATA_DIR", t.TempDir())
			t.Setenv("SUPPORT_URL", raw)
			c, err := Load(true) // demo mode: no credentials needed
			if !ok {
				require.ErrorContains(t, err, "SUPPORT_URL", "got %v, want SUPPORT_URL refused", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, strings.TrimSpace(raw), c.SupportURL, "got %q", c.SupportURL)
		})
	}
}

func TestOpsAddr(t *testing.T) {
	t.Setenv("DATA_DIR", t.TempDir())
	t.Setenv("OPS_ADDR", "")
	c, err := Load(true)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9090", c.OpsAddr, "default: got %q", c.OpsAddr)
	t.Setenv("OPS_ADDR", "0.0.0.0:9191")
	c, err = Load(true)
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9191", c.OpsAddr, "OPS_ADDR: got %q", c.OpsAddr)
}

// PPROF_ADDR is off by default; set, it takes a loopback or private host:port and refuses
// every interface, a public address or something that is not host:port.
func TestPProfAddr(t *testing.T) {
	cleanEnv(t)
	c, err := Load(true)
	require.NoError(t, err)
	require.Empty(t, c.PProfAddr, "no profiles unless asked for")
	for _, ok := range []string{"127.0.0.1:6060", "localhost:6060", "[::1]:6060", "10.0.3.7:6060", "192.168.1.2:0"} {
		t.Setenv("PPROF_ADDR", ok)
		c, err := Load(true)
		require.NoError(t, err, ok)
		require.Equal(t, ok, c.PProfAddr)
	}
	for _, bad := range []string{":6060", "0.0.0.0:6060", "[::]:6060", "8.8.8.8:6060", "example.com:6060", "127.0.0.1", "127.0.0.1:http"} {
		t.Setenv("PPROF_ADDR", bad)
		_, err := Load(true)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "PPROF_ADDR", bad)
	}
}

func TestReviewDelay(t *testing.T) {
	cleanEnv(t)
	c, err := Load(true)
	require.NoError(t, err)
	require.True(t, c.Demo)
	require.Equal(t, DemoReviewDelay, c.ReviewDelay, "demo: requests within a minute")
	t.Setenv("REVIEW_DELAY", "2m")
	c, err = Load(true)
	require.NoError(t, err)
	require.Equal(t, 2*time.Minute, c.ReviewDelay)
	t.Setenv("REVIEW_DELAY", "soon")
	_, err = Load(true)
	require.ErrorContains(t, err, "REVIEW_DELAY")
	cleanEnv(t)
	for k, v := range production {
		t.Setenv(k, v)
	}
	c, err = LoadWith(Options{})
	require.NoError(t, err)
	require.Zero(t, c.ReviewDelay, "production: each salon's review_delay_minutes")
}
