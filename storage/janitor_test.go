package storage

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ory/fosite"
)

func TestDeleteExpiredKeepsReplayRows(t *testing.T) {
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		g := seedGrant(t, s, client, "req-1", "alice")
		if err := s.InvalidateAuthorizeCodeSession(ctx, g.code); err != nil {
			t.Fatal(err)
		}
		if err := s.RotateRefreshToken(ctx, g.requestID, g.refresh); err != nil {
			t.Fatal(err)
		}

		// Ten minutes on, the code and access token have expired but the
		// refresh token (24 hours) has not: the used code and the rotated
		// refresh token must stay to detect replay.
		counts, err := s.DeleteExpired(ctx, CleanupOptions{Now: time.Now().Add(10 * time.Minute), BatchSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		if counts["authorization_codes"] != 0 || counts["refresh_tokens"] != 0 {
			t.Errorf("replay rows deleted while the grant lives: %v", counts)
		}
		if _, err := s.GetRefreshTokenSession(ctx, g.refresh, nil); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Errorf("rotated refresh token: got %v, want it kept as inactive", err)
		}
		if _, err := s.GetAuthorizeCodeSession(ctx, g.code, nil); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
			t.Errorf("used code: got %v, want it kept as used", err)
		}

		// Once the whole grant has expired everything goes.
		counts, err = s.DeleteExpired(ctx, CleanupOptions{Now: time.Now().Add(48 * time.Hour), BatchSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"authorization_codes", "refresh_tokens", "pkce_requests", "oidc_sessions"} {
			if n := countRows(t, s, table, "request_id = ?", g.requestID); n != 0 {
				t.Errorf("%s: %d rows left after the grant expired", table, n)
			}
		}
		if counts.Total() == 0 {
			t.Error("nothing counted as deleted")
		}
	})
}

func TestDeleteExpiredSessionsFlowsEvents(t *testing.T) {
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		for i, token := range []string{"idle-cookie", "fresh-cookie"} {
			seen := now.Add(-2 * time.Hour)
			if i == 1 {
				seen = now
			}
			ls := &LoginSession{ID: token + "-id", PublicID: token + "-sid", CreatedAt: seen, LastSeenAt: seen, ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateLoginSession(ctx, ls, token); err != nil {
				t.Fatal(err)
			}
			f := &AuthFlow{SessionID: ls.ID, ClientID: "app", Form: "x=1", CreatedAt: seen, ExpiresAt: now.Add(time.Hour)}
			if err := s.CreateAuthFlow(ctx, f, token+"-flow"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecordEvent(ctx, &SecurityEvent{Kind: EventSignInFailed, Time: now.Add(-40 * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordEvent(ctx, &SecurityEvent{Kind: EventSignInFailed, Time: now}); err != nil {
			t.Fatal(err)
		}

		counts, err := s.DeleteExpired(ctx, CleanupOptions{Now: now, SessionIdleTimeout: time.Hour, EventRetention: 30 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if counts["login_sessions"] != 1 || counts["security_events"] != 1 {
			t.Errorf("counts: %v, want one idle session and one old event", counts)
		}
		if _, err := s.LoginSessionByToken(ctx, "fresh-cookie", now); err != nil {
			t.Errorf("active session deleted: %v", err)
		}
		if n := countRows(t, s, "auth_flows", "session_id = ?", "idle-cookie-id"); n != 0 {
			t.Errorf("flows of a deleted session left: %d", n)
		}
		if n := countRows(t, s, "auth_flows", "session_id = ?", "fresh-cookie-id"); n != 1 {
			t.Errorf("flows of the active session: %d, want 1", n)
		}
	})
}
