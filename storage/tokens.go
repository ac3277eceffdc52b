package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ory/fosite"
	"gorm.io/gorm"
)

// TokenRow is the shape shared by every table that stores a fosite
// request under a signature: authorization codes, access tokens,
// refresh tokens, PKCE requests and OpenID Connect sessions.
type TokenRow struct {
	// Signature is the HMAC signature of the token (or the SHA-256 of
	// the code for OpenID Connect sessions); the token itself is never
	// stored.
	Signature string `gorm:"primaryKey;size:128"`
	// RequestID ties every token of one grant together.
	RequestID string `gorm:"index;size:64;not null"`
	ClientID  string `gorm:"index;size:64;not null"`
	// Subject is the user's sub, empty for client credentials.
	Subject       string `gorm:"index;size:64"`
	RequestedAt   time.Time
	ExpiresAt     time.Time  `gorm:"index"`
	Scopes        StringList `gorm:"type:text;not null"`
	GrantedScopes StringList `gorm:"type:text;not null"`
	Audience      StringList `gorm:"type:text;not null"`
	GrantedAud    StringList `gorm:"type:text;not null"`
	Form          string     `gorm:"type:text;not null"`
	Session       string     `gorm:"type:text;not null"`
	Active        bool       `gorm:"not null;default:true"`
	CreatedAt     time.Time
}

// AuthorizationCode is a stored authorization code.
type AuthorizationCode struct{ TokenRow }

// AccessToken is a stored access token.
type AccessToken struct{ TokenRow }

// RefreshToken is a stored refresh token.
type RefreshToken struct {
	TokenRow
	// AccessSignature is the access token issued with this refresh token.
	AccessSignature string `gorm:"size:128"`
	// FamilyExpiresAt is when the whole refresh-token family ends,
	// however often it rotates.
	FamilyExpiresAt time.Time
}

// PKCERequest is fosite's record of a code challenge.
type PKCERequest struct{ TokenRow }

// OIDCSession is the OpenID Connect part of an authorization code.
type OIDCSession struct{ TokenRow }

func (AuthorizationCode) TableName() string { return "authorization_codes" }
func (AccessToken) TableName() string       { return "access_tokens" }
func (RefreshToken) TableName() string      { return "refresh_tokens" }
func (PKCERequest) TableName() string       { return "pkce_requests" }
func (OIDCSession) TableName() string       { return "oidc_sessions" }

// tokenKind names a table in errors and selects its model.
type tokenKind int

const (
	kindCode tokenKind = iota
	kindAccess
	kindRefresh
	kindPKCE
	kindOIDC
)

// FamilyLifetimer is implemented by sessions that know when their
// refresh-token family must end.
type FamilyLifetimer interface {
	FamilyExpiry() time.Time
}

// RefreshScoper is implemented by sessions whose refresh token keeps a
// wider scope than the access token issued with it: a refresh may
// narrow the new access token, never the grant (RFC 6749 section 6).
type RefreshScoper interface {
	RefreshGrantedScopes() []string
}

func newRow(signature string, r fosite.Requester, expires time.Time) (TokenRow, error) {
	sess, err := json.Marshal(r.GetSession())
	if err != nil {
		return TokenRow{}, fmt.Errorf("encode session: %w", err)
	}
	subject := ""
	if r.GetSession() != nil {
		subject = r.GetSession().GetSubject()
	}
	return TokenRow{
		Signature:     signature,
		RequestID:     r.GetID(),
		ClientID:      r.GetClient().GetID(),
		Subject:       subject,
		RequestedAt:   r.GetRequestedAt().UTC(),
		ExpiresAt:     expires.UTC(),
		Scopes:        StringList(r.GetRequestedScopes()),
		GrantedScopes: StringList(r.GetGrantedScopes()),
		Audience:      StringList(r.GetRequestedAudience()),
		GrantedAud:    StringList(r.GetGrantedAudience()),
		Form:          r.GetRequestForm().Encode(),
		Session:       string(sess),
		Active:        true,
	}, nil
}

