package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/workflows"
)

// TestEndToEndRealAdapterWithoutNetwork: with WHATSAPP_MODE=whatsmeow (the real adapter,
// its session store on PostgreSQL) and WhatsApp unreachable, as on this machine, the connect
// page says within seconds that WhatsApp cannot be reached and offers a new attempt.
func TestEndToEndRealAdapterWithoutNetwork(t *testing.T) {
	s := newStackWith(t, func(c *Config) { c.WhatsAppMode = "whatsmeow"; c.Demo = false })
	token := s.install(s.cfg.YClientsBaseURL)
	conn := s.dial(token)
	start := time.Now()
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	var errFrame frame
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	for {
		var f frame
		require.NoError(t, conn.ReadJSON(&f))
		// The failure arrives as an error frame, or, when it happened before the page's feed
		// started, as the status frame's text.
		if f.Type == "error" || (f.Type == "status" && strings.Contains(f.Message, "WhatsApp") && strings.Contains(f.Message, "Не удаётся")) {
			errFrame = f
			break
		}
		require.NotEqual(t, "qr", f.Type, "no QR can exist without WhatsApp")
	}
	require.Less(t, time.Since(start), 20*time.Second, "fails fast, never hangs")
	require.Contains(t, errFrame.Message, "Не удаётся связаться с серверами WhatsApp")
	require.Contains(t, errFrame.Message, "Показать новый код", "a retry is offered")
	st := s.state()
	require.Equal(t, workflows.StatusPendingWhatsApp, st.Status)
	require.Equal(t, workflows.PairOutcomeError, st.Pairing.LastOutcome)
	// Retry: the page's «Показать новый код» sends request-qr again; it fails the same way.
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "request-qr"}))
	for {
		var f frame
		require.NoError(t, conn.ReadJSON(&f))
		if f.Type == "error" || (f.Type == "status" && strings.Contains(f.Message, "Не удаётся")) {
			require.True(t, strings.Contains(f.Message, "WhatsApp"))
			break
		}
	}
	require.Eventually(t, func() bool { return s.state().Pairing.Attempt == 2 }, 10*time.Second, 20*time.Millisecond)
}
