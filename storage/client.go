package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
)

// The methods below let fosite use a *Client directly.
var (
	_ fosite.Client              = (*Client)(nil)
	_ fosite.OpenIDConnectClient = (*Client)(nil)
	_ fosite.ResponseModeClient  = (*Client)(nil)
)

// GetID returns the client_id.
func (c *Client) GetID() string { return c.ID }

// GetHashedSecret returns the keyed hash of the secret, or nil when the
// client is public or its secret was disabled, so no secret verifies.
func (c *Client) GetHashedSecret() []byte {
	if c.SecretDisabled || c.SecretHash == "" {
		return nil
	}
	return []byte(c.SecretHash)
}

// GetRedirectURIs returns the registered redirect URIs.
func (c *Client) GetRedirectURIs() []string { return c.RedirectURIs }

// GetGrantTypes returns the grant types the client may use.
func (c *Client) GetGrantTypes() fosite.Arguments { return fosite.Arguments(c.GrantTypes) }

// GetResponseTypes returns the response types the client may use.
func (c *Client) GetResponseTypes() fosite.Arguments { return fosite.Arguments(c.ResponseTypes) }

// GetScopes returns the scopes the client was registered for.
func (c *Client) GetScopes() fosite.Arguments { return fosite.Arguments(c.Scopes) }

// IsPublic reports whether the client authenticates with "none".
func (c *Client) IsPublic() bool { return c.Public }

// GetAudience returns no audiences: idp does not issue audience-bound
// access tokens.
func (c *Client) GetAudience() fosite.Arguments { return nil }

// GetRequestURIs returns nil: request_uri is not supported.
func (c *Client) GetRequestURIs() []string { return nil }

// GetJSONWebKeys returns nil: private_key_jwt is not supported.
func (c *Client) GetJSONWebKeys() *jose.JSONWebKeySet { return nil }

// GetJSONWebKeysURI returns "": private_key_jwt is not supported.
func (c *Client) GetJSONWebKeysURI() string { return "" }

// GetRequestObjectSigningAlgorithm returns "": request objects are not
// supported.
func (c *Client) GetRequestObjectSigningAlgorithm() string { return "" }

// GetTokenEndpointAuthMethod returns the registered authentication
// method.
func (c *Client) GetTokenEndpointAuthMethod() string { return c.TokenEndpointAuthMethod }

// GetTokenEndpointAuthSigningAlgorithm returns "": JWT client
// authentication is not supported.
func (c *Client) GetTokenEndpointAuthSigningAlgorithm() string { return "" }

// GetResponseModes allows only the query response mode.
func (c *Client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeDefault, fosite.ResponseModeQuery}
}

// GetClient loads a client for fosite; a missing one is fosite.ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.Client(ctx, id)
	if err != nil {
		if isNotFound(err) {
			return nil, fosite.ErrNotFound.WithWrap(err)
		}
		return nil, err
	}
	return c, nil
}

// Client loads a client by id; a missing one is ErrNotFound.
func (s *Store) Client(ctx context.Context, id string) (*Client, error) {
	memo := memoFrom(ctx)
	if c, ok := memo.client(id); ok {
		return c, nil
	}
	c, err := s.readClient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("client %q: %w", id, notFound(err))
	}
	memo.storeClient(c)
	return c, nil
}

// CreateClient inserts a new client.
func (s *Store) CreateClient(ctx context.Context, c *Client) error {
	return s.conn(ctx).Create(c).Error
}

// ListClients returns every client ordered by name.
func (s *Store) ListClients(ctx context.Context) ([]Client, error) {
	var list []Client
	err := s.conn(ctx).Order("name, id").Find(&list).Error
	return list, err
}

// UpdateClient replaces a client's fields; a missing one is ErrNotFound.
func (s *Store) UpdateClient(ctx context.Context, c *Client) error {
	res := s.conn(ctx).Model(&Client{}).Where("id = ?", c.ID).
		Select("*").Omit("id", "created_at").Updates(c)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("client %q: %w", c.ID, ErrNotFound)
	}
	return nil
}

// DeleteClient deletes a client with its tokens, consents and flows in
// one transaction; a missing one is ErrNotFound.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		db := s.conn(ctx)
		for _, model := range []any{
			&AccessToken{}, &RefreshToken{}, &AuthorizationCode{},
			&PKCERequest{}, &OIDCSession{}, &Consent{}, &AuthFlow{},
		} {
			if err := db.Where("client_id = ?", id).Delete(model).Error; err != nil {
				return err
			}
		}
		res := db.Where("id = ?", id).Delete(&Client{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("client %q: %w", id, ErrNotFound)
		}
		return nil
	})
}

// ClientsAllowingOrigin returns the clients that list origin among
// their allowed CORS origins, compared exactly.
func (s *Store) ClientsAllowingOrigin(ctx context.Context, origin string) ([]Client, error) {
	encoded, err := json.Marshal(origin)
	if err != nil {
		return nil, err
	}
	// The LIKE narrows the scan on the JSON text; the exact comparison
	// below decides, so LIKE wildcards in origin cannot widen a match.
	var candidates []Client
	err = s.conn(ctx).Where("allowed_cors_origins LIKE ?", "%"+string(encoded)+"%").Find(&candidates).Error
	if err != nil {
		return nil, err
	}
	var out []Client
	for _, c := range candidates {
		if slices.Contains(c.AllowedCORSOrigins, origin) {
			out = append(out, c)
		}
	}
	return out, nil
}
