package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"acceso/server/web"
)

// Device cookies (OWASP's "device cookies" against account lock-out): a
// browser where an admin signed in successfully gets a cookie naming a
// random device, signed for that admin's name. A sign-in from a browser
// that shows a valid one for the name it tries has its failures counted
// for that name on that device only; every other attempt counts for the
// name as a whole. So failures from elsewhere, however many, never stop
// the admin signing in from a browser they used before, and a stolen
// cookie only buys its thief the guesses of one device. Nothing about
// devices is stored: the cookie carries its id and its signature.

// DeviceCookie is the name of the device cookie.
const DeviceCookie = "acceso_device"

// deviceTTL is how long a browser stays known after its last sign-in.
const deviceTTL = 365 * 24 * time.Hour

// deviceIDLen is the size of a device's random id, in bytes.
const deviceIDLen = 16

// deviceMAC signs the device id for name (as the throttle keys it: case
// and surrounding space ignored), with a key derived from the server's
// secret.
func (s *Area) deviceMAC(name string, id []byte) []byte {
	k := hmac.New(sha256.New, s.feedbackKey)
	k.Write([]byte("acceso device cookie"))
	m := hmac.New(sha256.New, k.Sum(nil))
	key := throttleKey(name)
	m.Write(key[:])
	m.Write(id)
	return m.Sum(nil)
}

// knownDevice returns the id of the request's device when its cookie was
// signed for name; nil when there is none or it is not for name.
func (s *Area) knownDevice(c echo.Context, name string) []byte {
	ck, err := c.Cookie(DeviceCookie)
	if err != nil || s.feedbackKey == nil {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(raw) != deviceIDLen+sha256.Size {
		return nil
	}
	id, mac := raw[:deviceIDLen], raw[deviceIDLen:]
	if !hmac.Equal(mac, s.deviceMAC(name, id)) {
		return nil
	}
	return id
}

// rememberDevice sets the device cookie for name after a successful
// sign-in, keeping the device's id when it was known for name.
func (s *Area) rememberDevice(c echo.Context, name string, id []byte) error {
	if s.feedbackKey == nil {
		return nil
	}
	if id == nil {
		id = make([]byte, deviceIDLen)
		if _, err := rand.Read(id); err != nil {
			return err
		}
	}
	value := base64.RawURLEncoding.EncodeToString(append(append([]byte{}, id...), s.deviceMAC(name, id)...))
	c.SetCookie(&http.Cookie{
		Name:     DeviceCookie,
		Value:    value,
		Path:     "/admin/signin",
		Expires:  s.now().Add(deviceTTL),
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   web.Secure(c),
	})
	return nil
}

// signInKey is what the failures of a sign-in for name are counted
// against: the name on the request's device when the device is known for
// it, else the name.
func (s *Area) signInKey(c echo.Context, name string) (key [sha256.Size]byte, device []byte) {
	key = throttleKey(name)
	if device = s.knownDevice(c, name); device != nil {
		key = sha256.Sum256(append(key[:], device...))
	}
	return key, device
}
