package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/workflows"
)

// TestEndToEndRealAdapterWithoutNetwork: with WHATSAPP_MODE=whatsmeow (the real adapter,
// its session store on PostgreSQL) and WhatsApp unreachable, as on this machine, the connect
// page says within seconds that WhatsApp cannot be reached and offers a new attempt.
func TestEndToEndRealAdapterWithoutNetwork(t *testing.T) {
	s := newStackWith(t, func(c *config.Config) { c.WhatsAppMode = "whatsmeow"; c.Demo = false })
	token := s.install(s.cfg.YClientsBaseURL)
	conn := s.dial(token)
	start := time.Now()
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	failed := func(f frame) bool { return f.Type == "error" || (f.Type == "status" && f.Pairing == "error") }
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	for {
		var f frame
		require.NoError(t, conn.ReadJSON(&f))
		t.Logf("frame %s: %s %s %q", f.Type, f.Status, f.Pairing, f.Message)
		require.NotEqual(t, "qr", f.Type, "no QR can exist without WhatsApp")
		if failed(f) {
			break
		}
	}
	require.Less(t, time.Since(start), 20*time.Second, "fails fast, never hangs")
	require.Eventually(t, func() bool { return s.state().Pairing.LastOutcome == activities.PairFailed }, 10*time.Second, 20*time.Millisecond)
	st := s.state()
	require.Equal(t, workflows.StatusPendingWhatsApp, st.Status)
	require.Contains(t, st.Pairing.LastError, "Не удаётся связаться с серверами WhatsApp", "the page shows this text")
	require.Contains(t, st.Pairing.LastError, "Показать новый код", "a retry is offered")
	// Retry: the page's «Показать новый код» sends request-qr again; it fails the same way.
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	require.Eventually(t, func() bool {
		st := s.state()
		return st.Pairing.Attempt == 2 && !st.Pairing.Running && st.Pairing.LastOutcome == activities.PairFailed
	}, 20*time.Second, 20*time.Millisecond)
}
