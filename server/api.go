package server

import "github.com/labstack/echo/v4"

// apiRoutes registers the JSON API for integrations.
func (s *Server) apiRoutes() {}

// apiError answers an error on an /api/ route as JSON.
func (s *Server) apiError(c echo.Context, err error) {
	_ = c.JSON(500, DiagnoseError(err))
}
