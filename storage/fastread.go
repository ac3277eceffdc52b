package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// The reads on every token request (a client by id, an access or
// refresh token by signature) skip gorm's reflection and scan columns
// into fields directly, with statements prepared once per store. Other
// reads go through gorm. Inside a transaction these reads use gorm too,
// so they see the transaction's writes.

// fastReads holds the prepared statements of the direct reads.
type fastReads struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

const clientColumns = "id, name, uri, secret_hash, secret_disabled, redirect_uris, grant_types, response_types, " +
	"scopes, allowed_cors_origins, public, token_endpoint_auth_method, pkce_optional, resource_server, " +
	"id_token_signed_response_alg, created_at, updated_at"

const tokenColumns = "signature, request_id, client_id, subject, requested_at, expires_at, scopes, " +
	"granted_scopes, audience, granted_aud, form, session, active, created_at"

// prepared returns the statement for query, preparing it on first use.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.fast.mu.Lock()
	defer s.fast.mu.Unlock()
	if stmt, ok := s.fast.stmts[query]; ok {
		return stmt, nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, err
	}
	text := query
	if s.dialect == "postgres" {
		text = strings.Replace(query, "?", "$1", 1)
	}
	stmt, err := sqlDB.PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	if s.fast.stmts == nil {
		s.fast.stmts = map[string]*sql.Stmt{}
	}
	// The key is the query as callers pass it, so the next call finds it.
	s.fast.stmts[query] = stmt
	return stmt, nil
}

// inTx reports whether ctx carries a transaction.
func inTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*gorm.DB)
	return ok
}

// readClient loads a client with a direct query; a missing one is
// gorm.ErrRecordNotFound, as from gorm.
func (s *Store) readClient(ctx context.Context, id string) (*Client, error) {
	var c Client
	if pendingWrites(ctx) != nil {
		return nil, errReadInFositeTx
	}
	if inTx(ctx) {
		err := s.conn(ctx).Where("id = ?", id).Take(&c).Error
		return &c, err
	}
	stmt, err := s.prepared(ctx, "SELECT "+clientColumns+" FROM clients WHERE id = ?")
	if err != nil {
		return nil, err
	}
	var uri, secretHash sql.NullString
	var secretDisabled, public, pkceOptional, resourceServer sql.NullBool
	var createdAt, updatedAt sql.NullTime
	err = stmt.QueryRowContext(s.statementContext(ctx), id).Scan(&c.ID, &c.Name, &uri, &secretHash, &secretDisabled,
		&c.RedirectURIs, &c.GrantTypes, &c.ResponseTypes, &c.Scopes, &c.AllowedCORSOrigins,
		&public, &c.TokenEndpointAuthMethod, &pkceOptional, &resourceServer,
		&c.IDTokenSignedResponseAlg, &createdAt, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gorm.ErrRecordNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read client: %w", err)
	}
	c.URI, c.SecretHash = uri.String, secretHash.String
	c.SecretDisabled, c.Public = secretDisabled.Bool, public.Bool
	c.PKCEOptional, c.ResourceServer = pkceOptional.Bool, resourceServer.Bool
	c.CreatedAt, c.UpdatedAt = createdAt.Time, updatedAt.Time
	return &c, nil
}

// The direct reads of token rows by signature.
const (
	selectAccessToken  = "SELECT " + tokenColumns + " FROM access_tokens WHERE signature = ?"
	selectRefreshToken = "SELECT " + tokenColumns + " FROM refresh_tokens WHERE signature = ?"
)

// readAccessToken loads an access token row with a direct query.
func (s *Store) readAccessToken(ctx context.Context, signature string) (*TokenRow, error) {
	if pendingWrites(ctx) != nil {
		return nil, errReadInFositeTx
	}
	if inTx(ctx) {
		var row AccessToken
		err := s.conn(ctx).Where("signature = ?", signature).Take(&row).Error
		return &row.TokenRow, err
	}
	return s.readTokenRow(ctx, selectAccessToken, signature)
}

// readRefreshToken loads the columns of a refresh token row that it
// shares with the other token tables.
func (s *Store) readRefreshToken(ctx context.Context, signature string) (*TokenRow, error) {
	if pendingWrites(ctx) != nil {
		return nil, errReadInFositeTx
	}
	if inTx(ctx) {
		var row RefreshToken
		err := s.conn(ctx).Where("signature = ?", signature).Take(&row).Error
		return &row.TokenRow, err
	}
	return s.readTokenRow(ctx, selectRefreshToken, signature)
}

// readTokenRow runs query, one of the direct token reads, outside a
// transaction.
func (s *Store) readTokenRow(ctx context.Context, query, signature string) (*TokenRow, error) {
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	var row TokenRow
	var subject sql.NullString
	var requestedAt, expiresAt, createdAt sql.NullTime
	err = stmt.QueryRowContext(s.statementContext(ctx), signature).Scan(&row.Signature, &row.RequestID, &row.ClientID, &subject,
		&requestedAt, &expiresAt, &row.Scopes, &row.GrantedScopes, &row.Audience, &row.GrantedAud,
		&row.Form, &row.Session, &row.Active, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, gorm.ErrRecordNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	row.Subject = subject.String
	row.RequestedAt, row.ExpiresAt, row.CreatedAt = requestedAt.Time, expiresAt.Time, createdAt.Time
	return &row, nil
}
