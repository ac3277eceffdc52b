package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ory/fosite"

	"github.com/idp/idp/consent"
	"github.com/idp/idp/storage"
)

// revoke serves /oauth2/revoke (RFC 7009). fosite's revocation returns
// 200 when the token belongs to another client and when storage fails,
// so idp looks the token up itself. A client revokes only its own
// tokens, and another client's token gets unauthorized_client and stays
// active. A storage failure gets 503, never a false 200. Revoking
// either token of a grant revokes the whole grant.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
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
	client, err := p.oauth.AuthenticateClient(ctx, r, r.PostForm)
	if client != nil {
		noteClientID(r, client.GetID())
	}
	if p.clientAuthFailed(w, r, err) {
		return
	}
	if err != nil {
		p.writeJSONError(w, err)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		p.writeJSONError(w, fosite.ErrInvalidRequest.WithHint("The token parameter is missing."))
		return
	}

	requester, err := p.lookupToken(ctx, token, r.PostForm.Get("token_type_hint"))
	switch {
	case errors.Is(err, errTokenUnknown):
		// RFC 7009 section 2.2: an invalid token is not an error.
		writeNoStore(w, http.StatusOK)
		return
	case err != nil:
		p.cfg.Logger.ErrorContext(ctx, "look up token for revocation failed", "client_id", client.GetID(), "err", err)
		p.writeUnavailable(w)
		return
	}
	if requester.GetClient().GetID() != client.GetID() {
		p.cfg.Logger.InfoContext(ctx, "revocation of another client's token rejected", "client_id", client.GetID())
		p.writeJSONError(w, fosite.ErrUnauthorizedClient.WithHint("The token was not issued to this client."))
		return
	}
	if err := p.cfg.Store.RevokeGrant(ctx, requester.GetID()); err != nil {
		p.cfg.Logger.ErrorContext(ctx, "revoke grant failed", "client_id", client.GetID(), "err", err)
		p.writeUnavailable(w)
		return
	}
	p.cfg.Logger.InfoContext(ctx, "token revoked", "client_id", client.GetID(), "request_id", requester.GetID())
	writeNoStore(w, http.StatusOK)
}

// errTokenUnknown means a token is not one idp issued, or has expired.
var errTokenUnknown = errors.New("token unknown or expired")

// lookupToken finds the grant of a refresh or access token, trying the
// hinted kind first. Inactive refresh tokens are found too, so a
// client can still revoke the family they belong to.
func (p *Provider) lookupToken(ctx context.Context, token, hint string) (fosite.Requester, error) {
	type lookup func() (fosite.Requester, error)
	refresh := func() (fosite.Requester, error) {
		req, err := p.cfg.Store.GetRefreshTokenSession(ctx, p.tokens.RefreshTokenSignature(ctx, token), nil)
		if err != nil && !errors.Is(err, fosite.ErrInactiveToken) {
			return nil, err
		}
		if err := p.tokens.ValidateRefreshToken(ctx, req, token); err != nil {
			return nil, errTokenUnknown
		}
		return req, nil
	}
	access := func() (fosite.Requester, error) {
		req, err := p.cfg.Store.GetAccessTokenSession(ctx, p.tokens.AccessTokenSignature(ctx, token), nil)
		if err != nil {
			return nil, err
		}
		if err := p.tokens.ValidateAccessToken(ctx, req, token); err != nil {
			return nil, errTokenUnknown
		}
		return req, nil
	}
	order := []lookup{refresh, access}
	if hint == "access_token" {
		order = []lookup{access, refresh}
	}
	for _, find := range order {
		req, err := find()
		switch {
		case err == nil:
			return req, nil
		case errors.Is(err, errTokenUnknown), errors.Is(err, fosite.ErrNotFound):
			continue
		default:
			return nil, err
		}
	}
	return nil, errTokenUnknown
}

// writeJSONError writes an RFC 6749 section 5.2 error; invalid_client
// also gets a WWW-Authenticate challenge (section 5.2).
func (p *Provider) writeJSONError(w http.ResponseWriter, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.ErrorField == fosite.ErrInvalidClient.ErrorField {
		w.Header().Set("WWW-Authenticate", `Basic realm="idp"`)
	}
	body := map[string]string{"error": rfc.ErrorField}
	if desc := rfc.GetDescription(); desc != "" {
		body["error_description"] = desc
	}
	writeJSON(w, rfc.CodeField, body)
}

func (p *Provider) writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{
		"error":             "temporarily_unavailable",
		"error_description": "The token store is not reachable; retry shortly.",
	})
}

func writeNoStore(w http.ResponseWriter, status int) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
}

// writeJSON writes v as JSON with Cache-Control: no-store, which every
// protocol response that may carry a token needs.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
