package clients

import (
	"context"
	"crypto/rand"
	"testing"
)

// BenchmarkSecretCompare measures the client secret check that every
// authenticated token, introspection and revocation request makes.
func BenchmarkSecretCompare(b *testing.B) {
	key := make([]byte, MinHashKeyLength)
	rand.Read(key)
	h, err := NewSecretHasher(HashKey{Version: "v1", Key: key})
	if err != nil {
		b.Fatal(err)
	}
	secret, err := GenerateSecret()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	hash, err := h.Hash(ctx, []byte(secret))
	if err != nil {
		b.Fatal(err)
	}

	for b.Loop() {
		if err := h.Compare(ctx, hash, []byte(secret)); err != nil {
			b.Fatal(err)
		}
	}
}
