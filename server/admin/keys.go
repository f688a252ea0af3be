package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/server/web"
	"acceso/templates"
)

// handleKeys lists the API keys with their last use; they are made and
// removed with acceso apikey.
func (a *Area) handleKeys(c echo.Context) error {
	keys, err := a.store.APIKeys(c.Request().Context())
	if err != nil {
		return err
	}
	page := templates.AdminKeys{Shell: a.shell(c, "AdminKeysTitle", "keys")}
	for _, k := range keys {
		row := templates.AdminKeyRow{Name: k.Name, Scopes: strings.Join(k.Scopes, ", "), Created: k.Created.Format(time.RFC3339)}
		if !k.LastUsed.IsZero() {
			row.LastUsed = k.LastUsed.Format(time.RFC3339)
		}
		page.Keys = append(page.Keys, row)
	}
	return web.Render(c, http.StatusOK, templates.AdminKeysPage(page))
}
