package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/aiadmin/aiadmin/workflows"
)

// SearchAttributes are the custom search attributes the workflows set; `aiadmin
// setup-temporal` registers them, api and worker refuse to run without them.
var SearchAttributes = []string{
	workflows.SearchAttrSalonID.GetName(),
	workflows.SearchAttrInstallStatus.GetName(),
	workflows.SearchAttrWhatsAppState.GetName(),
}

// MissingSearchAttributes lists the SearchAttributes the namespace lacks, or has with another
// type than Keyword.
func MissingSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string) ([]string, error) {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, name := range SearchAttributes {
		if t, ok := resp.GetCustomAttributes()[name]; !ok || t != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

// AddSearchAttributes registers the missing ones as Keyword; registering is idempotent, and
// an attribute that exists with another type is an error an operator must resolve.
func AddSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	add := map[string]enumspb.IndexedValueType{}
	for _, name := range names {
		t, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			add[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		case t != enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			return fmt.Errorf("search attribute %s exists with type %s, want Keyword: remove it (temporal operator search-attribute remove) and run setup-temporal again", name, t)
		}
	}
	if len(add) == 0 {
		return nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: add})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// searchAttrRetry bounds the wait between checks while Temporal cannot be reached.
const (
	searchAttrFirstRetry = 2 * time.Second
	searchAttrMaxRetry   = time.Minute
)

// checkSearchAttributes asks Temporal once whether the namespace has the search attributes and
// reports an error to errc when it does not: the process stops, naming the command that
// fixes it. While Temporal cannot be reached it keeps asking in the background: the api goes
// on storing webhooks meanwhile.
func (a *App) checkSearchAttributes(ctx context.Context, errc chan<- error) {
	delay := searchAttrFirstRetry
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		missing, err := MissingSearchAttributes(cctx, a.Temporal.OperatorService(), a.Cfg.TemporalNamespace)
		cancel()
		if err == nil {
			if len(missing) == 0 {
				a.Logger.Debug("temporal search attributes present", "namespace", a.Cfg.TemporalNamespace)
				return
			}
			err = fmt.Errorf("temporal namespace %q lacks the search attributes %s: run `aiadmin setup-temporal` once with this configuration",
				a.Cfg.TemporalNamespace, strings.Join(missing, ", "))
			select {
			case errc <- err:
			case <-ctx.Done():
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		a.Logger.Warn("temporal: cannot check the search attributes yet; checking again later",
			"namespace", a.Cfg.TemporalNamespace, "retryIn", delay, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, searchAttrMaxRetry)
	}
}
