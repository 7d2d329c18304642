package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/aiadmin/aiadmin/activities/yclients/yclientsfake"
	"github.com/aiadmin/aiadmin/workflows"
)

// TestRegisterWhileTemporalIsBusy: the register update has not finished by the page's deadline
// (Temporal too busy to run the salon's workflow task; here nobody polls the task queue at
// all). As seen on the cluster during 500 owners' wave (make bench CLUSTER=1, 2026-12-06
// 03:10), the owner then got «Сервис временно недоступен» after 30 s and had to reload by
// hand. The owner now gets the page that says the salon is being registered and opens itself
// again a few seconds later, with nothing to press; each visit asks the installation again,
// which is one workflow run however often the page comes back.
func TestRegisterWhileTemporalIsBusy(t *testing.T) {
	tc := realTemporal(t)
	salons, fake := testSalons(t)
	salon := 2_000_000_000 + rand.Int64N(1_000_000_000)
	fake.AddSalon(yclientsfake.Salon{ID: salon, Title: "Салон «Очередь»"})
	id := workflows.InstallationID(salon)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tc.TerminateWorkflow(ctx, id, "", "test over")
	})
	cfg := testConfig()
	cfg.TaskQueue = fmt.Sprintf("httpapi-test-nobody-%d", salon) // no worker: the update waits
	cfg.RegisterTimeout = 2 * time.Second
	srv := startServer(t, cfg, Deps{Temporal: tc, Salons: salons})
	data := `{"id":7,"salon_name":"Салон «Очередь»"}`
	page := srv.URL + "/marketplace/register?" + url.Values{"salon_id": {strconv.FormatInt(salon, 10)},
		"user_data": {base64.URLEncoding.EncodeToString([]byte(data))}, "user_data_sign": {sign(testPartnerToken, []byte(data))}}.Encode()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var run string
	for visit := 1; visit <= 2; visit++ {
		began := time.Now()
		status, h, body := get(t, page, nil)
		require.Equal(t, http.StatusAccepted, status, "visit %d: the page: %s", visit, pageTitleOf(body))
		require.Less(t, time.Since(began), cfg.RegisterTimeout+3*time.Second, "visit %d: answered at the deadline", visit)
		require.Contains(t, body, "Регистрируем салон")
		require.Contains(t, body, "Страница обновится сама")
		require.NotContains(t, body, "Обновить</a>", "no button to press")
		require.NotContains(t, body, "data-token", "no session before the installation took the owner")
		retry, err := strconv.Atoi(h.Get("Retry-After"))
		require.NoError(t, err, "Retry-After: %q", h.Get("Retry-After"))
		require.Equal(t, int(registeringRefresh/time.Second), retry, "Retry-After")
		require.Contains(t, body, `<meta http-equiv="refresh" content="`+strconv.Itoa(retry)+`">`)
		require.Equal(t, "no-store", h.Get("Cache-Control"))

		desc, err := tc.DescribeWorkflowExecution(ctx, id, "")
		require.NoError(t, err, "visit %d: the installation was started", visit)
		info := desc.WorkflowExecutionInfo
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, info.Status, "visit %d: the installation waits for a worker", visit)
		if run == "" {
			run = info.Execution.RunId
		}
		require.Equal(t, run, info.Execution.RunId, "visit %d: the page came back to the same run", visit)
	}
}
