package clients

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ory/fosite"
)

// clientIDBytes is the number of random bytes in a client_id (128 bits).
const clientIDBytes = 16

// secretBytes is the number of random bytes in a client secret (256 bits).
const secretBytes = 32

// MinHashKeyLength is the shortest key NewSecretHasher accepts, in bytes.
const MinHashKeyLength = 32

// hashAlgorithm is the first field of every stored secret hash.
const hashAlgorithm = "hmac-sha256"

// GenerateClientID returns a new random client_id: 128 bits from
// crypto/rand as 32 lower-case hex characters, which are URL-safe and
// easy to copy from a terminal.
func GenerateClientID() (string, error) {
	b := make([]byte, clientIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate client_id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// GenerateSecret returns a new client secret: 32 bytes from crypto/rand,
// base64url-encoded without padding (43 characters).
func GenerateSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate client secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashKey is one key for hashing client secrets and the version that
// names it in stored hashes.
type HashKey struct {
	// Version identifies the key in the stored hash. It must be non-empty
	// and must not contain '$'.
	Version string
	// Key is the HMAC key, at least MinHashKeyLength bytes.
	Key []byte
}

// SecretHasher hashes client secrets as
// hmac-sha256$<version>$<base64url HMAC-SHA256(key, secret)>.
//
// A keyed fast hash is enough here, unlike for passwords. idp generates
// every client secret with 256 random bits, so brute force cannot find
// one however fast each guess is. The key also makes a stolen copy of the
// database useless for checking guesses. A slow hash would only add
// latency to every token request.
//
// SecretHasher implements fosite.Hasher and is safe for concurrent use.
type SecretHasher struct {
	current string
	keys    map[string][]byte
}

var _ fosite.Hasher = (*SecretHasher)(nil)

// NewSecretHasher returns a hasher that hashes new secrets with keys[0]
// and verifies hashes made with any of the keys, so the system secret can
// be rotated without invalidating every client secret at once. It returns
// an error when keys is empty, a key is shorter than MinHashKeyLength, or
// a version is empty, contains '$' or appears twice.
func NewSecretHasher(keys ...HashKey) (*SecretHasher, error) {
	if len(keys) == 0 {
		return nil, errors.New("secret hasher: no key given; pass at least one HashKey")
	}
	h := &SecretHasher{current: keys[0].Version, keys: make(map[string][]byte, len(keys))}
	for i, k := range keys {
		if k.Version == "" || strings.Contains(k.Version, "$") {
			return nil, fmt.Errorf("secret hasher: key %d has version %q; use a non-empty version without '$'", i, k.Version)
		}
		if len(k.Key) < MinHashKeyLength {
			return nil, fmt.Errorf("secret hasher: key %q is %d bytes; use at least %d random bytes", k.Version, len(k.Key), MinHashKeyLength)
		}
		if _, dup := h.keys[k.Version]; dup {
			return nil, fmt.Errorf("secret hasher: version %q is given twice; give each key its own version", k.Version)
		}
		h.keys[k.Version] = append([]byte(nil), k.Key...)
	}
	return h, nil
}

// Hash returns the hash of a secret made with the current key.
func (h *SecretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	mac := computeMAC(h.keys[h.current], data)
	encoded := hashAlgorithm + "$" + h.current + "$" + base64.RawURLEncoding.EncodeToString(mac)
	return []byte(encoded), nil
}

// Compare returns nil when data is the secret that hash was made from. It
// returns an error for a mismatch, for an empty or malformed hash and for
// a hash made with a key version it does not have. The MAC comparison
// takes constant time.
func (h *SecretHasher) Compare(_ context.Context, hash, data []byte) error {
	parts := strings.Split(string(hash), "$")
	if len(parts) != 3 || parts[0] != hashAlgorithm {
		return errors.New("client secret hash is malformed")
	}
	key, ok := h.keys[parts[1]]
	if !ok {
		return fmt.Errorf("client secret hash uses unknown key version %q", parts[1])
	}
	want, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(want) != sha256.Size {
		return errors.New("client secret hash is malformed")
	}
	if !hmac.Equal(computeMAC(key, data), want) {
		return errors.New("client secret does not match")
	}
	return nil
}

func computeMAC(key, data []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(data)
	return mac.Sum(nil)
}
