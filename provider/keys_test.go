package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/idp/idp/storage"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func newTestKeySet(t *testing.T, clock *fakeClock) *KeySet {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), "idp.db"), storage.Options{NewSession: NewFositeSession, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	keys, err := DeriveKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	return &KeySet{Store: st, Secrets: []SecretKeys{keys}, IDTokenLifetime: 5 * time.Minute, ClockSkew: time.Minute, Now: clock.Now}
}

func states(t *testing.T, ks *KeySet) map[string]KeyState {
	t.Helper()
	infos, err := ks.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]KeyState{}
	for _, k := range infos {
		out[k.KID] = k.State
	}
	return out
}

func publishedKIDs(t *testing.T, ks *KeySet) map[string]bool {
	t.Helper()
	set, err := ks.Published(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, k := range set.Keys {
		out[k.KeyID] = true
	}
	return out
}

func TestKeyRotationLifecycle(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	ks := newTestKeySet(t, clock)

	if err := ks.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	first, _, err := ks.Current(ctx, AlgRS256)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(states(t, ks)); got != len(SigningAlgorithms) {
		t.Fatalf("EnsureKey twice: got %d keys, want one per algorithm (%d)", got, len(SigningAlgorithms))
	}

	// Rotation: the next key is published at once but does not sign yet.
	next, err := ks.Generate(ctx, AlgRS256, clock.now.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := states(t, ks); got[first] != KeyCurrent || got[next.KID] != KeyNext {
		t.Errorf("after rotate: got %v, want %s current and %s next", got, first, next.KID)
	}
	if kid, _, _ := ks.Current(ctx, AlgRS256); kid != first {
		t.Errorf("signing key before the delay: got %s, want %s", kid, first)
	}
	if pub := publishedKIDs(t, ks); !pub[first] || !pub[next.KID] {
		t.Errorf("published before the delay: %v, want both keys", pub)
	}

	// After the delay the next key signs and the old one is retiring.
	clock.now = clock.now.Add(16 * time.Minute)
	if kid, _, _ := ks.Current(ctx, AlgRS256); kid != next.KID {
		t.Errorf("signing key after the delay: got %s, want %s", kid, next.KID)
	}
	if got := states(t, ks); got[first] != KeyRetiring {
		t.Errorf("old key after the delay: got %s, want retiring", got[first])
	}
	if pub := publishedKIDs(t, ks); !pub[first] {
		t.Errorf("old key unpublished while its ID tokens may be valid: %v", pub)
	}

	// Once its last ID token has expired (lifetime plus skew after the
	// successor started), the old key leaves the JWKS.
	clock.now = next.NotBefore.Add(6*time.Minute + time.Second)
	if got := states(t, ks); got[first] != KeyRetired {
		t.Errorf("old key after expiry: got %s, want retired", got[first])
	}
	if pub := publishedKIDs(t, ks); pub[first] || !pub[next.KID] {
		t.Errorf("published after expiry: %v, want only %s", pub, next.KID)
	}
}

func TestKeyWithdraw(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	ks := newTestKeySet(t, clock)
	if err := ks.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	kid, _, err := ks.Current(ctx, AlgRS256)
	if err != nil {
		t.Fatal(err)
	}
	clock.now = clock.now.Add(time.Second)
	successor, err := ks.Generate(ctx, AlgRS256, clock.now)
	if err != nil {
		t.Fatal(err)
	}

	if err := ks.Withdraw(ctx, kid); err != nil {
		t.Fatal(err)
	}
	if pub := publishedKIDs(t, ks); pub[kid] {
		t.Errorf("withdrawn key still published")
	}
	signing, _, err := ks.Current(ctx, AlgRS256)
	if err != nil {
		t.Fatalf("no key signs after the withdrawal: %v", err)
	}
	if signing != successor.KID {
		t.Errorf("signing key after the withdrawal: got %s, want %s", signing, successor.KID)
	}
	if got := states(t, ks); got[kid] != KeyWithdrawn {
		t.Errorf("state: got %s, want withdrawn", got[kid])
	}
}

func TestKeyWithdrawKeepsLastKey(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	ks := newTestKeySet(t, clock)
	if err := ks.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	kid, _, err := ks.Current(ctx, AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	next, err := ks.Generate(ctx, AlgES256, clock.now.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		advance  time.Duration
		kid      string
		wantLast bool
	}{
		{name: "only signing key", kid: kid, wantLast: true},
		{name: "after successor starts", advance: 16 * time.Minute, kid: kid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.now = clock.now.Add(tt.advance)
			err := ks.Withdraw(ctx, tt.kid)
			var last *LastKeyError
			if got := errors.As(err, &last); got != tt.wantLast {
				t.Fatalf("Withdraw error: got %v, want a *LastKeyError: %t", err, tt.wantLast)
			}
			if !tt.wantLast {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if last.KID != kid || last.Algorithm != AlgES256 {
				t.Errorf("LastKeyError names %s (%s), want %s (%s)", last.KID, last.Algorithm, kid, AlgES256)
			}
			if last.NextKID != next.KID {
				t.Errorf("LastKeyError.NextKID: got %q, want %q", last.NextKID, next.KID)
			}
			if got := states(t, ks)[kid]; got != KeyCurrent {
				t.Errorf("state after the rejected withdrawal: got %s, want current", got)
			}
			if _, _, err := ks.Current(ctx, AlgES256); err != nil {
				t.Errorf("no key signs after the rejected withdrawal: %v", err)
			}
		})
	}
}

func TestKeyOpensOnlyWithItsSecret(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{now: time.Now()}
	ks := newTestKeySet(t, clock)
	if err := ks.EnsureKey(ctx); err != nil {
		t.Fatal(err)
	}
	other := make([]byte, 32)
	rand.Read(other)
	wrong, _ := DeriveKeys(other)
	stranger := &KeySet{Store: ks.Store, Secrets: []SecretKeys{wrong}, Now: clock.Now}
	if _, _, err := stranger.Current(ctx, AlgRS256); err == nil {
		t.Fatal("a key sealed with one system secret opened with another")
	}
	rotated := &KeySet{Store: ks.Store, Secrets: []SecretKeys{wrong, ks.Secrets[0]}, Now: clock.Now}
	if _, _, err := rotated.Current(ctx, AlgRS256); err != nil {
		t.Fatalf("key did not open with the previous secret configured: %v", err)
	}
}