// The INSERT statements of the token tables. The columns follow
// tokenColumns; refresh tokens add two of their own.
var (
	insertCode    = insertTokenSQL("authorization_codes", "")
	insertAccess  = insertTokenSQL("access_tokens", "")
	insertRefresh = insertTokenSQL("refresh_tokens", "access_signature, family_expires_at")
	insertPKCE    = insertTokenSQL("pkce_requests", "")
	insertOIDC    = insertTokenSQL("oidc_sessions", "")
)

func insertTokenSQL(table, extraColumns string) string {
	columns := tokenColumns
	n := strings.Count(tokenColumns, ",") + 1
	if extraColumns != "" {
		columns += ", " + extraColumns
		n += strings.Count(extraColumns, ",") + 1
	}
	placeholders := strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
	return "INSERT INTO " + table + " (" + columns + ") VALUES (" + placeholders + ")"
}

// insertOp returns the statement that inserts row with query, one of
// the insert statements above. The lists are encoded here, before any
// write lock is taken.
func (s *Store) insertOp(query string, row TokenRow) writeOp {
	if row.CreatedAt.IsZero() {
		row.CreatedAt = s.now().UTC()
	}
	return writeOp{
		kind:  "create",
		query: query,
		args: []any{
			row.Signature, row.RequestID, row.ClientID, row.Subject,
			row.RequestedAt, row.ExpiresAt,
			row.Scopes.encoded(), row.GrantedScopes.encoded(), row.Audience.encoded(), row.GrantedAud.encoded(),
			row.Form, row.Session, row.Active, row.CreatedAt,
		},
	}
}

// expiry returns the session's expiry for kind, or a fallback.
func expiry(r fosite.Requester, kind fosite.TokenType, fallback time.Duration, now time.Time) time.Time {
	if r.GetSession() != nil {
		if t := r.GetSession().GetExpiresAt(kind); !t.IsZero() {
			return t
		}
	}
	return now.Add(fallback)
}

// toRequest rebuilds the fosite request stored in row, decoding the
// session into session (or a new empty one when session is nil).
// With memoSession set the decoding of the session may be reused.
func (s *Store) toRequest(ctx context.Context, row *TokenRow, session fosite.Session, memoSession bool) (*fosite.Request, error) {
	client, err := s.GetClient(ctx, row.ClientID)
	if err != nil {
		return nil, fmt.Errorf("load client %q of token: %w", row.ClientID, err)
	}
	if session == nil {
		session = s.newSession()
	}
	if err := s.decodeSession(row.Session, session, memoSession); err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(row.Form)
	if err != nil {
		return nil, fmt.Errorf("decode form: %w", err)
	}
	return &fosite.Request{
		ID:                row.RequestID,
		RequestedAt:       row.RequestedAt,
		Client:            client,
		RequestedScope:    fosite.Arguments(row.Scopes),
		GrantedScope:      fosite.Arguments(row.GrantedScopes),
		RequestedAudience: fosite.Arguments(row.Audience),
		GrantedAudience:   fosite.Arguments(row.GrantedAud),
		Form:              form,
		Session:           session,
	}, nil
}

// CreateAuthorizeCodeSession stores an authorization code by signature.
func (s *Store) CreateAuthorizeCodeSession(ctx context.Context, signature string, r fosite.Requester) error {
	row, err := newRow(signature, r, expiry(r, fosite.AuthorizeCode, time.Minute, s.now()))
	if err != nil {
		return err
	}
	return s.exec(ctx, s.insertOp(insertCode, row))
}

// GetAuthorizeCodeSession loads a code. A used code returns its request
// together with fosite.ErrInvalidatedAuthorizeCode, so fosite can revoke
// what it issued.
func (s *Store) GetAuthorizeCodeSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var row AuthorizationCode
	if err := s.conn(ctx).Where("signature = ?", signature).Take(&row).Error; err != nil {
		return nil, lookupError(err)
	}
	req, err := s.toRequest(ctx, &row.TokenRow, session, false)
	if err != nil {
		return nil, err
	}
	if !row.Active {
		return req, fosite.ErrInvalidatedAuthorizeCode
	}
	return req, nil
}

// InvalidateAuthorizeCodeSession marks a code used. Exactly one of
// several concurrent callers succeeds; the others get ErrAlreadyUsed.
func (s *Store) InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error {
	return s.exec(ctx, writeOp{
		kind:   "update",
		query:  "UPDATE authorization_codes SET active = ? WHERE signature = ? AND active = ?",
		args:   []any{false, signature, true},
		ifNone: ErrAlreadyUsed,
	})
}

