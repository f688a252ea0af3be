package web

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"
)

// IPExtractor returns how the client's address is read: the connection's
// peer, or, behind proxies the operator trusts, the right-most untrusted
// address of X-Forwarded-For. A client cannot choose its own address by
// sending that header to a server that trusts no proxy.
func IPExtractor(trusted []string) (echo.IPExtractor, error) {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	ranges, err := TrustRanges(trusted)
	if err != nil {
		return nil, err
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	return echo.ExtractIPFromXFFHeader(append(opts, ranges...)...), nil
}

// TrustRanges turns the configured proxy CIDRs into Echo's trust options.
func TrustRanges(trusted []string) ([]echo.TrustOption, error) {
	var opts []echo.TrustOption
	for _, cidr := range trusted {
		_, ipnet, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", cidr, err)
		}
		opts = append(opts, echo.TrustIPRange(ipnet))
	}
	return opts, nil
}

// Limiter is a request rate per client: Echo's memory store of token
// buckets, one per key (an address, or an API key), each allowing burst
// requests at once and one more every every. Buckets idle for longer than
// it takes to refill are dropped, so memory stays bounded by the number of
// active clients.
type Limiter struct {
	every time.Duration
	store *middleware.RateLimiterMemoryStore
}

// NewLimiter allows each client burst requests at once and one more every
// every.
func NewLimiter(every time.Duration, burst int) *Limiter {
	return &Limiter{every: every, store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate:      rate.Every(every),
		Burst:     burst,
		ExpiresIn: every * time.Duration(burst),
	})}
}

// Allow reports whether the client at key may make a request now, and
// counts it.
func (l *Limiter) Allow(key string) bool {
	ok, _ := l.store.Allow(key) // the memory store never fails
	return ok
}

// ErrTooManyRequests is the error of a client over its rate limit.
var ErrTooManyRequests = echo.NewHTTPError(http.StatusTooManyRequests, "too many requests; slow down and try again shortly")

// Limit is Echo's rate-limiting middleware keyed on the client's address
// (Echo.IPExtractor): a client over l's rate is refused with 429 and told
// when to come back.
func Limit(l *Limiter) echo.MiddlewareFunc {
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: l.store,
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			c.Response().Header().Set("Retry-After", RetryAfter(l))
			return ErrTooManyRequests
		},
	})
}

// RetryAfter is the Retry-After of a client over l's rate, in seconds.
func RetryAfter(l *Limiter) string { return fmt.Sprint(int(l.every.Seconds()) + 1) }

// FailureLimit counts failures per client address, and tells whether an
// address has none left without counting one: the bundle's token check
// asks before it compares, so that an address over its limit learns
// nothing, not even from the right token. Echo's store cannot be asked
// without spending a request, hence this small map of buckets.
type FailureLimit struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	clients map[string]*failures
	swept   time.Time
}

type failures struct {
	bucket *rate.Limiter
	seen   time.Time
}

// NewFailureLimit allows each address burst failures at once and one more
// every every.
func NewFailureLimit(every time.Duration, burst int) *FailureLimit {
	return &FailureLimit{every: every, burst: burst, clients: make(map[string]*failures)}
}

// Every is how often an address gets one more failure.
func (l *FailureLimit) Every() time.Duration { return l.every }

// Fail counts a failure from the address key.
func (l *FailureLimit) Fail(key string) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if idle := l.every * time.Duration(l.burst); now.Sub(l.swept) > idle {
		for k, c := range l.clients {
			if now.Sub(c.seen) > idle {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	c, ok := l.clients[key]
	if !ok {
		c = &failures{bucket: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.clients[key] = c
	}
	c.seen = now
	c.bucket.AllowN(now, 1)
}

// Spent reports whether the address key has no failure left now.
func (l *FailureLimit) Spent(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.clients[key]
	return ok && c.bucket.TokensAt(time.Now()) < 1
}
