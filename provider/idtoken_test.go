package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// compactJWT builds a JWS by hand, so tests can make tokens a proper
// library refuses to make.
func compactJWT(header, claims map[string]any, sign func(input []byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func TestVerifyHint(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	ks := newTestKeySet(t, clock)
	if err := ks.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	signer := &idTokenSigner{issuer: "https://idp.example.com", keys: ks, now: clock.Now}
	claims := map[string]any{"iss": "https://idp.example.com", "sub": "user-1", "exp": clock.now.Add(-time.Hour).Unix()}

	expired, err := signer.sign(ctx, AlgRS256, claims)
	if err != nil {
		t.Fatal(err)
	}
	if sub, err := signer.verifyHint(ctx, expired); err != nil || sub != "user-1" {
		t.Errorf("expired hint: got %q %v, want user-1 accepted", sub, err)
	}

	set, err := ks.Published(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kid := set.Keys[0].KeyID
	publicJSON, _ := json.Marshal(set.Keys[0])

	otherIssuer, _ := signer.sign(ctx, AlgRS256, map[string]any{"iss": "https://evil.example.com", "sub": "user-1"})
	tests := []struct {
		name string
		hint string
	}{
		{"alg none", compactJWT(map[string]any{"alg": "none", "kid": kid}, claims, func([]byte) []byte { return nil })},
		{"HMAC keyed with the public key", compactJWT(map[string]any{"alg": "HS256", "kid": kid}, claims, func(in []byte) []byte {
			m := hmac.New(sha256.New, publicJSON)
			m.Write(in)
			return m.Sum(nil)
		})},
		{"unknown kid", compactJWT(map[string]any{"alg": "RS256", "kid": "nope"}, claims, func([]byte) []byte { return []byte("x") })},
		{"other issuer", otherIssuer},
		{"garbage", "not.a.jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := signer.verifyHint(ctx, tt.hint); !errors.Is(err, errInvalidHint) {
				t.Errorf("got %v, want errInvalidHint", err)
			}
		})
	}
}
