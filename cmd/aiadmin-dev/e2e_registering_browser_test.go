package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/aiadmin/aiadmin/http/browsertest"
	"github.com/aiadmin/aiadmin/workflows"
)

// TestRegisteringPageInBrowser: an owner clicks «Подключить» on a phone while Temporal is too
// busy to finish the salon's registration within the register page's time (on the cluster
// during 500 owners' wave the page once answered «Сервис временно недоступен» after 30 s).
// The owner sees a page that says the salon is being registered and opens itself again; with
// no click it goes on to the connect page once the registration is done. Here the
// installation's first register update takes longer than the page waits (slowFirstRegister).
func TestRegisteringPageInBrowser(t *testing.T) {
	s := newStackAt(t, temporalAddr(t), func(su *stackSetup) {
		su.cfg.RegisterTimeout = 2 * time.Second
		su.interceptors = []interceptor.WorkerInterceptor{&slowFirstRegister{delay: 6 * time.Second}}
	})
	b := browsertest.New(t)
	p := b.Open(browsertest.Phone)
	p.Do(chromedp.Navigate(s.cfg.YClientsBaseURL + fmt.Sprintf("/_fake/marketplace/redirect?salon_id=%d", s.vladivostok)))
	waitFor(t, p, `document.title.indexOf('Регистрируем салон') === 0`, "the registering page")
	text := browsertest.Run(p, chromedp.Text("main"))
	require.Contains(t, text, "Сейчас это занимает больше времени, чем обычно")
	require.Contains(t, text, "Страница обновится сама")
	require.Contains(t, text, "Проверим снова через 5 секунд")
	comesBackOntoTheConnectPage(t, p, "registering-phone")
}

// slowFirstRegister is a worker interceptor under which an installation's first register update
// waits delay (a durable timer) before it runs: a Temporal that has taken the owner's
// registration but does not finish it within the register page's time.
type slowFirstRegister struct {
	interceptor.WorkerInterceptorBase
	delay time.Duration
}

func (i *slowFirstRegister) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &slowFirstRegisterWorkflow{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, delay: i.delay}
}

type slowFirstRegisterWorkflow struct {
	interceptor.WorkflowInboundInterceptorBase
	delay   time.Duration
	delayed bool // this execution's first register update was delayed
}

func (w *slowFirstRegisterWorkflow) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	if in.Name == workflows.UpdateRegister && !w.delayed {
		w.delayed = true
		if err := workflow.Sleep(ctx, w.delay); err != nil {
			return nil, err
		}
	}
	return w.Next.ExecuteUpdate(ctx, in)
}
