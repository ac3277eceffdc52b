package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// assertGrantRevoked checks that a grant's access token is gone, its
// refresh token is inactive and its authorization code is used.
func assertGrantRevoked(t *testing.T, s *Store, g grant) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.GetAccessTokenSession(ctx, g.access, nil); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("access token of %s: got %v, want fosite.ErrNotFound", g.requestID, err)
	}
	if _, err := s.GetRefreshTokenSession(ctx, g.refresh, nil); !errors.Is(err, fosite.ErrInactiveToken) {
		t.Errorf("refresh token of %s: got %v, want fosite.ErrInactiveToken", g.requestID, err)
	}
	if _, err := s.GetAuthorizeCodeSession(ctx, g.code, nil); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
		t.Errorf("authorization code of %s: got %v, want fosite.ErrInvalidatedAuthorizeCode", g.requestID, err)
	}
}

// assertGrantActive checks that every token of a grant still works.
func assertGrantActive(t *testing.T, s *Store, g grant) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.GetAccessTokenSession(ctx, g.access, nil); err != nil {
		t.Errorf("access token of %s: %v", g.requestID, err)
	}
	if _, err := s.GetRefreshTokenSession(ctx, g.refresh, nil); err != nil {
		t.Errorf("refresh token of %s: %v", g.requestID, err)
	}
	if _, err := s.GetAuthorizeCodeSession(ctx, g.code, nil); err != nil {
		t.Errorf("authorization code of %s: %v", g.requestID, err)
	}
}

func TestAuthorizeCodeLifecycle(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		r := newTestRequest(client, "req-1", "sub-1")
		if err := s.CreateAuthorizeCodeSession(ctx, "code-sig", r); err != nil {
			t.Fatalf("CreateAuthorizeCodeSession: %v", err)
		}

		got, err := s.GetAuthorizeCodeSession(ctx, "code-sig", openid.NewDefaultSession())
		if err != nil {
			t.Fatalf("GetAuthorizeCodeSession: %v", err)
		}
		if diff := diffRequest(r, got); diff != "" {
			t.Errorf("GetAuthorizeCodeSession (-want +got):\n%s", diff)
		}

		if err := s.InvalidateAuthorizeCodeSession(ctx, "code-sig"); err != nil {
			t.Fatalf("InvalidateAuthorizeCodeSession: %v", err)
		}
		if err := s.InvalidateAuthorizeCodeSession(ctx, "code-sig"); !errors.Is(err, ErrAlreadyUsed) {
			t.Errorf("second InvalidateAuthorizeCodeSession: got %v, want ErrAlreadyUsed", err)
		}

		got, err = s.GetAuthorizeCodeSession(ctx, "code-sig", openid.NewDefaultSession())
		if !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
			t.Errorf("GetAuthorizeCodeSession of a used code: got %v, want fosite.ErrInvalidatedAuthorizeCode", err)
		}
		if got == nil {
			t.Fatal("GetAuthorizeCodeSession of a used code returned no request, so its grant cannot be revoked")
		}
		if got.GetID() != "req-1" {
			t.Errorf("used code's request id = %q, want %q", got.GetID(), "req-1")
		}

		if _, err := s.GetAuthorizeCodeSession(ctx, "code-unknown", nil); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("GetAuthorizeCodeSession of an unknown code: got %v, want fosite.ErrNotFound", err)
		}
		if err := s.InvalidateAuthorizeCodeSession(ctx, "code-unknown"); err == nil {
			t.Error("InvalidateAuthorizeCodeSession of an unknown code = nil, want an error")
		}
	})
}

