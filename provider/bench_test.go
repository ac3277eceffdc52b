package provider

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/idp/idp/storage"
)

// newBenchSigner returns an ID token signer over a KeySet on a SQLite
// file, with its first key created, and a client to sign for.
func newBenchSigner(b *testing.B, alg string) (*idTokenSigner, *storage.Client) {
	b.Helper()
	st, err := storage.Open(filepath.Join(b.TempDir(), "idp.db"), storage.Options{NewSession: NewFositeSession})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}

	secret := make([]byte, 32)
	rand.Read(secret)
	keys, err := DeriveKeys(secret)
	if err != nil {
		b.Fatal(err)
	}
	ks := &KeySet{Store: st, Secrets: []SecretKeys{keys}, IDTokenLifetime: 5 * time.Minute, ClockSkew: time.Minute, Now: time.Now}
	if err := ks.EnsureKey(context.Background()); err != nil {
		b.Fatal(err)
	}
	if alg != AlgRS256 {
		if _, err := ks.Generate(context.Background(), alg, time.Now().Add(-time.Hour)); err != nil {
			b.Fatal(err)
		}
	}

	signer := &idTokenSigner{
		issuer: "https://127.0.0.1",
		keys:   ks,
		claims: func(context.Context, string, []string) (map[string]any, error) {
			return map[string]any{"name": "Alice Example", "email": "alice@example.com", "email_verified": true}, nil
		},
		now: time.Now,
	}
	return signer, &storage.Client{ID: "client-1", IDTokenSignedResponseAlg: alg}
}

// BenchmarkIDTokenSigning measures GenerateIDToken: loading the current
// key from the database and signing the claims.
func BenchmarkIDTokenSigning(b *testing.B) {
	for _, alg := range []string{AlgRS256, AlgES256} {
		b.Run(alg, func(b *testing.B) {
			signer, client := newBenchSigner(b, alg)
			sess := NewSession()
			sess.Subject = "subject-1"
			sess.UserID = "user-1"
			sess.SID = "sid-1"
			sess.AuthTime = time.Now()
			req := fosite.NewRequest()
			req.Client = client
			req.Session = sess
			req.GrantedScope = fosite.Arguments{"openid", "profile", "email"}
			req.Form.Set("nonce", "n-0123456789")
			ctx := context.Background()

			for b.Loop() {
				if _, err := signer.GenerateIDToken(ctx, 5*time.Minute, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
