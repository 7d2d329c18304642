package app

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

	"github.com/aiadmin/aiadmin/cmd/internal/config"
	"github.com/aiadmin/aiadmin/db/secretbox"
)

// The process's calls to Temporal go uncompressed unless TEMPORAL_GRPC_COMPRESSION=gzip (the
// SDK's own default is gzip): what each call to a real Temporal server was sent with, as the
// client's interceptors see it.
func TestTemporalCompression(t *testing.T) {
	addr := os.Getenv("TEMPORAL_ADDRESS")
	if addr == "" {
		t.Skip("TEMPORAL_ADDRESS is not set: run through cmd/temporal-dev/with-temporal.sh")
	}
	box, err := secretbox.New(make([]byte, 32))
	require.NoError(t, err)
	for _, tc := range []struct{ setting, want string }{{"", ""}, {"none", ""}, {"gzip", "gzip"}} {
		t.Run("setting "+tc.setting, func(t *testing.T) {
			cfg := &config.Config{TemporalAddress: addr, TemporalNamespace: "default", TemporalCompression: tc.setting}
			opts := TemporalOptions(cfg, box, slog.New(slog.DiscardHandler))
			var mu sync.Mutex
			sent := map[string]string{} // method → compressor ("" for none)
			opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions, grpc.WithChainUnaryInterceptor(
				func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
					compressor := ""
					for _, o := range callOpts {
						if c, ok := o.(grpc.CompressorCallOption); ok {
							compressor = c.CompressorType
						}
					}
					mu.Lock()
					sent[method] = compressor
					mu.Unlock()
					return invoker(ctx, method, req, reply, cc, callOpts...)
				}))
			c, err := client.Dial(opts)
			require.NoError(t, err)
			defer c.Close()
			_, err = c.WorkflowService().DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			require.Contains(t, sent, workflowservice.WorkflowService_DescribeNamespace_FullMethodName)
			for method, compressor := range sent {
				require.Equal(t, tc.want, compressor, "%s", method)
			}
		})
	}
}
