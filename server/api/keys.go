package api

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"acceso/answer"
	"acceso/apikey"
	"acceso/server/web"
	"acceso/store"
)

// apiKeyContext is where apiAccess leaves the caller's API key
// (*store.APIKey) in the request's echo.Context.
const apiKeyContext = "acceso.apikey"

// Answers to a request whose key is missing, not valid, or lacks the
// scope. They say nothing of what the request asked for: a caller without
// the scope learns nothing of whether a reference exists.
var (
	errKeyMissing = &answer.Error{Code: answer.CodeUnauthorized,
		Message: "an API key is required: send Authorization: Bearer <key>; an admin makes one with acceso apikey add"}
	errKeyInvalid = &answer.Error{Code: answer.CodeUnauthorized,
		Message: "the API key is not valid: it was mistyped, or removed"}
)

// errScope is the answer to a valid key that lacks scope.
func errScope(scope string) *answer.Error {
	return &answer.Error{Code: answer.CodeForbidden, Message: "this API key does not have the scope " + scope}
}

// apiAccess is the API's middleware for who calls it: it reads the API
// key a request may carry (Authorization: Bearer …) and rate limits the
// request with l, per key when the key is valid, else per client address.
// A request that carries a bearer key that is not valid is refused (401)
// once counted against its address; one without a key goes on
// anonymously (POST /api/v1/evaluate is open to all; requireScope guards
// the rest).
func (s *Server) apiAccess(l *web.Limiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			k, authErr := s.authenticate(c)
			who := "address " + c.RealIP()
			if k != nil {
				who = "key " + k.Name
				c.Set(apiKeyContext, k)
			}
			if !l.Allow(who) {
				c.Response().Header().Set("Retry-After", web.RetryAfter(l))
				return web.ErrTooManyRequests
			}
			if authErr != nil {
				challenge(c)
				return authErr
			}
			return next(c)
		}
	}
}

// authenticate returns the API key the request carries as a bearer
// token: nil without one, errKeyInvalid for a key that is not one. Other
// schemes are not ours (a proxy's Basic authentication, say) and leave
// the request anonymous. A key's use is recorded (to the minute) for the
// admin area's list of keys.
func (s *Server) authenticate(c echo.Context) (*store.APIKey, error) {
	scheme, key, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, nil
	}
	if s.store == nil {
		return nil, errKeyInvalid
	}
	ctx := c.Request().Context()
	k, err := apikey.Check(ctx, s.store, strings.TrimSpace(key))
	if errors.Is(err, apikey.ErrInvalid) || errors.Is(err, apikey.ErrMissing) {
		return nil, errKeyInvalid
	}
	if err != nil {
		return nil, err
	}
	if err := apikey.Used(ctx, s.store, k, s.now()); err != nil {
		s.log.Warn("recording an API key's use", "key", k.Name, "err", err)
	}
	return &k, nil
}

// challenge says, on a 401, how to authenticate.
func challenge(c echo.Context) {
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="acceso api"`)
}

// requireScope refuses a request without a valid API key (401) or whose
// key lacks scope (403), before the handler reads anything the request
// names.
func requireScope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			k, _ := c.Get(apiKeyContext).(*store.APIKey)
			if k == nil {
				challenge(c)
				return errKeyMissing
			}
			if !apikey.Allows(*k, scope) {
				return errScope(scope)
			}
			return next(c)
		}
	}
}
