package ops

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/aiadmin/aiadmin/cmd/internal/app"
	"github.com/aiadmin/aiadmin/workflows"
)

// setupTimeout bounds setup-temporal: registering and waiting for the frontend to see the
// namespace and the attributes.
const setupTimeout = 60 * time.Second

// prioritiesTimeout bounds giving the running installations the owner's priority: two calls
// to Temporal per installation.
const prioritiesTimeout = 10 * time.Minute

// setupReport is what setup-temporal did.
type setupReport struct {
	Namespace        string   `json:"namespace"`
	NamespaceCreated bool     `json:"namespace_created"`
	Registered       []string `json:"registered"` // search attributes added now
	Present          []string `json:"present"`    // search attributes that were there
	// Running installation workflows given the owner's priority now, and those that had it.
	PriorityRaised  int `json:"priority_raised"`
	PriorityAlready int `json:"priority_already"`
}

// setupTemporal makes a Temporal cluster ready for AI Admin: the namespace exists and has the
// search attributes, and every running installation workflow has the owner's task priority
// (workflows.OwnerWaiting; runs started before it had none, and their continue-as-new runs
// inherit what they have). Running it again changes nothing.
func setupTemporal(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("setup-temporal", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON")
	retention := fs.Duration("retention", 7*24*time.Hour, "history retention of a namespace created now")
	if pos, err := parse(fs, args); err != nil || len(pos) > 0 {
		return fmt.Errorf("usage: setup-temporal [--retention 168h] [--json]: %w", errUsage)
	}
	tc, err := e.tc()
	if err != nil {
		return err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(parent, setupTimeout)
	defer cancel()
	ns := e.cfg.TemporalNamespace
	rep := setupReport{Namespace: ns, Registered: []string{}, Present: []string{}}
	if rep.NamespaceCreated, err = ensureNamespace(ctx, tc, ns, *retention); err != nil {
		return fmt.Errorf("temporal at %s: %w", e.cfg.TemporalAddress, err)
	}
	var missing []string
	if err := untilKnown(ctx, func() (err error) {
		missing, err = app.MissingSearchAttributes(ctx, tc.OperatorService(), ns)
		return err
	}); err != nil {
		return fmt.Errorf("list search attributes of %s: %w", ns, err)
	}
	if err := untilKnown(ctx, func() error { return app.AddSearchAttributes(ctx, tc.OperatorService(), ns, missing) }); err != nil {
		return err
	}
	// The frontend may take a moment to list what was just added: what the api and worker
	// check at start is what is waited for.
	for left := missing; len(left) > 0; {
		if left, err = app.MissingSearchAttributes(ctx, tc.OperatorService(), ns); err != nil {
			return err
		}
		if len(left) > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("search attributes %v registered but not listed yet: %w", left, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	for _, name := range app.SearchAttributes {
		if slices.Contains(missing, name) {
			rep.Registered = append(rep.Registered, name)
		} else {
			rep.Present = append(rep.Present, name)
		}
	}
	pctx, pcancel := context.WithTimeout(parent, prioritiesTimeout) // its own bound, the caller's cancellation
	defer pcancel()
	if rep.PriorityRaised, rep.PriorityAlready, err = raisePriorities(pctx, tc, ns); err != nil {
		return fmt.Errorf("give the running installations the owner's priority (%d given so far): %w", rep.PriorityRaised, err)
	}
	if *asJSON {
		return printJSON(e.out, rep)
	}
	printSetup(e.out, rep, *retention)
	return nil
}

// ensureNamespace registers the namespace when it does not exist; created reports that it did
// not.
func ensureNamespace(ctx context.Context, tc client.Client, ns string, retention time.Duration) (created bool, err error) {
	_, err = tc.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	var notFound *serviceerror.NamespaceNotFound
	if !errors.As(err, &notFound) {
		return false, err
	}
	_, err = tc.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(retention)})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return false, fmt.Errorf("register namespace %s: %w", ns, err)
	}
	return true, nil
}

// raisePriorities gives every running installation workflow of the namespace the owner's
// priority. A workflow that closed meanwhile is skipped.
func raisePriorities(ctx context.Context, tc client.Client, ns string) (raised, already int, err error) {
	want := workflows.OwnerWaiting.PriorityKey
	req := &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns,
		Query: fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", workflows.InstallationWorkflowName)}
	for {
		resp, err := tc.ListWorkflow(ctx, req)
		if err != nil {
			return raised, already, fmt.Errorf("list installations: %w", err)
		}
		for _, ex := range resp.GetExecutions() {
			id := ex.GetExecution().GetWorkflowId()
			desc, err := tc.DescribeWorkflowExecution(ctx, id, ex.GetExecution().GetRunId())
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				continue
			}
			if err != nil {
				return raised, already, fmt.Errorf("describe %s: %w", id, err)
			}
			if int(desc.GetWorkflowExecutionInfo().GetPriority().GetPriorityKey()) == want {
				already++
				continue
			}
			_, err = tc.WorkflowService().UpdateWorkflowExecutionOptions(ctx, &workflowservice.UpdateWorkflowExecutionOptionsRequest{
				Namespace:                ns,
				WorkflowExecution:        ex.GetExecution(),
				WorkflowExecutionOptions: &workflowpb.WorkflowExecutionOptions{Priority: &commonpb.Priority{PriorityKey: int32(want)}},
				UpdateMask:               &fieldmaskpb.FieldMask{Paths: []string{"priority"}},
			})
			if errors.As(err, &nf) {
				continue // it closed meanwhile
			}
			if err != nil {
				return raised, already, fmt.Errorf("set the priority of %s: %w", id, err)
			}
			raised++
		}
		if len(resp.GetNextPageToken()) == 0 {
			return raised, already, nil
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
}

// printSetup prints what setup-temporal found and did.
func printSetup(out io.Writer, rep setupReport, retention time.Duration) {
	if rep.NamespaceCreated {
		fmt.Fprintf(out, "namespace %s: registered (retention %s)\n", rep.Namespace, retention)
	} else {
		fmt.Fprintf(out, "namespace %s: exists\n", rep.Namespace)
	}
	for _, name := range app.SearchAttributes {
		state := "already registered"
		if slices.Contains(rep.Registered, name) {
			state = "registered"
		}
		fmt.Fprintf(out, "search attribute %s (Keyword): %s\n", name, state)
	}
	fmt.Fprintf(out, "running installations with the owner's priority: %d given now, %d had it\n", rep.PriorityRaised, rep.PriorityAlready)
}

// untilKnown calls fn until it stops failing with NamespaceNotFound (a namespace registered a
// moment ago is unknown to the frontend's cache for a few seconds) or ctx ends.
func untilKnown(ctx context.Context, fn func() error) error {
	for {
		err := fn()
		var nf *serviceerror.NamespaceNotFound
		if !errors.As(err, &nf) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
