package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities"
	"github.com/aiadmin/aiadmin/cmd/internal/ops"
	"github.com/aiadmin/aiadmin/db/sqlc"
	"github.com/aiadmin/aiadmin/workflows"
)

// ops runs an ops command with the stack's configuration, as `aiadmin-dev <args>` would with
// the same environment, and returns what it printed.
func (s *stack) ops(args ...string) (string, error) {
	var out bytes.Buffer
	err := ops.Exec(context.Background(), s.cfg, args, &out)
	return out.String(), err
}

// TestOpsCommands runs every ops command against the whole stack: PostgreSQL, the Temporal
// server, a salon installed through the product.
func TestOpsCommands(t *testing.T) {
	s := newStack(t)
	salon := s.moscow
	id := strconv.FormatInt(salon, 10)

	_, err := s.ops("status", "999")
	require.ErrorContains(t, err, "salon 999: unknown")
	_, err = s.ops("status", "abc")
	require.ErrorContains(t, err, "want a salon ID")

	s.activate(salon)
	out, err := s.ops("status", id)
	require.NoError(t, err)
	for _, want := range []string{fmt.Sprintf("Salon %d «", salon), "active since", "installation-" + id + ", running",
		"79990001122", "last sync", "services", "inbox", "0 dead"} {
		require.Contains(t, out, want, "status:\n%s", out)
	}
	out, err = s.ops("status", "--json", id)
	require.NoError(t, err)
	var st struct {
		Workflow struct {
			Execution string
			State     workflows.State
		}
		Database struct {
			InstallStatus string `json:"install_status"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	require.Equal(t, workflows.StatusActive, st.Workflow.State.Status)
	require.Equal(t, "running", st.Workflow.Execution)
	require.Equal(t, "active", st.Database.InstallStatus)

	t.Run("resync", func(t *testing.T) {
		installID := workflows.InstallationID(salon)
		before := s.countEvents(installID, "", activityScheduled(activities.ActSync))
		out, err := s.ops("resync", id)
		require.NoError(t, err)
		require.Contains(t, out, "resync requested: "+installID)
		require.Eventually(t, func() bool {
			return s.countEvents(installID, "", activityScheduled(activities.ActSync)) > before
		}, 20*time.Second, 100*time.Millisecond, "the resync signal syncs the catalogue")
		_, err = s.ops("resync", "999")
		require.ErrorContains(t, err, "no installation workflow")
	})

	t.Run("alerts", func(t *testing.T) {
		_, err := s.app.Store.InsertOpsAlert(context.Background(), sqlc.InsertOpsAlertParams{SalonID: &salon, Level: "error",
			Kind: "ops_test", Message: "проверка alerts"})
		require.NoError(t, err)
		out, err := s.ops("alerts", "--since", "1h")
		require.NoError(t, err)
		require.Contains(t, out, "ops_test")
		require.Contains(t, out, "проверка alerts")
		out, err = s.ops("alerts", "--salon", id, "--json")
		require.NoError(t, err)
		var list []map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &list), out)
		require.NotEmpty(t, list)
		require.Equal(t, "ops_test", list[0]["kind"], "newest first")
		out, err = s.ops("alerts", "--salon", "999")
		require.NoError(t, err)
		require.Contains(t, out, "0 alert(s)")
	})

	t.Run("inbox", func(t *testing.T) { s.opsInbox(t, salon) })
	t.Run("relink-link", func(t *testing.T) { s.opsRelink(t, salon) })
}

// opsInbox: a webhook the dispatcher gave up on is listed and handed on again.
func (s *stack) opsInbox(t *testing.T, salon int64) {
	ctx := context.Background()
	s.noPacing(salon)
	_, local := localIn(t, "Europe/Moscow", 3, "13:00")
	rec := s.bookRecord(salon, local)
	var rowID int64
	require.Eventually(t, func() bool {
		// The dispatcher handed it on; the test then plays a row Temporal refused ten times.
		return s.app.Store.Pool.QueryRow(ctx, `UPDATE webhook_inbox SET state = 'dead', attempts = 10, last_error = 'refused (test)'
			WHERE salon_id = $1 AND resource_id = $2 AND state = 'processed' RETURNING id`, salon, rec.ID).Scan(&rowID) == nil
	}, 15*time.Second, 50*time.Millisecond, "the booking webhook arrives")

	out, err := s.ops("inbox", "dead-letters")
	require.NoError(t, err)
	require.Contains(t, out, fmt.Sprintf("#%d", rowID))
	require.Contains(t, out, "refused (test)")
	out, err = s.ops("inbox", "dead-letters", "--salon", "999", "--json")
	require.NoError(t, err)
	require.JSONEq(t, "[]", out)

	out, err = s.ops("inbox", "retry", strconv.FormatInt(rowID, 10))
	require.NoError(t, err)
	require.Contains(t, out, "pending again")
	require.Eventually(t, func() bool {
		row, err := s.app.Store.GetInbox(ctx, rowID)
		return err == nil && row.State == "processed" && row.Attempts == 1
	}, 15*time.Second, 50*time.Millisecond, "the dispatcher hands the retried row on")
	_, err = s.ops("inbox", "retry", strconv.FormatInt(rowID, 10))
	require.ErrorContains(t, err, "is processed, not dead")
	_, err = s.ops("inbox", "retry", "99999999")
	require.ErrorContains(t, err, "no webhook")
}

// opsRelink: support's re-link link opens nothing while the salon is linked, and the connect
// page once the phone unlinked.
func (s *stack) opsRelink(t *testing.T, salon int64) {
	id := strconv.FormatInt(salon, 10)
	_, err := s.ops("relink-link", id)
	require.ErrorContains(t, err, "is active, not needs_relink")

	resp, err := s.http.Post(s.cfg.PublicURL+fmt.Sprintf("/demo/whatsapp/%d/event", salon), "application/json",
		strings.NewReader(`{"state":"logged_out"}`))
	require.NoError(t, err)
	resp.Body.Close()
	s.waitSalonStatus(salon, workflows.StatusNeedsRelink)
	out, err := s.ops("relink-link", id)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	link := lines[len(lines)-1]
	require.True(t, strings.HasPrefix(link, s.cfg.PublicURL+"/connect/relink?token="), "got %s", out)
	code, body, token := s.page(link)
	require.Equal(t, http.StatusOK, code, body)
	require.NotEmpty(t, token, "the re-link page opens the connect page")
}
