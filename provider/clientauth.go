package provider

import (
	"context"
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

// clientAuthGate is the throttle on client authentication at the token,
// revocation and introspection endpoints, keyed on the claimed client
// together with the client address, so failures from one address never
// lock the client out elsewhere.
type clientAuthGate struct {
	p       *Provider
	key     string
	failing bool
}

// openClientAuthGate checks the throttle. When the key must wait it
// writes 429 with Retry-After and returns nil.
func (p *Provider) openClientAuthGate(w http.ResponseWriter, r *http.Request) *clientAuthGate {
	if p.cfg.Throttle == nil {
		return &clientAuthGate{p: p}
	}
	key := accounts.ClientAuthKey(claimedClientID(r), p.clientIP(r))
	wait, failing, err := p.cfg.Throttle.Wait(r.Context(), key)
	if err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "read client authentication throttle failed", "err", err)
		p.writeUnavailable(w)
		return nil
	}
	if wait > 0 {
		seconds := int(wait/time.Second) + 1
		w.Header().Set("Retry-After", strconv.Itoa(seconds))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"error":             "too_many_requests",
			"error_description": "Too many failed client authentications from this address; retry after " + strconv.Itoa(seconds) + " seconds.",
		})
		return nil
	}
	return &clientAuthGate{p: p, key: key, failing: failing}
}

// done records the outcome of client authentication: a failure when err
// is invalid_client, otherwise a success that clears earlier failures.
func (g *clientAuthGate) done(ctx context.Context, r *http.Request, clientID string, err error) {
	if g.key == "" {
		return
	}
	throttle := g.p.cfg.Throttle
	if err != nil && fosite.ErrorToRFC6749Error(err).ErrorField == fosite.ErrInvalidClient.ErrorField {
		delay, ferr := throttle.Fail(ctx, g.key)
		if ferr != nil {
			g.p.cfg.Logger.ErrorContext(ctx, "record failed client authentication failed", "err", ferr)
			return
		}
		if delay > 0 {
			g.p.recordEvent(r, &storage.SecurityEvent{
				Kind:           storage.EventClientAuthLocked,
				ClientID:       claimedClientID(r),
				CredentialKind: "client_secret",
				Detail:         "further attempts for this client from this address wait " + delay.String(),
			})
		}
		return
	}
	if g.failing {
		if err := throttle.Succeed(ctx, g.key); err != nil {
			g.p.cfg.Logger.ErrorContext(ctx, "clear client authentication throttle failed", "client_id", clientID, "err", err)
		}
	}
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
	e.Path = r.URL.Path
	if err := p.cfg.Events.RecordEvent(r.Context(), e); err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "record security event failed", "err", err)
	}
}
