package provider

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"regexp"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/idp/idp/storage"
)

// PKCE per RFC 7636. fosite's switches are global, so idp decides per
// client here: a challenge is required unless an admin marked a
// confidential client PKCE-optional, only S256 is accepted, and a
// verifier without a challenge is rejected.

const (
	hintChallengeRequired   = "This client must send a PKCE code_challenge with code_challenge_method=S256 (RFC 7636)."
	hintMethodS256          = "code_challenge_method must be S256; plain and other methods are not accepted."
	hintBadChallenge        = "code_challenge must be 43 base64url characters, the SHA-256 of the code_verifier."
	hintVerifierNoChallenge = "code_verifier was sent, but the authorization request carried no code_challenge."
	hintVerifierMissing     = "The authorization request carried a code_challenge, so code_verifier is required."
	hintVerifierMismatch    = "code_verifier does not match the code_challenge of the authorization request."
)

var (
	challengeSyntax = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	verifierSyntax  = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
)

// pkceRequired reports whether client must send a code challenge.
func pkceRequired(client fosite.Client) bool {
	c, ok := client.(*storage.Client)
	if !ok {
		return true
	}
	return c.Public || !c.PKCEOptional
}

// checkChallenge validates the PKCE parameters of an authorization
// request and returns the challenge and its method ("" when absent).
func checkChallenge(ar fosite.AuthorizeRequester) (challenge, method string, err error) {
	form := ar.GetRequestForm()
	challenge = form.Get("code_challenge")
	method = form.Get("code_challenge_method")

	if challenge == "" {
		if method != "" {
			return "", "", fosite.ErrInvalidRequest.WithHint(hintChallengeRequired)
		}
		if pkceRequired(ar.GetClient()) {
			return "", "", fosite.ErrInvalidRequest.WithHint(hintChallengeRequired)
		}
		return "", "", nil
	}
	if method != "S256" {
		return "", "", fosite.ErrInvalidRequest.WithHint(hintMethodS256)
	}
	if !challengeSyntax.MatchString(challenge) {
		return "", "", fosite.ErrInvalidRequest.WithHint(hintBadChallenge)
	}
	return challenge, method, nil
}

// codeInvalidator is the storage call the guard needs.
type codeInvalidator interface {
	InvalidateAuthorizeCodeSession(ctx context.Context, signature string) error
}

// pkceGuard is a token endpoint handler placed after fosite's code
// handler, which has loaded the stored session by then, and before
// fosite's PKCE handler. It enforces the challenge recorded in idp's
// session and invalidates the code on any failure, so a second try
// cannot redeem it.
type pkceGuard struct {
	codes oauth2.AuthorizeCodeStrategy
	store codeInvalidator
}

var _ fosite.TokenEndpointHandler = (*pkceGuard)(nil)

func (g *pkceGuard) HandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) error {
	if !g.CanHandleTokenEndpointRequest(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	sess, ok := req.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithDebugf("session has type %T", req.GetSession())
	}
	verifier := req.GetRequestForm().Get("code_verifier")

	var hint string
	switch {
	case sess.CodeChallenge == "" && verifier != "":
		hint = hintVerifierNoChallenge
	case sess.CodeChallenge == "" && pkceRequired(req.GetClient()):
		hint = hintChallengeRequired
	case sess.CodeChallenge == "":
		return nil
	case verifier == "":
		hint = hintVerifierMissing
	case !verifierSyntax.MatchString(verifier) || !s256Matches(verifier, sess.CodeChallenge):
		hint = hintVerifierMismatch
	default:
		return nil
	}

	code := req.GetRequestForm().Get("code")
	if err := g.store.InvalidateAuthorizeCodeSession(ctx, g.codes.AuthorizeCodeSignature(ctx, code)); err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	return fosite.ErrInvalidGrant.WithHint(hint)
}

func s256Matches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	computed := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(computed), []byte(challenge)) == 1
}

func (g *pkceGuard) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	return fosite.ErrUnknownRequest
}

func (g *pkceGuard) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (g *pkceGuard) CanHandleTokenEndpointRequest(_ context.Context, req fosite.AccessRequester) bool {
	return req.GetGrantTypes().ExactOne("authorization_code")
}