func TestInvalidateAuthorizeCodeConcurrent(t *testing.T) {
	t.Parallel()
	const workers = 16
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		tests := []struct {
			name string
			// inTx runs each redemption in its own transaction, as
			// fosite's token endpoint does.
			inTx bool
		}{
			{"autocommit", false},
			{"in transaction", true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				sig := "code-sig-" + strings.ReplaceAll(tc.name, " ", "-")
				r := newTestRequest(client, "req-"+sig, "sub-1")
				if err := s.CreateAuthorizeCodeSession(ctx, sig, r); err != nil {
					t.Fatalf("CreateAuthorizeCodeSession: %v", err)
				}
				errs := runConcurrently(workers, func() error {
					if !tc.inTx {
						return s.InvalidateAuthorizeCodeSession(ctx, sig)
					}
					return s.InTx(ctx, func(ctx context.Context) error {
						return s.InvalidateAuthorizeCodeSession(ctx, sig)
					})
				})
				assertOneWinner(t, "InvalidateAuthorizeCodeSession", errs)
			})
		}
	})
}

func TestAccessTokenLifecycle(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		r := newTestRequest(client, "req-1", "sub-1")
		other := newTestRequest(client, "req-2", "sub-1")
		for sig, req := range map[string]*fosite.Request{"at-1": r, "at-2": r, "at-3": r, "at-other": other} {
			if err := s.CreateAccessTokenSession(ctx, sig, req); err != nil {
				t.Fatalf("CreateAccessTokenSession(%q): %v", sig, err)
			}
		}

		got, err := s.GetAccessTokenSession(ctx, "at-1", openid.NewDefaultSession())
		if err != nil {
			t.Fatalf("GetAccessTokenSession: %v", err)
		}
		if diff := diffRequest(r, got); diff != "" {
			t.Errorf("GetAccessTokenSession (-want +got):\n%s", diff)
		}

		if err := s.DeleteAccessTokenSession(ctx, "at-1"); err != nil {
			t.Fatalf("DeleteAccessTokenSession: %v", err)
		}
		if _, err := s.GetAccessTokenSession(ctx, "at-1", nil); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("GetAccessTokenSession after delete: got %v, want fosite.ErrNotFound", err)
		}
		if _, err := s.GetAccessTokenSession(ctx, "at-2", nil); err != nil {
			t.Errorf("GetAccessTokenSession of a token not deleted: %v", err)
		}

		if err := s.RevokeAccessToken(ctx, "req-1"); err != nil {
			t.Fatalf("RevokeAccessToken: %v", err)
		}
		for _, sig := range []string{"at-2", "at-3"} {
			if _, err := s.GetAccessTokenSession(ctx, sig, nil); !errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("GetAccessTokenSession(%q) after RevokeAccessToken: got %v, want fosite.ErrNotFound", sig, err)
			}
		}
		if _, err := s.GetAccessTokenSession(ctx, "at-other", nil); err != nil {
			t.Errorf("GetAccessTokenSession of another grant: %v", err)
		}
	})
}

func TestRefreshTokenLifecycle(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		g := seedGrant(t, s, client, "req-1", "sub-1")
		other := seedGrant(t, s, client, "req-2", "sub-1")

		got, err := s.GetRefreshTokenSession(ctx, g.refresh, openid.NewDefaultSession())
		if err != nil {
			t.Fatalf("GetRefreshTokenSession: %v", err)
		}
		if diff := diffRequest(g.request, got); diff != "" {
			t.Errorf("GetRefreshTokenSession (-want +got):\n%s", diff)
		}
		var row RefreshToken
		if err := s.db.Where("signature = ?", g.refresh).Take(&row).Error; err != nil {
			t.Fatalf("read refresh token row: %v", err)
		}
		if row.AccessSignature != g.access {
			t.Errorf("AccessSignature = %q, want %q", row.AccessSignature, g.access)
		}

		if err := s.RotateRefreshToken(ctx, "req-other", g.refresh); !errors.Is(err, ErrAlreadyUsed) {
			t.Errorf("RotateRefreshToken with another request id: got %v, want ErrAlreadyUsed", err)
		}
		if err := s.RotateRefreshToken(ctx, g.requestID, g.refresh); err != nil {
			t.Fatalf("RotateRefreshToken: %v", err)
		}
		if err := s.RotateRefreshToken(ctx, g.requestID, g.refresh); !errors.Is(err, ErrAlreadyUsed) {
			t.Errorf("second RotateRefreshToken: got %v, want ErrAlreadyUsed", err)
		}

		got, err = s.GetRefreshTokenSession(ctx, g.refresh, nil)
		if !errors.Is(err, fosite.ErrInactiveToken) {
			t.Errorf("GetRefreshTokenSession after rotation: got %v, want fosite.ErrInactiveToken", err)
		}
		if got == nil || got.GetID() != g.requestID {
			t.Errorf("GetRefreshTokenSession after rotation returned %v, want the request of %s", got, g.requestID)
		}
		if _, err := s.GetAccessTokenSession(ctx, g.access, nil); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("access token after rotation: got %v, want fosite.ErrNotFound", err)
		}
		assertGrantActive(t, s, other)

		if _, err := s.GetRefreshTokenSession(ctx, "refresh-unknown", nil); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("GetRefreshTokenSession of an unknown token: got %v, want fosite.ErrNotFound", err)
		}
	})
}

