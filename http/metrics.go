package httpapi

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/aiadmin/aiadmin/activities/metrics"
)

// requestMetrics counts every request by method, route template and status, and times it.
// The label is the route as registered ("/webhook/yclients/:salon_id/:secret"), never the
// path: a webhook URL's secret, a salon's ID or a query string never becomes a label.
func requestMetrics(c *gin.Context) {
	start := time.Now()
	c.Next()
	upgraded := strings.EqualFold(c.Request.Header.Get("Upgrade"), "websocket") && c.Writer.Status() == 200
	status := c.Writer.Status()
	if upgraded {
		status = 101 // the upgrade answered on the hijacked connection, past gin's writer
	}
	metrics.HTTPRequest(c.Request.Method, c.FullPath(), status, time.Since(start), upgraded)
}

// Websockets closes the connect pages' websockets when the process stops: each page gets a
// close frame with code 1012 (service restart), on which it reconnects shortly, to this
// process's successor or another one behind the load balancer. Put it in Deps and call Close
// before the http.Server's Shutdown, which does not see hijacked connections.
type Websockets struct {
	mu   sync.Mutex
	hubs []*hub
}

func (w *Websockets) add(h *hub) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.hubs = append(w.hubs, h)
	w.mu.Unlock()
}

// Close refuses new websockets, closes the open ones and waits until they are closed or ctx
// ends.
func (w *Websockets) Close(ctx context.Context) {
	w.mu.Lock()
	hubs := append([]*hub(nil), w.hubs...)
	w.mu.Unlock()
	for _, h := range hubs {
		h.closeAll()
	}
	for _, h := range hubs {
		h.wait(ctx)
	}
}
