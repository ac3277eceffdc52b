package provider

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ory/fosite"

	"github.com/idp/idp/storage"
)

// maxTokenForm bounds the body of a token, revocation or
// introspection request.
const maxTokenForm = 64 << 10

// token serves /oauth2/token (RFC 6749 sections 4.1.3, 4.4 and 6).
// fosite parses the request and runs the grant; idp adds its checks on
// the user and the refresh-token family in between, and turns a lost
// race for a code or refresh token into reuse.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)

	ar, err := p.oauth.NewAccessRequest(ctx, r, NewSession())
	if err != nil {
		p.writeTokenError(ctx, w, ar, err)
		return
	}
	if err := p.checkGrant(ctx, ar); err != nil {
		p.writeTokenError(ctx, w, ar, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		for _, s := range ar.GetRequestedScopes() {
			ar.GrantScope(s)
		}
	}

	resp, err := p.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		p.writeTokenError(ctx, w, ar, err)
		return
	}
	p.cfg.Logger.InfoContext(ctx, "token issued",
		"client_id", ar.GetClient().GetID(),
		"grant_type", strings.Join(ar.GetGrantTypes(), " "))
	p.oauth.WriteAccessResponse(ctx, w, ar, resp)
}

// checkGrant applies idp's rules between fosite's parsing and the
// response: the user must still be active, a refresh-token family ends
// at its absolute lifetime, and a refresh may not widen the scope.
func (p *Provider) checkGrant(ctx context.Context, ar fosite.AccessRequester) error {
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		return nil
	}
	sess, ok := ar.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithDebugf("session has type %T", ar.GetSession())
	}
	if sess.UserID != "" {
		u, err := p.cfg.Store.User(ctx, sess.UserID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
			p.revokeGrant(ctx, ar.GetID())
			return fosite.ErrInvalidGrant.WithHint("The user of this grant no longer exists or is disabled.")
		}
		if err != nil {
			return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
		}
	}
	if !ar.GetGrantTypes().ExactOne("refresh_token") {
		return nil
	}

	now := p.cfg.Now()
	if !sess.FamilyExpiresAt.IsZero() {
		if !now.Before(sess.FamilyExpiresAt) {
			p.revokeGrant(ctx, ar.GetID())
			return fosite.ErrInvalidGrant.WithHint("The refresh token family reached its maximum lifetime; sign the user in again.")
		}
		// fosite moves the refresh expiry forward on every rotation;
		// the family's absolute end caps it.
		if sess.GetExpiresAt(fosite.RefreshToken).After(sess.FamilyExpiresAt) {
			sess.SetExpiresAt(fosite.RefreshToken, sess.FamilyExpiresAt)
		}
	}

	// RFC 6749 section 6: the scope of a refresh may not include any
	// scope not originally granted.
	// TODO: a narrower scope is accepted but not yet applied; the new
	// access token keeps the original scope.
	if requested := ar.GetRequestForm().Get("scope"); requested != "" {
		for _, s := range strings.Fields(requested) {
			if !slices.Contains(ar.GetGrantedScopes(), s) {
				return fosite.ErrInvalidScope.WithHintf("Scope %q was not granted to this refresh token, so a refresh cannot add it.", s)
			}
		}
	}
	return nil
}

// revokeGrant revokes every token of a grant, and logs a failure
// because the caller already returns an error.
func (p *Provider) revokeGrant(ctx context.Context, requestID string) {
	if err := p.cfg.Store.RevokeGrant(ctx, requestID); err != nil {
		p.cfg.Logger.ErrorContext(ctx, "revoke grant failed", "request_id", requestID, "err", err)
	}
}

// writeTokenError writes an RFC 6749 section 5.2 error. A request
// that lost a race to redeem a code or rotate a refresh token counts
// as reuse: the grant's tokens are revoked and the response is
// invalid_grant, never a server error.
func (p *Provider) writeTokenError(ctx context.Context, w http.ResponseWriter, ar fosite.AccessRequester, err error) {
	if errors.Is(err, storage.ErrAlreadyUsed) && ar != nil {
		p.revokeGrant(ctx, ar.GetID())
		err = fosite.ErrInvalidGrant.WithHint("The authorization code or refresh token was already used; every token of its grant has been revoked.")
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	clientID := ""
	if ar != nil && ar.GetClient() != nil {
		clientID = ar.GetClient().GetID()
	}
	if rfc.CodeField >= http.StatusInternalServerError {
		p.cfg.Logger.ErrorContext(ctx, "token request failed", "client_id", clientID, "err", rfc.WithExposeDebug(true).GetDescription())
	} else {
		p.cfg.Logger.InfoContext(ctx, "token request rejected", "client_id", clientID, "err", rfc.ErrorField)
	}
	p.oauth.WriteAccessError(ctx, w, ar, err)
}