func TestRotateRefreshTokenConcurrent(t *testing.T) {
	t.Parallel()
	const workers = 16
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		tests := []struct {
			name string
			// inTx rotates and issues the new tokens in one transaction,
			// as fosite's refresh handler does.
			inTx bool
		}{
			{"autocommit", false},
			{"in transaction", true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				requestID := "req-" + strings.ReplaceAll(tc.name, " ", "-")
				g := seedGrant(t, s, client, requestID, "sub-1")
				next := newTestRequest(client, requestID, "sub-1")
				errs := runConcurrently(workers, func() error {
					if !tc.inTx {
						return s.RotateRefreshToken(ctx, requestID, g.refresh)
					}
					return s.InTx(ctx, func(ctx context.Context) error {
						if err := s.RotateRefreshToken(ctx, requestID, g.refresh); err != nil {
							return err
						}
						if err := s.CreateAccessTokenSession(ctx, "next-"+g.access, next); err != nil {
							return err
						}
						return s.CreateRefreshTokenSession(ctx, "next-"+g.refresh, "next-"+g.access, next)
					})
				})
				assertOneWinner(t, "RotateRefreshToken", errs)

				if _, err := s.GetRefreshTokenSession(ctx, g.refresh, nil); !errors.Is(err, fosite.ErrInactiveToken) {
					t.Errorf("rotated refresh token: got %v, want fosite.ErrInactiveToken", err)
				}
				if _, err := s.GetAccessTokenSession(ctx, g.access, nil); !errors.Is(err, fosite.ErrNotFound) {
					t.Errorf("access token of the rotated refresh token: got %v, want fosite.ErrNotFound", err)
				}
				if tc.inTx {
					if _, err := s.GetRefreshTokenSession(ctx, "next-"+g.refresh, nil); err != nil {
						t.Errorf("winner's new refresh token: %v", err)
					}
				}
			})
		}
	})
}

