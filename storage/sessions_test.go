package storage

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestLoginSessionLifecycle(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		ls := &LoginSession{ID: "ls-1", PublicID: "sid-anonymous", ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateLoginSession(ctx, ls, "cookie-before"); err != nil {
			t.Fatalf("CreateLoginSession: %v", err)
		}
		if ls.TokenHash != HashKey("cookie-before") {
			t.Errorf("TokenHash = %q, want the hash of the cookie value", ls.TokenHash)
		}

		got, err := s.LoginSessionByToken(ctx, "cookie-before", now)
		if err != nil {
			t.Fatalf("LoginSessionByToken: %v", err)
		}
		if diff := cmp.Diff(ls, got, timeApprox); diff != "" {
			t.Errorf("LoginSessionByToken (-want +got):\n%s", diff)
		}
		if _, err := s.LoginSessionByToken(ctx, "cookie-wrong", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("LoginSessionByToken with a wrong value: got %v, want ErrNotFound", err)
		}

		seen := now.Add(10 * time.Minute)
		if err := s.TouchLoginSession(ctx, ls.ID, seen); err != nil {
			t.Fatalf("TouchLoginSession: %v", err)
		}
		got, err = s.LoginSessionByToken(ctx, "cookie-before", now)
		if err != nil {
			t.Fatalf("LoginSessionByToken after touch: %v", err)
		}
		if diff := cmp.Diff(seen, got.LastSeenAt, timeApprox); diff != "" {
			t.Errorf("LastSeenAt after touch (-want +got):\n%s", diff)
		}

		authTime := now.Add(20 * time.Minute)
		expires := now.Add(8 * time.Hour)
		err = s.SignInLoginSession(ctx, ls.ID, "user-1", "cookie-after", "sid-signed-in", authTime, expires)
		if err != nil {
			t.Fatalf("SignInLoginSession: %v", err)
		}
		if _, err := s.LoginSessionByToken(ctx, "cookie-before", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("LoginSessionByToken with the cookie from before sign-in: got %v, want ErrNotFound", err)
		}
		got, err = s.LoginSessionByToken(ctx, "cookie-after", now)
		if err != nil {
			t.Fatalf("LoginSessionByToken with the new cookie: %v", err)
		}
		want := &LoginSession{
			ID:         ls.ID,
			TokenHash:  HashKey("cookie-after"),
			PublicID:   "sid-signed-in",
			UserID:     "user-1",
			AuthTime:   authTime,
			CreatedAt:  ls.CreatedAt,
			LastSeenAt: authTime,
			ExpiresAt:  expires,
		}
		if diff := cmp.Diff(want, got, timeApprox); diff != "" {
			t.Errorf("session after sign-in (-want +got):\n%s", diff)
		}

		err = s.SignInLoginSession(ctx, "ls-missing", "user-1", "cookie-x", "sid-x", authTime, expires)
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("SignInLoginSession of a missing session: got %v, want ErrNotFound", err)
		}
	})
}

func TestLoginSessionExpiry(t *testing.T) {
	t.Parallel()
	west := time.FixedZone("UTC-7", -7*3600)
	east := time.FixedZone("UTC+9", 9*3600)
	base := time.Now().UTC().Truncate(time.Second)
	tests := []struct {
		name    string
		expires time.Time
		now     time.Time
		valid   bool
	}{
		{"valid", base.Add(time.Hour), base, true},
		{"expired", base.Add(-time.Second), base, false},
		{"expires now", base, base, false},
		{"valid, stored west of UTC", base.Add(time.Hour).In(west), base, true},
		{"expired, stored east of UTC", base.Add(-time.Hour).In(east), base, false},
		{"valid, clock east of UTC", base.Add(time.Hour), base.In(east), true},
		{"expired, clock west of UTC", base.Add(-time.Hour), base.In(west), false},
	}
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				id := "ls-" + string(rune('a'+i))
				ls := &LoginSession{ID: id, PublicID: "sid-" + id, ExpiresAt: tc.expires}
				if err := s.CreateLoginSession(ctx, ls, "cookie-"+id); err != nil {
					t.Fatalf("CreateLoginSession: %v", err)
				}
				_, err := s.LoginSessionByToken(ctx, "cookie-"+id, tc.now)
				switch {
				case tc.valid && err != nil:
					t.Errorf("LoginSessionByToken: %v, want the session", err)
				case !tc.valid && !errors.Is(err, ErrNotFound):
					t.Errorf("LoginSessionByToken: got %v, want ErrNotFound", err)
				}
			})
		}
	})
}

func TestDeleteLoginSessionDeletesFlows(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		for _, id := range []string{"ls-gone", "ls-kept"} {
			ls := &LoginSession{ID: id, PublicID: "sid-" + id, ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateLoginSession(ctx, ls, "cookie-"+id); err != nil {
				t.Fatalf("CreateLoginSession: %v", err)
			}
			flow := &AuthFlow{SessionID: id, ClientID: "app", ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateAuthFlow(ctx, flow, "flow-"+id); err != nil {
				t.Fatalf("CreateAuthFlow: %v", err)
			}
		}

		if err := s.DeleteLoginSession(ctx, "ls-gone"); err != nil {
			t.Fatalf("DeleteLoginSession: %v", err)
		}

		if _, err := s.LoginSessionByToken(ctx, "cookie-ls-gone", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("LoginSessionByToken after delete: got %v, want ErrNotFound", err)
		}
		if _, err := s.AuthFlow(ctx, "flow-ls-gone", "ls-gone", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("AuthFlow of the deleted session: got %v, want ErrNotFound", err)
		}
		if _, err := s.LoginSessionByToken(ctx, "cookie-ls-kept", now); err != nil {
			t.Errorf("LoginSessionByToken of another session: %v", err)
		}
		if _, err := s.AuthFlow(ctx, "flow-ls-kept", "ls-kept", now); err != nil {
			t.Errorf("AuthFlow of another session: %v", err)
		}
	})
}

