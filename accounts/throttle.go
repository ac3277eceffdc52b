package accounts

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/idp/idp/storage"
)

// ThrottleStore keeps failure counters in the database, so every
// instance applies the same backoff.
type ThrottleStore interface {
	ThrottleState(ctx context.Context, key string) (storage.Throttle, error)
	RecordFailure(ctx context.Context, key string, now time.Time, reset time.Duration, backoff func(int) time.Duration) (storage.Throttle, error)
	ClearThrottle(ctx context.Context, key string) error
}

// Throttle slows down repeated failures for one key with exponential
// backoff. Keys combine the target (an account or a client) with the
// client IP address, so failures from one address never lock out the
// same account used from another.
type Throttle struct {
	Store ThrottleStore
	// Free is the number of failures allowed before backoff starts
	// (default 5).
	Free int
	// Base is the delay after the first failure beyond Free (default
	// 1s); each further failure doubles it.
	Base time.Duration
	// Max caps the delay (default 15m).
	Max time.Duration
	// Reset clears failures this long after the last one (default 1h).
	Reset time.Duration
	Now   func() time.Time
}

func (t *Throttle) defaults() (free int, base, maxDelay, reset time.Duration, now time.Time) {
	free, base, maxDelay, reset = t.Free, t.Base, t.Max, t.Reset
	if free <= 0 {
		free = 5
	}
	if base <= 0 {
		base = time.Second
	}
	if maxDelay <= 0 {
		maxDelay = 15 * time.Minute
	}
	if reset <= 0 {
		reset = time.Hour
	}
	now = time.Now()
	if t.Now != nil {
		now = t.Now()
	}
	return free, base, maxDelay, reset, now
}

// Backoff returns the delay after the given number of failures.
func (t *Throttle) Backoff(failures int) time.Duration {
	free, base, maxDelay, _, _ := t.defaults()
	if failures <= free {
		return 0
	}
	d := base
	for i := free + 1; i < failures; i++ {
		d *= 2
		if d >= maxDelay {
			return maxDelay
		}
	}
	return min(d, maxDelay)
}

// Wait returns how long key must wait before its next attempt, zero
// when it may try now, and whether the key has recorded failures.
func (t *Throttle) Wait(ctx context.Context, key string) (wait time.Duration, failing bool, err error) {
	_, _, _, reset, now := t.defaults()
	st, err := t.Store.ThrottleState(ctx, key)
	if err != nil {
		return 0, false, err
	}
	if st.Failures == 0 || now.Sub(st.LastFailure) > reset {
		return 0, false, nil
	}
	if st.BlockedUntil.After(now) {
		wait = st.BlockedUntil.Sub(now)
	}
	return wait, true, nil
}

// Fail records a failure and returns the delay before the next attempt.
func (t *Throttle) Fail(ctx context.Context, key string) (time.Duration, error) {
	_, _, _, reset, now := t.defaults()
	st, err := t.Store.RecordFailure(ctx, key, now, reset, t.Backoff)
	if err != nil {
		return 0, err
	}
	return st.BlockedUntil.Sub(now), nil
}

// Succeed clears the failures of key.
func (t *Throttle) Succeed(ctx context.Context, key string) error {
	return t.Store.ClearThrottle(ctx, key)
}

// SignInKey is the throttle key of a sign-in: the username, compared
// case-insensitively, with the client address.
func SignInKey(username string, addr netip.Addr) string {
	return "sign-in\x00" + strings.ToLower(username) + "\x00" + addr.String()
}

// ClientAuthKey is the throttle key of client authentication at the
// token, revocation and introspection endpoints.
func ClientAuthKey(clientID string, addr netip.Addr) string {
	return "client-auth\x00" + clientID + "\x00" + addr.String()
}
