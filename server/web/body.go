package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"
)

// TooLarge is the error of a body longer than limit bytes.
func TooLarge(limit int64) *echo.HTTPError {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", limit))
}

// BodyLimit refuses a body longer than limit with 413: at once when its
// declared length says so, else when reading it reaches the limit, whatever
// the handler made of the read failing (a form whose body was cut short
// reads as a form without its fields) unless it has answered already.
func BodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return TooLarge(limit)
			}
			body := &limitedBody{ReadCloser: http.MaxBytesReader(c.Response(), r.Body, limit)}
			r.Body = body
			err := next(c)
			if body.over && !c.Response().Committed {
				return TooLarge(limit)
			}
			return err
		}
	}
}

// limitedBody is a body read through http.MaxBytesReader that remembers
// whether reading it reached the limit.
type limitedBody struct {
	io.ReadCloser
	over bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		b.over = true
	}
	return n, err
}
