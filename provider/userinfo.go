package provider

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/idp/idp/scopes"
	"github.com/idp/idp/storage"
)

// userinfo serves the OpenID Connect UserInfo endpoint (Core section
// 5.3) for GET and POST. The access token comes from the Authorization
// header or, on POST, from the access_token form field (RFC 6750
// section 2.2), and must carry the openid scope.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	// The client is read once per request, however often fosite reads it.
	r = r.WithContext(storage.WithRequestMemo(r.Context()))
	ctx := r.Context()
	if r.URL.Query().Has("access_token") {
		// RFC 6750 section 2.3: a token in the URL ends up in logs and
		// browser history, so it is refused.
		writeBearerError(w, http.StatusBadRequest, "invalid_request", "Send the access token in the Authorization header, not in the URL.")
		return
	}
	token := fosite.AccessTokenFromRequest(r)
	if token == "" {
		writeBearerError(w, http.StatusUnauthorized, "", "")
		return
	}

	use, ar, err := p.oauth.IntrospectToken(ctx, token, fosite.AccessToken, NewSession(), "openid")
	if err == nil && use != fosite.AccessToken {
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "Only an access token is accepted here.")
		return
	}
	if err != nil {
		if pingErr := p.cfg.Store.Ping(ctx); pingErr != nil {
			p.cfg.Logger.ErrorContext(ctx, "userinfo failed", "err", pingErr)
			p.writeUnavailable(w)
			return
		}
		if errors.Is(err, fosite.ErrInvalidScope) {
			writeBearerError(w, http.StatusForbidden, "insufficient_scope", "The access token lacks the openid scope.")
			return
		}
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.")
		return
	}
	sess, ok := ar.GetSession().(*Session)
	if !ok || sess.UserID == "" {
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "The access token was not issued to a user.")
		return
	}
	user, err := p.cfg.Store.User(ctx, sess.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && user.Disabled) {
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "The user of this access token no longer exists or is disabled.")
		return
	}
	if err != nil {
		p.cfg.Logger.ErrorContext(ctx, "load user for userinfo failed", "user_id", sess.UserID, "err", err)
		p.writeUnavailable(w)
		return
	}

	claims := scopes.Claims(user, ar.GetGrantedScopes())
	claims["sub"] = user.Subject
	writeJSON(w, http.StatusOK, claims)
}

// writeBearerError writes an error with an RFC 6750 section 3 challenge.
func writeBearerError(w http.ResponseWriter, status int, code, description string) {
	challenge := `Bearer realm="idp"`
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	if description != "" {
		challenge += `, error_description="` + strings.ReplaceAll(description, `"`, "'") + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	body := map[string]string{}
	if code != "" {
		body["error"] = code
		body["error_description"] = description
	} else {
		body["error"] = "invalid_request"
		body["error_description"] = "An access token is required in the Authorization header."
	}
	writeJSON(w, status, body)
}
