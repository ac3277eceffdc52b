package provider

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ory/fosite"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/storage"
)

// claimedClientID returns the client id a request claims, from HTTP
// Basic authentication or the client_id form field, without checking
// it. It parses the form, which fosite reads again later.
func claimedClientID(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if unescaped, err := url.QueryUnescape(id); err == nil {
			return unescaped
		}
		return id
	}
	_ = r.ParseForm()
	return r.PostForm.Get("client_id")
}

// clientAuthFailed applies the throttle on client authentication at the token,
// revocation and introspection endpoints, keyed on the claimed client
// together with the client address, so failures from one address never
// lock the client out elsewhere.
//
// The counter is read only after a failure. Client secrets are 256
// random bits, so a correct one is never a guess, and reading the
// counter on every success would cost a database read per request.
//
// It records a failed client authentication when err is invalid_client.
// When the key must now wait, it writes 429 with Retry-After and
// reports true, and the caller then writes nothing more.
func (p *Provider) clientAuthFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	throttle := p.cfg.Throttle
	if throttle == nil || err == nil || fosite.ErrorToRFC6749Error(err).ErrorField != fosite.ErrInvalidClient.ErrorField {
		return false
	}
	ctx := r.Context()
	key := accounts.ClientAuthKey(claimedClientID(r), p.clientIP(r))
	wait, ferr := throttle.Fail(ctx, key)
	if ferr != nil {
		p.cfg.Logger.ErrorContext(ctx, "record failed client authentication failed", "err", ferr)
		return false
	}
	if wait <= 0 {
		return false
	}
	p.recordEvent(r, &storage.SecurityEvent{
		Kind:           storage.EventClientAuthLocked,
		ClientID:       claimedClientID(r),
		CredentialKind: "client_secret",
		Detail:         "further failures for this client from this address wait " + wait.String(),
	})
	seconds := int(wait/time.Second) + 1
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	writeJSON(w, http.StatusTooManyRequests, map[string]string{
		"error":             "too_many_requests",
		"error_description": "Too many failed client authentications from this address; retry after " + strconv.Itoa(seconds) + " seconds.",
	})
	return true
}

// recordEvent completes e with the request's details and stores it. A
// failure is logged, not returned.
func (p *Provider) recordEvent(r *http.Request, e *storage.SecurityEvent) {
	if p.cfg.Events == nil {
		return
	}
	e.RemoteAddr = p.clientIP(r).String()
	e.UserAgent = r.UserAgent()
	e.Method = r.Method
	e.Path = RedactPath(r.URL.Path)
	if err := p.cfg.Events.RecordEvent(r.Context(), e); err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "record security event failed", "err", err)
	}
}