// CreateAccessTokenSession stores an access token by signature.
func (s *Store) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	row, err := newRow(signature, r, expiry(r, fosite.AccessToken, 5*time.Minute, s.now()))
	if err != nil {
		return err
	}
	return s.exec(ctx, s.insertOp(insertAccess, row))
}

// GetAccessTokenSession loads an access token. Revoked access tokens are
// deleted, so they are simply not found.
func (s *Store) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	row, err := s.readAccessToken(ctx, signature)
	if err != nil {
		return nil, lookupError(err)
	}
	return s.toRequest(ctx, row, session, true)
}

// DeleteAccessTokenSession deletes one access token.
func (s *Store) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	return s.exec(ctx, writeOp{
		kind:  "delete",
		query: "DELETE FROM access_tokens WHERE signature = ?",
		args:  []any{signature},
	})
}

// CreateRefreshTokenSession stores a refresh token. The family expiry
// comes from the session, so it survives rotation unchanged.
func (s *Store) CreateRefreshTokenSession(ctx context.Context, signature, accessSignature string, r fosite.Requester) error {
	row, err := newRow(signature, r, expiry(r, fosite.RefreshToken, 30*24*time.Hour, s.now()))
	if err != nil {
		return err
	}
	rt := RefreshToken{TokenRow: row, AccessSignature: accessSignature}
	if gs, ok := r.GetSession().(RefreshScoper); ok && len(gs.RefreshGrantedScopes()) > 0 {
		rt.GrantedScopes = StringList(gs.RefreshGrantedScopes())
	}
	if fl, ok := r.GetSession().(FamilyLifetimer); ok {
		rt.FamilyExpiresAt = fl.FamilyExpiry().UTC()
		if !rt.FamilyExpiresAt.IsZero() && rt.FamilyExpiresAt.Before(rt.ExpiresAt) {
			rt.ExpiresAt = rt.FamilyExpiresAt
		}
	}
	op := s.insertOp(insertRefresh, rt.TokenRow)
	op.args = append(op.args, rt.AccessSignature, rt.FamilyExpiresAt)
	return s.exec(ctx, op)
}

// GetRefreshTokenSession loads a refresh token. A rotated or revoked one
// returns its request with fosite.ErrInactiveToken, which makes fosite
// revoke the whole family.
func (s *Store) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	row, err := s.readRefreshToken(ctx, signature)
	if err != nil {
		return nil, lookupError(err)
	}
	req, err := s.toRequest(ctx, row, session, false)
	if err != nil {
		return nil, err
	}
	if !row.Active {
		return req, fosite.ErrInactiveToken
	}
	return req, nil
}

// DeleteRefreshTokenSession deactivates a refresh token. The row is
// kept so that presenting the token again is still detected as reuse;
// the cleanup job deletes it once its family has expired.
func (s *Store) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	return s.exec(ctx, writeOp{
		kind:  "update",
		query: "UPDATE refresh_tokens SET active = ? WHERE signature = ?",
		args:  []any{false, signature},
	})
}

// RotateRefreshToken deactivates the refresh token being exchanged and
// deletes the access tokens of its grant. Exactly one of several
// concurrent rotations succeeds; the others get ErrAlreadyUsed.
func (s *Store) RotateRefreshToken(ctx context.Context, requestID, signature string) error {
	return s.exec(ctx,
		writeOp{
			kind:   "update",
			query:  "UPDATE refresh_tokens SET active = ? WHERE signature = ? AND request_id = ? AND active = ?",
			args:   []any{false, signature, requestID, true},
			ifNone: ErrAlreadyUsed,
		},
		revokeAccessOp(requestID),
	)
}

// RevokeRefreshToken deactivates every refresh token of a grant.
func (s *Store) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.exec(ctx, revokeRefreshOp(requestID))
}

// RevokeAccessToken deletes every access token of a grant.
func (s *Store) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.exec(ctx, revokeAccessOp(requestID))
}

// RevokeGrant revokes every access and refresh token of a grant in one
// transaction.
func (s *Store) RevokeGrant(ctx context.Context, requestID string) error {
	return s.exec(ctx, revokeRefreshOp(requestID), revokeAccessOp(requestID))
}

