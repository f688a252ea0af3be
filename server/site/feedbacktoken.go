package site

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Feedback on the article has no kept decision to bind it to, so the page
// carries a token the server signs: a random nonce and an HMAC, under a
// secret kept in the database (shared by replicas), of the page, the
// revision and the nonce. A forged or altered token is refused, and a
// token counts once (its nonce is kept with the feedback), so counts
// cannot be inflated by posting again.

// FeedbackToken signs a new token for feedback on page under revision; ""
// without a key (a server with no store, as the export).
func (s *Server) FeedbackToken(page, revision string) string {
	if s.feedbackKey == nil {
		return ""
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails on Linux
	n := base64.RawURLEncoding.EncodeToString(nonce)
	return n + "." + s.feedbackMAC(page, revision, n)
}

// checkFeedbackToken returns the token's nonce when the server signed it
// for page and revision.
func (s *Server) checkFeedbackToken(token, page, revision string) (string, bool) {
	nonce, mac, ok := strings.Cut(token, ".")
	if !ok || s.feedbackKey == nil || len(nonce) != 22 {
		return "", false
	}
	return nonce, hmac.Equal([]byte(mac), []byte(s.feedbackMAC(page, revision, nonce)))
}

func (s *Server) feedbackMAC(page, revision, nonce string) string {
	m := hmac.New(sha256.New, s.feedbackKey)
	m.Write([]byte(page + "\x00" + revision + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
