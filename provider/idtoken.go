package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"

	"github.com/idp/idp/storage"
)

// idTokenAlgorithms are the JWS algorithms idp signs with and the only
// ones it accepts in an id_token_hint. Pinning them rules out "none"
// and an HMAC keyed with a public key.
var idTokenAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// idTokenSigner signs ID tokens itself instead of through fosite's
// signer: it sets a kid header, signs with the algorithm the client
// registered, and reads the user's claims at signing time. It
// implements fosite's openid.OpenIDConnectTokenStrategy.
type idTokenSigner struct {
	issuer string
	keys   *KeySet
	claims func(ctx context.Context, userID string, granted []string) (map[string]any, error)
	now    func() time.Time
}

// GenerateIDToken signs an ID token for the grant in requester. For
// the authorization code grant requester is the stored authorization
// request, so its form holds the nonce; on refresh it holds none.
func (s *idTokenSigner) GenerateIDToken(ctx context.Context, lifespan time.Duration, requester fosite.Requester) (string, error) {
	sess, ok := requester.GetSession().(*Session)
	if !ok {
		return "", fosite.ErrServerError.WithDebugf("session has type %T, want *provider.Session", requester.GetSession())
	}
	client := requester.GetClient()
	alg := AlgRS256
	if c, ok := client.(*storage.Client); ok && c.IDTokenSignedResponseAlg != "" {
		alg = c.IDTokenSignedResponseAlg
	}

	claims := map[string]any{}
	if sess.UserID != "" {
		userClaims, err := s.claims(ctx, sess.UserID, requester.GetGrantedScopes())
		if err != nil {
			return "", fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
		}
		for k, v := range userClaims {
			claims[k] = v
		}
	}

	now := s.now().UTC()
	claims["iss"] = s.issuer
	claims["sub"] = sess.Subject
	claims["aud"] = []string{client.GetID()}
	claims["azp"] = client.GetID()
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(lifespan).Unix()
	if !sess.AuthTime.IsZero() {
		claims["auth_time"] = sess.AuthTime.Unix()
	}
	if nonce := requester.GetRequestForm().Get("nonce"); nonce != "" {
		claims["nonce"] = nonce
	}
	if sess.DefaultSession != nil && sess.Claims != nil && sess.Claims.AccessTokenHash != "" {
		claims["at_hash"] = sess.Claims.AccessTokenHash
	}
	if sess.SID != "" {
		claims["sid"] = sess.SID
	}

	return s.sign(ctx, alg, claims)
}

// sign serialises claims as a compact JWS with the current key for alg.
func (s *idTokenSigner) sign(ctx context.Context, alg string, claims map[string]any) (string, error) {
	kid, key, err := s.keys.Current(ctx, alg)
	if err != nil {
		return "", fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: key}, opts)
	if err != nil {
		return "", fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	return jws.CompactSerialize()
}

// errInvalidHint is returned for an id_token_hint that idp did not sign.
var errInvalidHint = errors.New("id_token_hint is not an ID token issued by this provider")

// verifyHint checks an id_token_hint and returns its subject. The
// signature must verify with a published key named by the kid header,
// and the issuer must be idp. An expired token is accepted, because a
// relying party sends the last ID token it has.
func (s *idTokenSigner) verifyHint(ctx context.Context, hint string) (subject string, err error) {
	jws, err := jose.ParseSigned(hint, idTokenAlgorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return "", errInvalidHint
	}
	header := jws.Signatures[0].Header

	published, err := s.keys.Published(ctx)
	if err != nil {
		return "", err
	}
	keys := published.Key(header.KeyID)
	if len(keys) != 1 || keys[0].Algorithm != header.Algorithm {
		return "", errInvalidHint
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		return "", errInvalidHint
	}

	var claims struct {
		Issuer  string `json:"iss"`
		Subject string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", errInvalidHint
	}
	if claims.Issuer != s.issuer || claims.Subject == "" {
		return "", fmt.Errorf("%w: issuer %q", errInvalidHint, claims.Issuer)
	}
	return claims.Subject, nil
}

// supportedIDTokenAlgorithms lists the algorithms for discovery.
func supportedIDTokenAlgorithms() []string {
	out := make([]string, 0, len(idTokenAlgorithms))
	for _, a := range idTokenAlgorithms {
		out = append(out, string(a))
	}
	return slices.Clip(out)
}
