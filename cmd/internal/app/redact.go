package app

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
)

// redactFailures masks phone numbers and JIDs in the failures of every activity before they
// reach workflow history: adapters' errors (whatsmeow's above all) name clients' numbers, and
// history is kept and shown in the Web UI. Error types, retryability and retry delays are kept;
// cancellations pass untouched.
type redactFailures struct {
	interceptor.WorkerInterceptorBase
}

func (*redactFailures) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &redactActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type redactActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *redactActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	out, err := a.Next.ExecuteActivity(ctx, in)
	return out, redactError(err)
}

// redactError returns err with phone numbers masked in its message.
func redactError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || temporal.IsCanceledError(err) {
		return err
	}
	msg := err.Error()
	clean := whatsapp.RedactPhones(msg)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		if clean == msg {
			return err
		}
		return temporal.NewApplicationError(clean, fmt.Sprintf("%T", err))
	}
	if clean == msg {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(clean, appErr.Type(),
		temporal.ApplicationErrorOptions{NonRetryable: appErr.NonRetryable(), NextRetryDelay: appErr.NextRetryDelay()})
}
