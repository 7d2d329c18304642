package httpapi

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoDemoRoutes: the production router has no simulated-phone endpoints; only the
// development binary adds them (package http/demo).
func TestNoDemoRoutes(t *testing.T) {
	srv := startServer(t, testConfig(), Deps{Temporal: closedTemporal(t)})
	status, _ := postJSON(t, srv.URL+"/demo/whatsapp/42/scan", `{"phone":"79990001122","name":"Салон"}`, nil)
	require.Equal(t, http.StatusNotFound, status, "scan: got %d want 404", status)
	status, h, body := get(t, srv.URL+"/demo/whatsapp/42/messages", nil)
	require.Equal(t, http.StatusNotFound, status, "messages: got %d want 404; body %s", status, body)
	requireJSONError(t, h, body, "not found")
}
