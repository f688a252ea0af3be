package server

import "github.com/labstack/echo/v4"

// siteRoutes registers the bilingual help site.
func (s *Server) siteRoutes() {}

// pageError answers an error on a page route with a localized error page.
func (s *Server) pageError(c echo.Context, err error) {
	_ = c.String(500, "error")
}
