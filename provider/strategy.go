package provider

import (
	"context"
	"strings"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
)

// Token prefixes. They make an idp credential recognisable in a log
// or a secret scanner, and tell the kinds apart without a lookup.
const (
	PrefixAccessToken  = "idp_at_"
	PrefixRefreshToken = "idp_rt_"
	PrefixCode         = "idp_ac_"
)

// tokenStrategy is fosite's HMAC-SHA256 token strategy with idp's
// prefixes instead of fosite's "ory_" ones. Only the HMAC signature
// of each token is stored.
type tokenStrategy struct {
	*oauth2.HMACSHAStrategyUnPrefixed
}

var _ oauth2.CoreStrategy = (*tokenStrategy)(nil)

func addPrefix(token, prefix string) string {
	if token == "" {
		return ""
	}
	return prefix + token
}

func (s *tokenStrategy) AccessTokenSignature(ctx context.Context, token string) string {
	return s.HMACSHAStrategyUnPrefixed.AccessTokenSignature(ctx, strings.TrimPrefix(token, PrefixAccessToken))
}

func (s *tokenStrategy) RefreshTokenSignature(ctx context.Context, token string) string {
	return s.HMACSHAStrategyUnPrefixed.RefreshTokenSignature(ctx, strings.TrimPrefix(token, PrefixRefreshToken))
}

func (s *tokenStrategy) AuthorizeCodeSignature(ctx context.Context, token string) string {
	return s.HMACSHAStrategyUnPrefixed.AuthorizeCodeSignature(ctx, strings.TrimPrefix(token, PrefixCode))
}

func (s *tokenStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	token, sig, err := s.HMACSHAStrategyUnPrefixed.GenerateAccessToken(ctx, r)
	return addPrefix(token, PrefixAccessToken), sig, err
}

func (s *tokenStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	return s.HMACSHAStrategyUnPrefixed.ValidateAccessToken(ctx, r, strings.TrimPrefix(token, PrefixAccessToken))
}

func (s *tokenStrategy) GenerateRefreshToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	token, sig, err := s.HMACSHAStrategyUnPrefixed.GenerateRefreshToken(ctx, r)
	return addPrefix(token, PrefixRefreshToken), sig, err
}

func (s *tokenStrategy) ValidateRefreshToken(ctx context.Context, r fosite.Requester, token string) error {
	return s.HMACSHAStrategyUnPrefixed.ValidateRefreshToken(ctx, r, strings.TrimPrefix(token, PrefixRefreshToken))
}

func (s *tokenStrategy) GenerateAuthorizeCode(ctx context.Context, r fosite.Requester) (string, string, error) {
	token, sig, err := s.HMACSHAStrategyUnPrefixed.GenerateAuthorizeCode(ctx, r)
	return addPrefix(token, PrefixCode), sig, err
}

func (s *tokenStrategy) ValidateAuthorizeCode(ctx context.Context, r fosite.Requester, token string) error {
	return s.HMACSHAStrategyUnPrefixed.ValidateAuthorizeCode(ctx, r, strings.TrimPrefix(token, PrefixCode))
}
