package provider

import (
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/idp/idp/consent"
	"github.com/idp/idp/storage"
)

// introspectionResponse is an RFC 7662 section 2.2 response.
type introspectionResponse struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	// TokenUse is access_token or refresh_token.
	TokenUse  string `json:"token_use,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
}

// introspect serves /oauth2/introspect (RFC 7662). The caller
// authenticates as a client; a bearer token is never accepted as the
// caller's credential, unlike fosite's own endpoint. A client
// registered as a resource server may introspect any token, any other
// client only its own. Every other token is reported inactive.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	// The client is read once per request, however often fosite reads it.
	r = r.WithContext(storage.WithRequestMemo(r.Context()))
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	if err := r.ParseForm(); err != nil || len(r.PostForm) == 0 {
		p.writeJSONError(w, fosite.ErrInvalidRequest.WithHint("The body must be a form with the token parameter."))
		return
	}
	if name := consent.RepeatedParameter(r.PostForm); name != "" {
		p.writeJSONError(w, fosite.ErrInvalidRequest.WithHint(repeatedParameterHint(name)))
		return
	}
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ") {
		p.writeJSONError(w, fosite.ErrInvalidClient.WithHint("Authenticate as a client with client_secret_basic or client_secret_post; bearer tokens are not accepted here."))
		return
	}
	caller, err := p.oauth.AuthenticateClient(ctx, r, r.PostForm)
	if caller != nil {
		noteClientID(r, caller.GetID())
	}
	if p.clientAuthFailed(w, r, err) {
		return
	}
	if err != nil {
		p.writeJSONError(w, err)
		return
	}
	// A public client proves nothing by its id, so it may not learn
	// about tokens here.
	if caller.IsPublic() {
		p.writeJSONError(w, fosite.ErrInvalidClient.WithHint("Public clients cannot use introspection; authenticate with a client secret."))
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		p.writeJSONError(w, fosite.ErrInvalidRequest.WithHint("The token parameter is missing."))
		return
	}

	use := fosite.AccessToken
	if r.PostForm.Get("token_type_hint") == "refresh_token" {
		use = fosite.RefreshToken
	}
	foundUse, ar, err := p.oauth.IntrospectToken(ctx, token, use, NewSession())
	if err != nil {
		// fosite reports a storage failure like an unknown token, so a
		// ping separates the two.
		if pingErr := p.cfg.Store.Ping(ctx); pingErr != nil {
			p.cfg.Logger.ErrorContext(ctx, "introspection failed", "client_id", caller.GetID(), "err", pingErr)
			p.writeUnavailable(w)
			return
		}
		writeJSON(w, http.StatusOK, introspectionResponse{Active: false})
		return
	}
	owner := ar.GetClient().GetID()
	if c, ok := caller.(*storage.Client); owner != caller.GetID() && !(ok && c.ResourceServer) {
		writeJSON(w, http.StatusOK, introspectionResponse{Active: false})
		return
	}

	resp := introspectionResponse{
		Active:   true,
		Scope:    strings.Join(ar.GetGrantedScopes(), " "),
		ClientID: owner,
		Subject:  ar.GetSession().GetSubject(),
		Username: ar.GetSession().GetUsername(),
		TokenUse: string(foundUse),
		IssuedAt: ar.GetRequestedAt().Unix(),
		Issuer:   p.cfg.Issuer,
	}
	if exp := ar.GetSession().GetExpiresAt(fosite.TokenType(foundUse)); !exp.IsZero() {
		resp.ExpiresAt = exp.Unix()
	}
	if foundUse == fosite.AccessToken {
		resp.TokenType = "Bearer"
	}
	writeJSON(w, http.StatusOK, resp)
}
