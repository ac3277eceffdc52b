package provider

import (
	"maps"
	"slices"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Session is the data idp stores with every code and token it issues. It
// embeds fosite's OpenID Connect session, which fosite's handlers need,
// and adds the facts idp's own checks read back at the token endpoint.
//
// Sessions are stored as JSON, so every field is a plain value.
type Session struct {
	*openid.DefaultSession

	// UserID is the internal id of the signed-in user, empty for
	// client_credentials.
	UserID string `json:"user_id,omitempty"`
	// SID is the public id of the login session, sent as the sid claim.
	SID string `json:"sid,omitempty"`
	// AuthTime is when the user last entered their password.
	AuthTime time.Time `json:"auth_time,omitzero"`
	// FamilyExpiresAt is the absolute end of the refresh-token family
	// this grant started; rotation never moves it.
	FamilyExpiresAt time.Time `json:"family_expires_at,omitzero"`
	// CodeChallenge and CodeChallengeMethod are the PKCE challenge sent
	// to the authorization endpoint, empty when none was sent.
	CodeChallenge       string `json:"code_challenge,omitempty"`
	CodeChallengeMethod string `json:"code_challenge_method,omitempty"`
	// GrantScopes is the scope of the grant when a refresh narrowed the
	// new access token; the new refresh token keeps it.
	GrantScopes []string `json:"grant_scopes,omitempty"`
}

// NewSession returns an empty session, the type fosite decodes stored
// tokens into.
func NewSession() *Session {
	return &Session{DefaultSession: &openid.DefaultSession{
		Claims:  &jwt.IDTokenClaims{},
		Headers: &jwt.Headers{},
	}}
}

// NewFositeSession returns NewSession as a fosite.Session, the form
// storage.Options wants.
func NewFositeSession() fosite.Session { return NewSession() }

// Clone returns a deep copy; fosite clones sessions before it changes
// them for a new token.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	c.GrantScopes = slices.Clone(s.GrantScopes)
	if s.DefaultSession != nil {
		c.DefaultSession = s.DefaultSession.Clone().(*openid.DefaultSession)
	}
	return &c
}

// CopyFrom sets s to a deep copy of src and reports true when src is a
// *Session. storage uses it to decode each distinct stored access token
// session once and copy it afterwards, which costs a tenth as much. The
// extra claims and headers of src must hold only what encoding/json
// decodes: maps, slices and scalars.
//
// NOTE: the copy names every field of fosite's DefaultSession,
// IDTokenClaims and Headers that holds a map or a slice, as of fosite
// 0.49. TestSessionCopyFields fails when a fosite upgrade adds a field.
func (s *Session) CopyFrom(src fosite.Session) bool {
	from, ok := src.(*Session)
	if !ok || from == nil {
		return false
	}
	*s = *from
	s.GrantScopes = slices.Clone(from.GrantScopes)
	if from.DefaultSession == nil {
		return true
	}
	d := *from.DefaultSession
	d.ExpiresAt = maps.Clone(from.ExpiresAt)
	if from.Claims != nil {
		claims := *from.Claims
		claims.Audience = slices.Clone(claims.Audience)
		claims.AuthenticationMethodsReferences = slices.Clone(claims.AuthenticationMethodsReferences)
		claims.Extra = copyJSONObject(claims.Extra)
		d.Claims = &claims
	}
	if from.Headers != nil {
		headers := *from.Headers
		headers.Extra = copyJSONObject(headers.Extra)
		d.Headers = &headers
	}
	s.DefaultSession = &d
	return true
}

// copyJSONObject returns a deep copy of a JSON object decoded by
// encoding/json, whose values are maps, slices and immutable scalars.
func copyJSONObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = copyJSONValue(v)
	}
	return c
}

func copyJSONValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyJSONObject(v)
	case []any:
		c := make([]any, len(v))
		for i, item := range v {
			c[i] = copyJSONValue(item)
		}
		return c
	default:
		return v
	}
}

// RefreshGrantedScopes returns the scope the refresh token keeps.
func (s *Session) RefreshGrantedScopes() []string { return s.GrantScopes }

// FamilyExpiry returns when the refresh-token family ends; storage
// uses it to keep replay-detection rows long enough.
func (s *Session) FamilyExpiry() time.Time { return s.FamilyExpiresAt }
