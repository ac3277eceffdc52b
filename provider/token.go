package provider

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/ory/fosite"

	"github.com/idp/idp/consent"
	"github.com/idp/idp/storage"
)

// maxTokenForm bounds the body of a token, revocation or
// introspection request.
const maxTokenForm = 64 << 10

// token serves /oauth2/token (RFC 6749 sections 4.1.3, 4.4 and 6).
// fosite parses the request and runs the grant. In between, idp checks
// the user and the refresh-token family, and it treats a lost race for
// a code or refresh token as reuse.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	// The client is read once per request, however often fosite reads it.
	r = r.WithContext(storage.WithRequestMemo(r.Context()))
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	if r.Method == http.MethodPost {
		if err := checkTokenForm(r); err != nil {
			p.writeTokenError(ctx, w, r, nil, err)
			return
		}
	}

	ar, err := p.oauth.NewAccessRequest(ctx, r, NewSession())
	noteClientID(r, clientIDOf(ar))
	if p.clientAuthFailed(w, r, err) {
		return
	}
	if err != nil {
		p.writeTokenError(ctx, w, r, ar, err)
		return
	}
	if err := p.checkGrant(ctx, ar); err != nil {
		p.writeTokenError(ctx, w, r, ar, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		grantClientScopes(ar)
	}

	resp, err := p.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		p.writeTokenError(ctx, w, r, ar, err)
		return
	}
	p.cfg.Metrics.tokenIssued(strings.Join(ar.GetGrantTypes(), " "))
	p.cfg.Logger.InfoContext(ctx, "token issued",
		"client_id", ar.GetClient().GetID(),
		"grant_type", strings.Join(ar.GetGrantTypes(), " "))
	p.oauth.WriteAccessResponse(ctx, w, ar, resp)
}

// checkTokenForm parses the body of a token request and rejects three
// things fosite would accept but RFC 6749 does not. They are a content
// type other than application/x-www-form-urlencoded (section 4.1.3), a
// malformed body, whose valid part fosite would serve, and a repeated
// parameter (section 3.2). fosite then reuses the parsed form.
func checkTokenForm(r *http.Request) error {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/x-www-form-urlencoded" {
		return fosite.ErrInvalidRequest.WithHint("The body must have the content type application/x-www-form-urlencoded.")
	}
	if err := r.ParseForm(); err != nil {
		return fosite.ErrInvalidRequest.WithHint("The body is not a valid form.").WithWrap(err).WithDebug(err.Error())
	}
	if name := consent.RepeatedParameter(r.PostForm); name != "" {
		return fosite.ErrInvalidRequest.WithHint(repeatedParameterHint(name))
	}
	return nil
}

// grantClientScopes grants a client credentials request the scopes it
// requested, except openid and offline_access: both concern a user, and
// the token has none. It gets neither an ID token nor a refresh token,
// and its scope shows that.
func grantClientScopes(ar fosite.AccessRequester) {
	for _, s := range ar.GetRequestedScopes() {
		if s != "openid" && s != "offline_access" {
			ar.GrantScope(s)
		}
	}
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

	return narrowRefresh(ar, sess)
}

// narrowRefresh applies the scope parameter of a refresh (RFC 6749
// section 6): it may not include any scope not originally granted, and
// a narrower scope applies to the new access token only. The new
// refresh token keeps the original scope through Session.GrantScopes.
func narrowRefresh(ar fosite.AccessRequester, sess *Session) error {
	sess.GrantScopes = nil
	requested := strings.Fields(ar.GetRequestForm().Get("scope"))
	if len(requested) == 0 {
		return nil
	}
	granted := []string(ar.GetGrantedScopes())
	for _, s := range requested {
		if !slices.Contains(granted, s) {
			return fosite.ErrInvalidScope.WithHintf("Scope %q was not granted to this refresh token, so a refresh cannot add it.", s)
		}
	}
	req, ok := ar.(*fosite.AccessRequest)
	if !ok {
		return fosite.ErrServerError.WithDebugf("access request has type %T", ar)
	}
	sess.GrantScopes = slices.Clone(granted)
	narrowed := fosite.Arguments{}
	for _, s := range granted {
		if slices.Contains(requested, s) {
			narrowed = append(narrowed, s)
		}
	}
	req.GrantedScope = narrowed
	return nil
}

// isReuse reports whether err means a code or refresh token was
// presented again: fosite found it used, or this request lost a race.
func isReuse(err error) bool {
	return errors.Is(err, storage.ErrAlreadyUsed) ||
		errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) ||
		errors.Is(err, fosite.ErrInactiveToken)
}

// sessionUserID returns the user of a request's session, if any.
func sessionUserID(ar fosite.Requester) string {
	if s, ok := ar.GetSession().(*Session); ok {
		return s.UserID
	}
	return ""
}

// clientIDOf returns the id of the client of a request, "" when none
// was authenticated.
func clientIDOf(ar fosite.Requester) string {
	if ar == nil || ar.GetClient() == nil {
		return ""
	}
	return ar.GetClient().GetID()
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
func (p *Provider) writeTokenError(ctx context.Context, w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	if isReuse(err) && ar != nil {
		p.cfg.Logger.WarnContext(ctx, "token reuse detected", "client_id", clientIDOf(ar), "request_id", ar.GetID())
		p.recordEvent(r, &storage.SecurityEvent{
			Kind:           storage.EventTokenReuse,
			ClientID:       clientIDOf(ar),
			UserID:         sessionUserID(ar),
			CredentialKind: strings.Join(ar.GetGrantTypes(), " "),
			Detail:         "every token of the grant was revoked",
		})
	}
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
	if rfc.ErrorField == fosite.ErrInvalidClient.ErrorField {
		// RFC 6749 section 5.2: a 401 names the authentication scheme.
		w.Header().Set("WWW-Authenticate", `Basic realm="idp"`)
	}
	p.oauth.WriteAccessError(ctx, w, ar, err)
}