func revokeRefreshOp(requestID string) writeOp {
	return writeOp{
		kind:  "update",
		query: "UPDATE refresh_tokens SET active = ? WHERE request_id = ?",
		args:  []any{false, requestID},
	}
}

func revokeAccessOp(requestID string) writeOp {
	return writeOp{
		kind:  "delete",
		query: "DELETE FROM access_tokens WHERE request_id = ?",
		args:  []any{requestID},
	}
}

// RevokeSubjectGrants revokes every token issued for a user, for
// example after the user is disabled or changes password.
func (s *Store) RevokeSubjectGrants(ctx context.Context, subject string) error {
	if subject == "" {
		// Client credentials tokens have no subject; an empty one must
		// not match them all.
		return errors.New("storage: RevokeSubjectGrants needs a subject")
	}
	return s.exec(ctx,
		writeOp{
			kind:  "delete",
			query: "DELETE FROM access_tokens WHERE subject = ?",
			args:  []any{subject},
		},
		writeOp{
			kind:  "update",
			query: "UPDATE refresh_tokens SET active = ? WHERE subject = ?",
			args:  []any{false, subject},
		},
		writeOp{
			kind:  "update",
			query: "UPDATE authorization_codes SET active = ? WHERE subject = ?",
			args:  []any{false, subject},
		},
	)
}

// CreatePKCERequestSession stores a code challenge.
func (s *Store) CreatePKCERequestSession(ctx context.Context, signature string, r fosite.Requester) error {
	row, err := newRow(signature, r, expiry(r, fosite.AuthorizeCode, time.Minute, s.now()))
	if err != nil {
		return err
	}
	return s.exec(ctx, s.insertOp(insertPKCE, row))
}

// GetPKCERequestSession loads a code challenge.
func (s *Store) GetPKCERequestSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var row PKCERequest
	if err := s.conn(ctx).Where("signature = ?", signature).Take(&row).Error; err != nil {
		return nil, lookupError(err)
	}
	return s.toRequest(ctx, &row.TokenRow, session, false)
}

// DeletePKCERequestSession deletes a code challenge.
func (s *Store) DeletePKCERequestSession(ctx context.Context, signature string) error {
	return s.exec(ctx, writeOp{
		kind:  "delete",
		query: "DELETE FROM pkce_requests WHERE signature = ?",
		args:  []any{signature},
	})
}

// CreateOpenIDConnectSession stores the OpenID Connect request of a code.
// fosite passes the raw code, so only its SHA-256 is used as the key.
func (s *Store) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	row, err := newRow(hashKey(code), r, expiry(r, fosite.AuthorizeCode, time.Minute, s.now()))
	if err != nil {
		return err
	}
	return s.exec(ctx, s.insertOp(insertOIDC, row))
}

// GetOpenIDConnectSession loads the OpenID Connect request of a code.
func (s *Store) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	var row OIDCSession
	if err := s.conn(ctx).Where("signature = ?", hashKey(code)).Take(&row).Error; err != nil {
		return nil, lookupError(err)
	}
	return s.toRequest(ctx, &row.TokenRow, nil, false)
}

// DeleteOpenIDConnectSession deletes the OpenID Connect request of a code.
func (s *Store) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.exec(ctx, writeOp{
		kind:  "delete",
		query: "DELETE FROM oidc_sessions WHERE signature = ?",
		args:  []any{hashKey(code)},
	})
}

// ClientAssertionJWTValid reports fosite.ErrJTIKnown for a JWT id seen
// before. idp does not accept client assertions yet, so no id is ever
// recorded and every id is valid.
func (s *Store) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	return nil
}

// SetClientAssertionJWT would record a client assertion's JWT id.
func (s *Store) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	return errors.New("client assertions are not supported")
}

// lookupError turns a missing row into fosite.ErrNotFound and returns
// any other error unchanged, so that fosite reports a database failure
// as a server error rather than as an unknown token.
func lookupError(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fosite.ErrNotFound.WithWrap(ErrNotFound)
	}
	return err
}

// isNotFound reports whether err means a missing row.
func isNotFound(err error) bool {
	return errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, ErrNotFound)
}
