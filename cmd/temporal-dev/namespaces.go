package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	namespaceRetention = 24 * time.Hour
	// namespaceSetupTimeout bounds registering namespaces and search attributes and waiting
	// for the frontend to see them.
	namespaceSetupTimeout = 60 * time.Second
)

// setupNamespaces makes the running server ready for the application: the namespaces exist
// (PostgreSQL: registered over the API; SQLite: created in the file before the start), the
// configured search attributes exist in each, and a visibility query on them is accepted.
func setupNamespaces(hostPort string, cfg *Config) error {
	c, err := client.Dial(client.Options{HostPort: hostPort, Logger: nopLogger{}})
	if err != nil {
		return fmt.Errorf("dial own server: %w", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), namespaceSetupTimeout)
	defer cancel()
	if cfg.Server.Postgres != "" {
		if err := registerNamespaces(ctx, c, cfg.Server.Namespaces); err != nil {
			return err
		}
	}
	if err := ensureSearchAttributes(ctx, c, cfg); err != nil {
		return err
	}
	return waitQueryable(ctx, c, cfg)
}

// registerNamespaces registers the namespaces the store lacks, as an operator would.
func registerNamespaces(ctx context.Context, c client.Client, names []string) error {
	for _, name := range names {
		_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace: name, WorkflowExecutionRetentionPeriod: durationpb.New(namespaceRetention),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("register namespace %s: %w", name, err)
		}
	}
	return nil
}

// ensureSearchAttributes adds the configured search attributes a namespace lacks. A
// namespace registered a moment ago may be unknown to the frontend's cache for a few
// seconds: that is waited out.
func ensureSearchAttributes(ctx context.Context, c client.Client, cfg *Config) error {
	want, err := searchAttributeTypes(cfg)
	if err != nil || len(want) == 0 {
		return err
	}
	for _, ns := range cfg.Server.Namespaces {
		var have *operatorservice.ListSearchAttributesResponse
		err := retryNotFound(ctx, func() (err error) {
			have, err = c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
			return err
		})
		if err != nil {
			return fmt.Errorf("list search attributes of %s: %w", ns, err)
		}
		missing := map[string]enumspb.IndexedValueType{}
		for name, typ := range want {
			if _, ok := have.GetCustomAttributes()[name]; !ok {
				missing[name] = typ
			}
		}
		if len(missing) == 0 {
			continue
		}
		if err := retryNotFound(ctx, func() error {
			_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
				Namespace: ns, SearchAttributes: missing,
			})
			return err
		}); err != nil {
			return fmt.Errorf("add search attributes to %s: %w", ns, err)
		}
	}
	return nil
}

// retryNotFound calls fn until it stops failing with NamespaceNotFound or ctx ends.
func retryNotFound(ctx context.Context, fn func() error) error {
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

// waitQueryable waits until each namespace accepts a visibility query on every configured
// search attribute: the frontend's namespace cache (refreshed every 2 s) then knows them, so
// the first workflow started with them is accepted.
func waitQueryable(ctx context.Context, c client.Client, cfg *Config) error {
	var terms []string
	for name, typ := range cfg.Server.SearchAttributes {
		if typ == "Keyword" {
			terms = append(terms, fmt.Sprintf("%s = 'ready'", name))
		}
	}
	sort.Strings(terms)
	query := strings.Join(terms, " AND ")
	for _, ns := range cfg.Server.Namespaces {
		for {
			_, err := c.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
				Namespace: ns, Query: query,
			})
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("namespace %s does not answer a query on its search attributes: %w", ns, err)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}
