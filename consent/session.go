package consent

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/idp/idp/storage"
)

// Cookie names. Browsers accept a __Host- cookie only with Secure, Path=/
// and no Domain, which pins it to exactly idp's origin. The plain name
// is used only by --dev over plain HTTP.
const (
	SessionCookie         = "__Host-idp_session"
	InsecureSessionCookie = "idp_session"
)

// touchInterval is the age of LastSeenAt at which a request writes it
// again. It limits writes per session and has no security role.
const touchInterval = time.Minute

// SessionStore is the part of the database that keeps login sessions.
type SessionStore interface {
	CreateLoginSession(ctx context.Context, ls *storage.LoginSession, token string) error
	LoginSessionByToken(ctx context.Context, token string, now time.Time) (*storage.LoginSession, error)
	TouchLoginSession(ctx context.Context, id string, now time.Time) error
	SignInLoginSession(ctx context.Context, id, userID, newToken, publicID string, authTime, expires time.Time) error
	DeleteLoginSession(ctx context.Context, id string) error
}

// Sessions manages the browser's login session: a random id in a
// cookie, stored only as a hash in a database row that can be deleted
// to end the session.
type Sessions struct {
	Store SessionStore
	// CSRFKey keys the per-session form tokens.
	CSRFKey []byte
	// IdleTimeout ends a session unused for this long.
	IdleTimeout time.Duration
	// Lifetime ends a session this long after sign-in, however active.
	Lifetime time.Duration
	// InsecureCookie drops the Secure flag and the __Host- prefix; only
	// --dev over plain HTTP sets it.
	InsecureCookie bool
	Now            func() time.Time
}

// Current is a browser's session together with its cookie value.
type Current struct {
	*storage.LoginSession
	// Token is the cookie value; it keys the CSRF token.
	Token string
}

// SignedIn reports whether a user has signed in to the session.
func (c *Current) SignedIn() bool { return c != nil && c.UserID != "" }

func (s *Sessions) cookieName() string {
	if s.InsecureCookie {
		return InsecureSessionCookie
	}
	return SessionCookie
}

// Load returns the session named by the request's cookie, or nil when
// there is none or it has expired or been idle too long.
func (s *Sessions) Load(r *http.Request) (*Current, error) {
	cookie, err := r.Cookie(s.cookieName())
	if err != nil || cookie.Value == "" {
		return nil, nil
	}
	now := s.Now()
	ls, err := s.Store.LoginSessionByToken(r.Context(), cookie.Value, now)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load login session: %w", err)
	}
	if now.Sub(ls.LastSeenAt) > s.IdleTimeout {
		return nil, nil
	}
	if now.Sub(ls.LastSeenAt) > touchInterval {
		if err := s.Store.TouchLoginSession(r.Context(), ls.ID, now); err != nil {
			return nil, fmt.Errorf("touch login session: %w", err)
		}
		ls.LastSeenAt = now
	}
	return &Current{LoginSession: ls, Token: cookie.Value}, nil
}

// Ensure returns the request's session, creating an anonymous one and
// setting its cookie when there is none. Authorization flows are bound
// to it before anyone signs in.
func (s *Sessions) Ensure(w http.ResponseWriter, r *http.Request) (*Current, error) {
	cur, err := s.Load(r)
	if err != nil || cur != nil {
		return cur, err
	}
	now := s.Now().UTC()
	token := randomToken()
	ls := &storage.LoginSession{
		ID:         randomToken(),
		PublicID:   randomToken(),
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(s.Lifetime),
	}
	if err := s.Store.CreateLoginSession(r.Context(), ls, token); err != nil {
		return nil, fmt.Errorf("create login session: %w", err)
	}
	s.setCookie(w, token, ls.ExpiresAt)
	return &Current{LoginSession: ls, Token: token}, nil
}

// SignIn records that userID signed in to cur. The cookie value and
// the public sid are replaced, so a value planted in the browser before
// sign-in is worthless afterwards.
func (s *Sessions) SignIn(ctx context.Context, w http.ResponseWriter, cur *Current, userID string) error {
	now := s.Now().UTC()
	token := randomToken()
	publicID := randomToken()
	expires := now.Add(s.Lifetime)
	if err := s.Store.SignInLoginSession(ctx, cur.ID, userID, token, publicID, now, expires); err != nil {
		return fmt.Errorf("sign in login session: %w", err)
	}
	cur.Token = token
	cur.UserID = userID
	cur.PublicID = publicID
	cur.AuthTime = now
	cur.LastSeenAt = now
	cur.ExpiresAt = expires
	s.setCookie(w, token, expires)
	return nil
}

// End deletes the session row and clears the cookie.
func (s *Sessions) End(ctx context.Context, w http.ResponseWriter, cur *Current) error {
	if cur != nil {
		if err := s.Store.DeleteLoginSession(ctx, cur.ID); err != nil {
			return fmt.Errorf("delete login session: %w", err)
		}
	}
	s.setCookie(w, "", time.Time{})
	return nil
}

func (s *Sessions) setCookie(w http.ResponseWriter, value string, expires time.Time) {
	c := &http.Cookie{
		Name:     s.cookieName(),
		Value:    value,
		Path:     "/",
		Secure:   !s.InsecureCookie,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// CSRFToken returns the form token for a session: an HMAC of its
// cookie value, so it changes at sign-in and is useless elsewhere.
func (s *Sessions) CSRFToken(cur *Current) string {
	mac := hmac.New(sha256.New, s.CSRFKey)
	mac.Write([]byte(cur.Token))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// CheckCSRF reports whether a submitted form token belongs to cur.
func (s *Sessions) CheckCSRF(cur *Current, submitted string) bool {
	if cur == nil || submitted == "" {
		return false
	}
	return hmac.Equal([]byte(s.CSRFToken(cur)), []byte(submitted))
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RandomID returns a random id of 256 bits for flows and other values
// that travel in URLs.
func RandomID() string { return randomToken() }