func TestAuthFlowLookup(t *testing.T) {
	t.Parallel()
	west := time.FixedZone("UTC-7", -7*3600)
	base := time.Now().UTC()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		flows := []struct {
			id      string
			expires time.Time
		}{
			{"flow-live", base.Add(10 * time.Minute)},
			{"flow-live-west", base.Add(10 * time.Minute).In(west)},
			{"flow-expired", base.Add(-time.Second)},
		}
		for _, f := range flows {
			flow := &AuthFlow{
				SessionID: "ls-1",
				ClientID:  "app",
				Form:      "client_id=app&scope=openid",
				ExpiresAt: f.expires,
			}
			if err := s.CreateAuthFlow(ctx, flow, f.id); err != nil {
				t.Fatalf("CreateAuthFlow(%q): %v", f.id, err)
			}
		}

		tests := []struct {
			name      string
			id        string
			sessionID string
			found     bool
		}{
			{"own session", "flow-live", "ls-1", true},
			{"own session, expiry west of UTC", "flow-live-west", "ls-1", true},
			{"another session", "flow-live", "ls-2", false},
			{"empty session id", "flow-live", "", false},
			{"unknown id", "flow-unknown", "ls-1", false},
			{"id hash instead of id", HashKey("flow-live"), "ls-1", false},
			{"expired", "flow-expired", "ls-1", false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.AuthFlow(ctx, tc.id, tc.sessionID, base)
				if !tc.found {
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("AuthFlow: got %v, want ErrNotFound", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("AuthFlow: %v", err)
				}
				want := &AuthFlow{
					IDHash:          HashKey(tc.id),
					SessionID:       "ls-1",
					ClientID:        "app",
					Form:            "client_id=app&scope=openid",
					ConsentedScopes: StringList{},
				}
				ignore := cmpopts.IgnoreFields(AuthFlow{}, "CreatedAt", "ExpiresAt")
				if diff := cmp.Diff(want, got, ignore, timeApprox); diff != "" {
					t.Errorf("AuthFlow (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestUpdateAuthFlow(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		flow := &AuthFlow{SessionID: "ls-1", ClientID: "app", Form: "scope=openid", ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateAuthFlow(ctx, flow, "flow-1"); err != nil {
			t.Fatalf("CreateAuthFlow: %v", err)
		}

		tests := []struct {
			name   string
			update func(f *AuthFlow)
		}{
			{"logged in", func(f *AuthFlow) { f.LoggedInAt = now }},
			{"consent given", func(f *AuthFlow) {
				f.ConsentGiven = true
				f.ConsentedScopes = StringList{"openid", "profile"}
			}},
			{"consent denied", func(f *AuthFlow) {
				f.ConsentDenied = true
				f.ConsentedScopes = nil
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f, err := s.AuthFlow(ctx, "flow-1", "ls-1", now)
				if err != nil {
					t.Fatalf("AuthFlow: %v", err)
				}
				tc.update(f)
				if err := s.UpdateAuthFlow(ctx, f); err != nil {
					t.Fatalf("UpdateAuthFlow: %v", err)
				}
				got, err := s.AuthFlow(ctx, "flow-1", "ls-1", now)
				if err != nil {
					t.Fatalf("AuthFlow after update: %v", err)
				}
				if diff := cmp.Diff(f, got, timeApprox, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("AuthFlow after update (-want +got):\n%s", diff)
				}
			})
		}

		missing := *flow
		missing.IDHash = "no-such-flow"
		if err := s.UpdateAuthFlow(ctx, &missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateAuthFlow of a missing flow: got %v, want ErrNotFound", err)
		}
	})
}

func TestDeleteAuthFlowSingleUse(t *testing.T) {
	t.Parallel()
	const workers = 16
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		flow := &AuthFlow{SessionID: "ls-1", ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateAuthFlow(ctx, flow, "flow-1"); err != nil {
			t.Fatalf("CreateAuthFlow: %v", err)
		}

		errs := runConcurrently(workers, func() error { return s.DeleteAuthFlow(ctx, flow.IDHash) })
		assertOneWinner(t, "DeleteAuthFlow", errs)

		if _, err := s.AuthFlow(ctx, "flow-1", "ls-1", time.Now()); !errors.Is(err, ErrNotFound) {
			t.Errorf("AuthFlow after delete: got %v, want ErrNotFound", err)
		}
		if err := s.DeleteAuthFlow(ctx, flow.IDHash); !errors.Is(err, ErrAlreadyUsed) {
			t.Errorf("DeleteAuthFlow after delete: got %v, want ErrAlreadyUsed", err)
		}
	})
}

// runConcurrently calls fn from n goroutines released at the same time
// and returns their errors.
func runConcurrently(n int, fn func() error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// assertOneWinner checks that exactly one error is nil and every other
// one is ErrAlreadyUsed.
func assertOneWinner(t *testing.T, op string, errs []error) {
	t.Helper()
	winners := 0
	for _, err := range errs {
		switch {
		case err == nil:
			winners++
		case !errors.Is(err, ErrAlreadyUsed):
			t.Errorf("%s: got %v, want nil or ErrAlreadyUsed", op, err)
		}
	}
	if winners != 1 {
		t.Errorf("%s: %d of %d callers succeeded, want exactly 1", op, winners, len(errs))
	}
}