func TestRevokeRefreshToken(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		r := newTestRequest(client, "req-1", "sub-1")
		other := newTestRequest(client, "req-2", "sub-1")
		for sig, req := range map[string]*fosite.Request{"rt-1": r, "rt-2": r, "rt-3": r, "rt-other": other} {
			if err := s.CreateRefreshTokenSession(ctx, sig, "at-"+sig, req); err != nil {
				t.Fatalf("CreateRefreshTokenSession(%q): %v", sig, err)
			}
		}

		if err := s.DeleteRefreshTokenSession(ctx, "rt-1"); err != nil {
			t.Fatalf("DeleteRefreshTokenSession: %v", err)
		}
		if _, err := s.GetRefreshTokenSession(ctx, "rt-1", nil); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Errorf("GetRefreshTokenSession after delete: got %v, want fosite.ErrInactiveToken so reuse is detected", err)
		}
		if _, err := s.GetRefreshTokenSession(ctx, "rt-2", nil); err != nil {
			t.Errorf("GetRefreshTokenSession of a token not deleted: %v", err)
		}

		if err := s.RevokeRefreshToken(ctx, "req-1"); err != nil {
			t.Fatalf("RevokeRefreshToken: %v", err)
		}
		for _, sig := range []string{"rt-2", "rt-3"} {
			if _, err := s.GetRefreshTokenSession(ctx, sig, nil); !errors.Is(err, fosite.ErrInactiveToken) {
				t.Errorf("GetRefreshTokenSession(%q) after revoke: got %v, want fosite.ErrInactiveToken", sig, err)
			}
		}
		if _, err := s.GetRefreshTokenSession(ctx, "rt-other", nil); err != nil {
			t.Errorf("GetRefreshTokenSession of another grant: %v", err)
		}
	})
}

func TestRevokeGrant(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		g := seedGrant(t, s, client, "req-1", "sub-1")
		other := seedGrant(t, s, client, "req-2", "sub-1")

		if err := s.RevokeGrant(ctx, g.requestID); err != nil {
			t.Fatalf("RevokeGrant: %v", err)
		}

		if _, err := s.GetAccessTokenSession(ctx, g.access, nil); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("access token after RevokeGrant: got %v, want fosite.ErrNotFound", err)
		}
		if _, err := s.GetRefreshTokenSession(ctx, g.refresh, nil); !errors.Is(err, fosite.ErrInactiveToken) {
			t.Errorf("refresh token after RevokeGrant: got %v, want fosite.ErrInactiveToken", err)
		}
		assertGrantActive(t, s, other)
	})
}

func TestRevokeSubjectGrants(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		first := seedGrant(t, s, client, "req-1", "sub-1")
		second := seedGrant(t, s, client, "req-2", "sub-1")
		other := seedGrant(t, s, client, "req-3", "sub-2")

		if err := s.RevokeSubjectGrants(ctx, "sub-1"); err != nil {
			t.Fatalf("RevokeSubjectGrants: %v", err)
		}

		assertGrantRevoked(t, s, first)
		assertGrantRevoked(t, s, second)
		assertGrantActive(t, s, other)
	})
}

func TestPKCERequestSession(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		r := newTestRequest(client, "req-1", "sub-1")
		r.Form.Set("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
		r.Form.Set("code_challenge_method", "S256")
		if err := s.CreatePKCERequestSession(ctx, "pkce-sig", r); err != nil {
			t.Fatalf("CreatePKCERequestSession: %v", err)
		}

		got, err := s.GetPKCERequestSession(ctx, "pkce-sig", openid.NewDefaultSession())
		if err != nil {
			t.Fatalf("GetPKCERequestSession: %v", err)
		}
		if diff := diffRequest(r, got); diff != "" {
			t.Errorf("GetPKCERequestSession (-want +got):\n%s", diff)
		}

		if err := s.DeletePKCERequestSession(ctx, "pkce-sig"); err != nil {
			t.Fatalf("DeletePKCERequestSession: %v", err)
		}
		if _, err := s.GetPKCERequestSession(ctx, "pkce-sig", nil); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("GetPKCERequestSession after delete: got %v, want fosite.ErrNotFound", err)
		}
	})
}

