package accounts

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/idp/idp/storage"
)

// BenchmarkAuthenticate measures one sign-in with DefaultParams: the
// user lookup in SQLite and one argon2id verification.
func BenchmarkAuthenticate(b *testing.B) {
	st, err := storage.Open(filepath.Join(b.TempDir(), "idp.db"), storage.Options{
		NewSession: func() fosite.Session { return openid.NewDefaultSession() },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	d := &Directory{Store: st, Hasher: NewHasher(DefaultParams, 4)}
	const password = "correct horse battery staple"
	if _, err := d.Create(ctx, NewUser{Username: "alice", Password: password}); err != nil {
		b.Fatal(err)
	}

	for b.Loop() {
		if _, err := d.Authenticate(ctx, "alice", password); err != nil {
			b.Fatal(err)
		}
	}
}
