package provider

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// MinSystemSecretLength is the shortest system secret accepted, in bytes.
const MinSystemSecretLength = 32

// SecretKeys are the keys derived from one system secret. Each purpose
// gets its own key so that no two subsystems ever share one.
type SecretKeys struct {
	// Version identifies the secret without revealing it; it is stored
	// beside everything sealed or hashed with a derived key, so a
	// rotated secret can still open older data.
	Version string
	// TokenHMAC signs access tokens, refresh tokens and codes.
	TokenHMAC []byte
	// KeyEncryption seals the private parts of signing keys (AES-256-GCM).
	KeyEncryption []byte
	// ClientSecret keys the hash of client secrets.
	ClientSecret []byte
	// CSRF keys the form tokens of idp's pages.
	CSRF []byte
}

// DeriveKeys derives the per-purpose keys from a system secret with
// HKDF-SHA256. It rejects a secret shorter than MinSystemSecretLength.
func DeriveKeys(secret []byte) (SecretKeys, error) {
	if len(secret) < MinSystemSecretLength {
		return SecretKeys{}, fmt.Errorf("system secret is %d bytes, want at least %d random bytes (for example the output of: openssl rand -base64 48)",
			len(secret), MinSystemSecretLength)
	}
	derive := func(purpose string) []byte {
		key, err := hkdf.Key(sha256.New, secret, nil, "idp "+purpose, 32)
		if err != nil {
			// hkdf.Key fails only for lengths above 255*32 bytes.
			panic(err)
		}
		return key
	}
	return SecretKeys{
		Version:       hex.EncodeToString(derive("secret version")[:8]),
		TokenHMAC:     derive("token hmac"),
		KeyEncryption: derive("signing key encryption"),
		ClientSecret:  derive("client secret hash"),
		CSRF:          derive("csrf"),
	}, nil
}