func TestOpenIDConnectSession(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		r := newTestRequest(client, "req-1", "sub-1")
		r.Form.Set("nonce", "nonce-1")
		const code = "ory_ac_rawcodevalue.rawcodesignature"
		if err := s.CreateOpenIDConnectSession(ctx, code, r); err != nil {
			t.Fatalf("CreateOpenIDConnectSession: %v", err)
		}

		if n := countRows(t, s, "oidc_sessions", "signature = ?", HashKey(code)); n != 1 {
			t.Errorf("oidc_sessions holds %d rows keyed by the code's hash, want 1", n)
		}
		if text := tableText(t, s); strings.Contains(text, code) {
			t.Errorf("the raw authorization code is stored:\n%s", text)
		}

		got, err := s.GetOpenIDConnectSession(ctx, code, fosite.NewAccessRequest(openid.NewDefaultSession()))
		if err != nil {
			t.Fatalf("GetOpenIDConnectSession: %v", err)
		}
		if diff := diffRequest(r, got); diff != "" {
			t.Errorf("GetOpenIDConnectSession (-want +got):\n%s", diff)
		}
		if _, err := s.GetOpenIDConnectSession(ctx, HashKey(code), nil); !errors.Is(err, openid.ErrNoSessionFound) {
			t.Errorf("GetOpenIDConnectSession by the hash: got %v, want openid.ErrNoSessionFound", err)
		}

		if err := s.DeleteOpenIDConnectSession(ctx, code); err != nil {
			t.Fatalf("DeleteOpenIDConnectSession: %v", err)
		}
		if _, err := s.GetOpenIDConnectSession(ctx, code, nil); !errors.Is(err, openid.ErrNoSessionFound) {
			t.Errorf("GetOpenIDConnectSession after delete: got %v, want openid.ErrNoSessionFound", err)
		}
	})
}

func TestGetSessionWithNilSession(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		g := seedGrant(t, s, client, "req-1", "sub-1")
		tests := []struct {
			name string
			get  func() (fosite.Requester, error)
		}{
			{"authorization code", func() (fosite.Requester, error) { return s.GetAuthorizeCodeSession(ctx, g.code, nil) }},
			{"access token", func() (fosite.Requester, error) { return s.GetAccessTokenSession(ctx, g.access, nil) }},
			{"refresh token", func() (fosite.Requester, error) { return s.GetRefreshTokenSession(ctx, g.refresh, nil) }},
			{"PKCE request", func() (fosite.Requester, error) { return s.GetPKCERequestSession(ctx, g.pkce, nil) }},
			{"OpenID Connect session", func() (fosite.Requester, error) { return s.GetOpenIDConnectSession(ctx, g.oidcCode, nil) }},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.get()
				if err != nil {
					t.Fatalf("get with a nil session: %v", err)
				}
				if _, ok := got.GetSession().(*openid.DefaultSession); !ok {
					t.Fatalf("session type = %T, want *openid.DefaultSession from Options.NewSession", got.GetSession())
				}
				if diff := diffRequest(g.request, got); diff != "" {
					t.Errorf("request (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestSessionRoundTrip(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		r := newTestRequest(client, "req-1", "sub-1")
		sess := r.Session.(*openid.DefaultSession)
		sess.Claims.Extra = map[string]any{
			"level":   3,
			"ratio":   0.5,
			"name":    "Alice",
			"admin":   true,
			"roles":   []string{"a", "b"},
			"address": map[string]any{"country": "NZ"},
		}
		sess.Claims.AuthenticationMethodsReferences = []string{"pwd"}
		sess.Claims.AuthenticationContextClassReference = "0"
		if err := s.CreateAccessTokenSession(ctx, "at-1", r); err != nil {
			t.Fatalf("CreateAccessTokenSession: %v", err)
		}

		got, err := s.GetAccessTokenSession(ctx, "at-1", openid.NewDefaultSession())
		if err != nil {
			t.Fatalf("GetAccessTokenSession: %v", err)
		}

		// JSON turns numbers into float64 and lists into []any.
		want := *sess
		wantClaims := *sess.Claims
		wantClaims.Extra = map[string]any{
			"level":   float64(3),
			"ratio":   0.5,
			"name":    "Alice",
			"admin":   true,
			"roles":   []any{"a", "b"},
			"address": map[string]any{"country": "NZ"},
		}
		want.Claims = &wantClaims
		if diff := cmp.Diff(&want, got.GetSession(), timeApprox); diff != "" {
			t.Errorf("session after the round trip (-want +got):\n%s", diff)
		}
		if got.GetSession().GetSubject() != "sub-1" {
			t.Errorf("GetSubject = %q, want %q", got.GetSession().GetSubject(), "sub-1")
		}
		wantExpiry := sess.GetExpiresAt(fosite.AccessToken)
		if gotExpiry := got.GetSession().GetExpiresAt(fosite.AccessToken); !gotExpiry.Equal(wantExpiry) {
			t.Errorf("access token expiry = %v, want %v", gotExpiry, wantExpiry)
		}
	})
}

// familySession is a session that ends its refresh-token family at a
// fixed time, as idp's provider session does.
type familySession struct {
	*openid.DefaultSession
	familyExpiry time.Time
}

func (s *familySession) FamilyExpiry() time.Time { return s.familyExpiry }

func TestRefreshTokenFamilyExpiry(t *testing.T) {
	t.Parallel()
	base := time.Now().UTC().Truncate(time.Second)
	refreshExpiry := base.Add(24 * time.Hour)
	tests := []struct {
		name        string
		family      time.Time
		wantExpires time.Time
	}{
		{"family ends first", base.Add(time.Hour), base.Add(time.Hour)},
		{"token ends first", base.Add(48 * time.Hour), refreshExpiry},
		{"no family limit", time.Time{}, refreshExpiry},
	}
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				sig := "rt-" + string(rune('a'+i))
				r := newTestRequest(client, "req-"+sig, "sub-1")
				sess := newTestSession("sub-1")
				sess.ExpiresAt[fosite.RefreshToken] = refreshExpiry
				r.Session = &familySession{DefaultSession: sess, familyExpiry: tc.family}
				if err := s.CreateRefreshTokenSession(ctx, sig, "at-"+sig, r); err != nil {
					t.Fatalf("CreateRefreshTokenSession: %v", err)
				}

				var row RefreshToken
				if err := s.db.Where("signature = ?", sig).Take(&row).Error; err != nil {
					t.Fatalf("read refresh token row: %v", err)
				}
				if !row.ExpiresAt.Equal(tc.wantExpires) {
					t.Errorf("ExpiresAt = %v, want %v", row.ExpiresAt, tc.wantExpires)
				}
				if !row.FamilyExpiresAt.Equal(tc.family) {
					t.Errorf("FamilyExpiresAt = %v, want %v", row.FamilyExpiresAt, tc.family)
				}
			})
		}
	})
}

