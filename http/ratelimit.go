package httpapi

import (
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// ipLimits is a token bucket per client IP, for the endpoints a stranger could hammer (the
// marketplace redirect and the websocket). Idle buckets are forgotten.
type ipLimits struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	buckets map[string]*ipBucket
	swept   time.Time
}

type ipBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// newIPLimits allows one request per every from each IP, with bursts of burst.
func newIPLimits(every time.Duration, burst int) *ipLimits {
	return &ipLimits{every: every, burst: burst, buckets: map[string]*ipBucket{}}
}

func (l *ipLimits) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		idle := time.Duration(l.burst) * l.every
		for k, b := range l.buckets {
			if now.Sub(b.seen) > idle {
				delete(l.buckets, k) // full again by now: the same as a new bucket
			}
		}
		l.swept = now
	}
	b := l.buckets[ip]
	if b == nil {
		b = &ipBucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.buckets[ip] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// limit answers 429 (a Russian page on the marketplace redirect) to an IP over its budget. A
// nil *ipLimits limits nothing.
func (l *ipLimits) limit(c *gin.Context) {
	if l != nil && !l.allow(c.ClientIP(), time.Now()) {
		c.Header("Retry-After", "10")
		abort(c, fail(kindTooMany, "too many requests"))
		return
	}
	c.Next()
}
