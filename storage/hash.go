package storage

import (
	"crypto/sha256"
	"encoding/hex"
)

// hashKey returns the hex SHA-256 of a secret value used as a lookup
// key (session ids, flow ids, raw authorization codes), so the
// database never holds the value itself.
func hashKey(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// HashKey is hashKey for callers that keep their own references.
func HashKey(v string) string { return hashKey(v) }