func TestGetAfterCloseIsNotNotFound(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		g := seedGrant(t, s, client, "req-1", "sub-1")
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}

		// A database failure must not read as a missing token, because
		// fosite turns that into invalid_grant and the client throws its
		// refresh token away.
		tests := []struct {
			name string
			get  func() (fosite.Requester, error)
		}{
			{"authorization code", func() (fosite.Requester, error) { return s.GetAuthorizeCodeSession(ctx, g.code, nil) }},
			{"access token", func() (fosite.Requester, error) { return s.GetAccessTokenSession(ctx, g.access, nil) }},
			{"refresh token", func() (fosite.Requester, error) { return s.GetRefreshTokenSession(ctx, g.refresh, nil) }},
			{"PKCE request", func() (fosite.Requester, error) { return s.GetPKCERequestSession(ctx, g.pkce, nil) }},
			{"OpenID Connect session", func() (fosite.Requester, error) { return s.GetOpenIDConnectSession(ctx, g.oidcCode, nil) }},
			{"client", func() (fosite.Requester, error) {
				_, err := s.GetClient(ctx, client.ID)
				return nil, err
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := tc.get()
				if err == nil {
					t.Fatal("read from a closed store = nil error, want an error")
				}
				if errors.Is(err, fosite.ErrNotFound) {
					t.Errorf("read from a closed store: got %v, which matches fosite.ErrNotFound", err)
				}
			})
		}
	})
}
