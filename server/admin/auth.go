package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/server/web"
	"acceso/store"
)

// Admin sessions (accounts are package account's). A session is a random token in an HttpOnly, SameSite=Strict cookie, kept in
// the store only as its SHA-256, so the database alone signs no one in.

// DefaultSessionTTL is how long an admin stays signed in when
// Config.SessionTTL is zero.
const DefaultSessionTTL = 12 * time.Hour

// SessionCookie is the name of the admin session cookie.
const SessionCookie = "acceso_session"

func (s *Area) sessionTTL() time.Duration {
	if s.sessionTTLSet > 0 {
		return s.sessionTTLSet
	}
	return DefaultSessionTTL
}

// HashToken is what the store keeps of a session token: its SHA-256, so
// that a copy of the database signs no one in.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// startSession signs admin in: a new session in the store, its token in
// the cookie.
func (s *Area) startSession(c echo.Context, admin string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	expires := s.now().Add(s.sessionTTL())
	if err := s.store.CreateSession(c.Request().Context(), HashToken(token), admin, expires); err != nil {
		return err
	}
	c.SetCookie(s.sessionCookie(c, token, expires))
	return nil
}

// endSession signs the request's admin out, in the store and the browser.
func (s *Area) endSession(c echo.Context) error {
	if ck, err := c.Cookie(SessionCookie); err == nil {
		if err := s.store.DeleteSession(c.Request().Context(), HashToken(ck.Value)); err != nil {
			return err
		}
	}
	c.SetCookie(s.sessionCookie(c, "", time.Unix(0, 0)))
	return nil
}

// sessionCookie is the session cookie: only for /admin, never readable by
// scripts, never sent from another site, and Secure when the request came
// over TLS (directly, or as a proxy says with X-Forwarded-Proto; a Secure
// flag can only make the cookie harder to send, so a lying client only
// locks itself out).
func (s *Area) sessionCookie(c echo.Context, token string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/admin",
		Expires:  expires,
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   web.Secure(c),
	}
	if token == "" {
		ck.MaxAge = -1
	}
	return ck
}

// adminKey is where requireSession puts the signed-in admin's name.
const adminKey = "admin"

// requireSession lets a request through only with a valid session cookie.
// Without one, a page asks to sign in and anything else is refused.
func (s *Area) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ck, err := c.Cookie(SessionCookie); err == nil && ck.Value != "" {
			admin, err := s.store.SessionAdmin(c.Request().Context(), HashToken(ck.Value), s.now())
			if err == nil {
				c.Set(adminKey, admin)
				c.Response().Header().Set("Cache-Control", "no-store")
				return next(c)
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if m := c.Request().Method; m == http.MethodGet || m == http.MethodHead {
			return c.Redirect(http.StatusSeeOther, "/admin/signin")
		}
		return echo.NewHTTPError(http.StatusUnauthorized, "sign in first")
	}
}

// SignedIn returns the name of the admin the request was made by.
func SignedIn(c echo.Context) string {
	name, _ := c.Get(adminKey).(string)
	return name
}
