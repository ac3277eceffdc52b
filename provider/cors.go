package provider

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ory/fosite"

	"github.com/idp/idp/storage"
)

// CORS is off except where a client lists exact origins that may call
// the token, userinfo and revocation endpoints from a browser. Origins
// are compared as exact strings, and credentials (cookies) are never
// allowed, so Access-Control-Allow-Credentials is never sent.

// corsMaxAge is how long a browser may cache a preflight response, in
// seconds.
const corsMaxAge = "600"

// withCORS wraps an endpoint. ownerOf returns the client whose allowed
// origins apply to a request, "" when none.
func (p *Provider) withCORS(next http.HandlerFunc, ownerOf func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" {
			r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
			w.Header().Add("Vary", "Origin")
			if client := ownerOf(r); client != "" && p.clientAllowsOrigin(r, client, origin) {
				w.Header().Set("Access-Control-Allow-Origin", origin)
			}
		}
		next(w, r)
	}
}

// preflight responds to a CORS preflight. It allows the origin when any
// client lists it: the preflight carries no credential that would name
// the client, and the actual request is checked against its own client.
func (p *Provider) preflight(methods string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		if origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		allowing, err := p.cfg.Store.ClientsAllowingOrigin(r.Context(), origin)
		if err != nil {
			p.cfg.Logger.ErrorContext(r.Context(), "CORS preflight lookup failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if len(allowing) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", methods)
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", corsMaxAge)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (p *Provider) clientAllowsOrigin(r *http.Request, clientID, origin string) bool {
	c, err := p.cfg.Store.Client(r.Context(), clientID)
	if err != nil {
		return false
	}
	return slices.Contains(c.AllowedCORSOrigins, origin)
}

// accessTokenOwner returns the client of the access token a userinfo
// request carries.
func (p *Provider) accessTokenOwner(r *http.Request) string {
	token := fosite.AccessTokenFromRequest(r)
	if token == "" {
		return ""
	}
	req, err := p.cfg.Store.GetAccessTokenSession(r.Context(), p.tokens.AccessTokenSignature(r.Context(), token), nil)
	if err != nil {
		return ""
	}
	if c, ok := req.GetClient().(*storage.Client); ok {
		return c.ID
	}
	return strings.TrimSpace(req.GetClient().GetID())
}
