package accounts

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/idp/idp/storage"
)

func newThrottle(t *testing.T, now *time.Time) *Throttle {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), "idp.db"), storage.Options{
		NewSession: func() fosite.Session { return openid.NewDefaultSession() },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &Throttle{Store: st, Free: 3, Base: time.Second, Max: 8 * time.Second, Reset: time.Hour, Now: func() time.Time { return *now }}
}

func TestThrottleBackoff(t *testing.T) {
	th := &Throttle{Free: 3, Base: time.Second, Max: 8 * time.Second}
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 0}, {3, 0}, {4, time.Second}, {5, 2 * time.Second}, {6, 4 * time.Second}, {7, 8 * time.Second}, {20, 8 * time.Second},
	}
	for _, tt := range tests {
		if got := th.Backoff(tt.failures); got != tt.want {
			t.Errorf("Backoff(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}

func TestThrottleKeysAreSeparate(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newThrottle(t, &now)
	attacker := SignInKey("alice", netip.MustParseAddr("203.0.113.9"))
	owner := SignInKey("Alice", netip.MustParseAddr("198.51.100.4"))

	for range 5 {
		if _, err := th.Fail(ctx, attacker); err != nil {
			t.Fatal(err)
		}
	}
	if wait, _, _ := th.Wait(ctx, attacker); wait != 2*time.Second {
		t.Errorf("attacker wait: got %s, want 2s", wait)
	}
	if wait, failing, _ := th.Wait(ctx, owner); wait != 0 || failing {
		t.Errorf("owner from another address: wait %s failing %v, want free", wait, failing)
	}

	now = now.Add(3 * time.Second)
	if wait, failing, _ := th.Wait(ctx, attacker); wait != 0 || !failing {
		t.Errorf("after the delay: wait %s failing %v", wait, failing)
	}
	if err := th.Succeed(ctx, attacker); err != nil {
		t.Fatal(err)
	}
	if _, failing, _ := th.Wait(ctx, attacker); failing {
		t.Error("failures remembered after a success")
	}
}

func TestThrottleResets(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newThrottle(t, &now)
	key := ClientAuthKey("client", netip.MustParseAddr("203.0.113.9"))
	for range 4 {
		th.Fail(ctx, key)
	}
	now = now.Add(2 * time.Hour)
	if d, _ := th.Fail(ctx, key); d != 0 {
		t.Errorf("first failure after the reset period: delay %s, want 0", d)
	}
}
