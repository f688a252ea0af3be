package server

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// ipExtractor returns how the client's address is read: the connection's
// peer, or, behind proxies the operator trusts, the right-most untrusted
// address of X-Forwarded-For. A client cannot choose its own address by
// sending that header to a server that trusts no proxy.
func ipExtractor(trusted []string) (echo.IPExtractor, error) {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect(), nil
	}
	ranges, err := trustRanges(trusted)
	if err != nil {
		return nil, err
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	return echo.ExtractIPFromXFFHeader(append(opts, ranges...)...), nil
}

// trustRanges turns the configured proxy CIDRs into Echo's trust options.
func trustRanges(trusted []string) ([]echo.TrustOption, error) {
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

// limiter is a token bucket per client address. Buckets idle for longer
// than it takes to refill are dropped, so memory stays bounded by the
// number of active clients.
type limiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	clients map[string]*client
	swept   time.Time
}

type client struct {
	bucket *rate.Limiter
	seen   time.Time
}

// newLimiter allows each client burst requests at once and one more every
// every.
func newLimiter(every time.Duration, burst int) *limiter {
	return &limiter{every: every, burst: burst, clients: make(map[string]*client)}
}

// allow reports whether the client at key may make a request now.
func (l *limiter) allow(key string) bool {
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
		c = &client{bucket: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.clients[key] = c
	}
	c.seen = now
	return c.bucket.AllowN(now, 1)
}

// spent reports whether the client at key has no request left now,
// without using one: a limit of failures checks it first and counts a
// failure with allow.
func (l *limiter) spent(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.clients[key]
	return ok && c.bucket.TokensAt(time.Now()) < 1
}

// errTooManyRequests is the error of a client over its rate limit.
var errTooManyRequests = echo.NewHTTPError(http.StatusTooManyRequests, "too many requests; slow down and try again shortly")

// limit is middleware that refuses a client over l's rate with 429.
func limit(l *limiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !l.allow(c.RealIP()) {
				c.Response().Header().Set("Retry-After", retryAfter(l))
				return errTooManyRequests
			}
			return next(c)
		}
	}
}

// retryAfter is the Retry-After of a client over l's rate, in seconds.
func retryAfter(l *limiter) string { return fmt.Sprint(int(l.every.Seconds()) + 1) }
