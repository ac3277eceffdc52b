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

func TestTransactionCommitAndRollback(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		tests := []struct {
			name   string
			commit bool
		}{
			{"commit", true},
			{"rollback", false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				txCtx, err := s.BeginTX(ctx)
				if err != nil {
					t.Fatalf("BeginTX: %v", err)
				}
				sig := "at-" + tc.name
				r := newTestRequest(client, "req-"+tc.name, "sub-1")
				if err := s.CreateAccessTokenSession(txCtx, sig, r); err != nil {
					t.Fatalf("CreateAccessTokenSession in a transaction: %v", err)
				}
				if err := s.SetSetting(txCtx, "setting-"+tc.name, "value"); err != nil {
					t.Fatalf("SetSetting in a transaction: %v", err)
				}
				if _, err := s.GetAccessTokenSession(txCtx, sig, nil); err != nil {
					t.Errorf("GetAccessTokenSession inside the transaction: %v", err)
				}

				if tc.commit {
					err = s.Commit(txCtx)
				} else {
					err = s.Rollback(txCtx)
				}
				if err != nil {
					t.Fatalf("end transaction: %v", err)
				}

				_, tokenErr := s.GetAccessTokenSession(ctx, sig, nil)
				_, settingErr := s.Setting(ctx, "setting-"+tc.name)
				if tc.commit {
					if tokenErr != nil {
						t.Errorf("committed access token: %v", tokenErr)
					}
					if settingErr != nil {
						t.Errorf("committed setting: %v", settingErr)
					}
					return
				}
				if !errors.Is(tokenErr, fosite.ErrNotFound) {
					t.Errorf("rolled-back access token: got %v, want fosite.ErrNotFound", tokenErr)
				}
				if !errors.Is(settingErr, ErrNotFound) {
					t.Errorf("rolled-back setting: got %v, want ErrNotFound", settingErr)
				}
			})
		}
	})
}

func TestTransactionMisuse(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.Commit(ctx); err == nil {
			t.Error("Commit without a transaction = nil, want an error")
		}
		if err := s.Rollback(ctx); err == nil {
			t.Error("Rollback without a transaction = nil, want an error")
		}

		txCtx, err := s.BeginTX(ctx)
		if err != nil {
			t.Fatalf("BeginTX: %v", err)
		}
		if _, err := s.BeginTX(txCtx); err == nil {
			t.Error("BeginTX inside a transaction = nil, want an error")
		}
		if err := s.Rollback(txCtx); err != nil {
			t.Errorf("Rollback: %v", err)
		}
	})
}

func TestInTx(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		errFailed := errors.New("step failed")

		t.Run("commits on success", func(t *testing.T) {
			err := s.InTx(ctx, func(ctx context.Context) error {
				return s.SetSetting(ctx, "committed", "yes")
			})
			if err != nil {
				t.Fatalf("InTx: %v", err)
			}
			if _, err := s.Setting(ctx, "committed"); err != nil {
				t.Errorf("Setting after InTx: %v", err)
			}
		})

		t.Run("rolls back on error", func(t *testing.T) {
			err := s.InTx(ctx, func(ctx context.Context) error {
				if err := s.SetSetting(ctx, "rolled-back", "yes"); err != nil {
					return err
				}
				return errFailed
			})
			if !errors.Is(err, errFailed) {
				t.Errorf("InTx: got %v, want the error of fn", err)
			}
			if _, err := s.Setting(ctx, "rolled-back"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Setting after a failed InTx: got %v, want ErrNotFound", err)
			}
		})

		t.Run("joins an outer transaction", func(t *testing.T) {
			txCtx, err := s.BeginTX(ctx)
			if err != nil {
				t.Fatalf("BeginTX: %v", err)
			}
			err = s.InTx(txCtx, func(ctx context.Context) error {
				return s.SetSetting(ctx, "joined", "yes")
			})
			if err != nil {
				t.Fatalf("inner InTx: %v", err)
			}
			if got, err := s.Setting(txCtx, "joined"); err != nil || got != "yes" {
				t.Errorf("Setting inside the outer transaction = %q, %v; want \"yes\", nil", got, err)
			}
			// An inner failure leaves the outcome to the outer caller.
			err = s.InTx(txCtx, func(ctx context.Context) error { return errFailed })
			if !errors.Is(err, errFailed) {
				t.Errorf("failing inner InTx: got %v, want the error of fn", err)
			}
			if _, err := s.Setting(txCtx, "joined"); err != nil {
				t.Errorf("Setting after a failed inner InTx: %v, want the outer transaction still open", err)
			}

			if err := s.Rollback(txCtx); err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			if _, err := s.Setting(ctx, "joined"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Setting written by a joined InTx after the outer rollback: got %v, want ErrNotFound", err)
			}
		})

		t.Run("store method joins an outer transaction", func(t *testing.T) {
			client := createTestClient(t, s, "app")
			g := seedGrant(t, s, client, "req-1", "sub-1")
			txCtx, err := s.BeginTX(ctx)
			if err != nil {
				t.Fatalf("BeginTX: %v", err)
			}
			// RevokeGrant's two statements join the outer transaction.
			if err := s.RevokeGrant(txCtx, g.requestID); err != nil {
				t.Fatalf("RevokeGrant: %v", err)
			}
			if err := s.Rollback(txCtx); err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			assertGrantActive(t, s, g)
		})
	})
}

func TestInTxPanicReleasesWriteTurn(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		func() {
			defer func() {
				if recover() == nil {
					t.Error("InTx swallowed the panic of fn")
				}
			}()
			_ = s.InTx(ctx, func(ctx context.Context) error {
				if err := s.SetSetting(ctx, "before-panic", "value"); err != nil {
					t.Errorf("SetSetting: %v", err)
				}
				panic("fn failed")
			})
		}()

		// A transaction left open would hold the write turn, and this
		// one would wait until the deadline.
		waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.InTx(waitCtx, func(ctx context.Context) error {
			return s.SetSetting(ctx, "after-panic", "value")
		}); err != nil {
			t.Fatalf("InTx after a panic: %v", err)
		}
		if _, err := s.Setting(ctx, "before-panic"); !errors.Is(err, ErrNotFound) {
			t.Errorf("setting written before the panic: got %v, want ErrNotFound", err)
		}
	})
}

func TestStoreSurvivesRestart(t *testing.T) {
	t.Parallel()
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := newTestDSN(t, driver)
			now := time.Now().UTC()

			first, err := Open(dsn, testOptions())
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if _, err := first.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			client := createTestClient(t, first, "app")
			user := createTestUser(t, first, "alice")
			g := seedGrant(t, first, client, "req-1", user.Subject)
			ls := &LoginSession{ID: "ls-1", PublicID: "sid-1", UserID: user.ID, ExpiresAt: now.Add(time.Hour)}
			if err := first.CreateLoginSession(ctx, ls, "cookie-1"); err != nil {
				t.Fatalf("CreateLoginSession: %v", err)
			}
			flow := &AuthFlow{SessionID: ls.ID, ClientID: client.ID, Form: "scope=openid", ExpiresAt: now.Add(time.Hour)}
			if err := first.CreateAuthFlow(ctx, flow, "flow-1"); err != nil {
				t.Fatalf("CreateAuthFlow: %v", err)
			}
			if err := first.SaveConsent(ctx, &Consent{UserID: user.ID, ClientID: client.ID, Scopes: StringList{"openid"}}); err != nil {
				t.Fatalf("SaveConsent: %v", err)
			}
			if err := first.SetSetting(ctx, SettingDevSeed, "1"); err != nil {
				t.Fatalf("SetSetting: %v", err)
			}
			key := &SigningKey{KID: "k1", Algorithm: "RS256", PublicJWK: "{}", PrivateSealed: []byte("sealed"), SecretVersion: "v1", NotBefore: now}
			if err := first.CreateSigningKey(ctx, key); err != nil {
				t.Fatalf("CreateSigningKey: %v", err)
			}
			if err := first.InvalidateAuthorizeCodeSession(ctx, g.code); err != nil {
				t.Fatalf("InvalidateAuthorizeCodeSession: %v", err)
			}
			if err := first.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			s := openTestStore(t, dsn)
			if err := s.CheckSchema(ctx); err != nil {
				t.Errorf("CheckSchema after restart: %v", err)
			}
			if got, err := s.Client(ctx, client.ID); err != nil {
				t.Errorf("Client after restart: %v", err)
			} else if diff := cmp.Diff(client, got, ignoreRecordTimes); diff != "" {
				t.Errorf("Client after restart (-want +got):\n%s", diff)
			}
			if _, err := s.UserByUsername(ctx, "alice"); err != nil {
				t.Errorf("UserByUsername after restart: %v", err)
			}
			if _, err := s.LoginSessionByToken(ctx, "cookie-1", now); err != nil {
				t.Errorf("LoginSessionByToken after restart: %v", err)
			}
			if _, err := s.AuthFlow(ctx, "flow-1", ls.ID, now); err != nil {
				t.Errorf("AuthFlow after restart: %v", err)
			}
			if _, err := s.Consent(ctx, user.ID, client.ID); err != nil {
				t.Errorf("Consent after restart: %v", err)
			}
			if got, err := s.Setting(ctx, SettingDevSeed); err != nil || got != "1" {
				t.Errorf("Setting after restart = %q, %v; want \"1\", nil", got, err)
			}
			if keys, err := s.SigningKeys(ctx); err != nil || len(keys) != 1 {
				t.Errorf("SigningKeys after restart = %d keys, %v; want 1 key", len(keys), err)
			}

			if _, err := s.GetAuthorizeCodeSession(ctx, g.code, nil); !errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
				t.Errorf("used code after restart: got %v, want fosite.ErrInvalidatedAuthorizeCode", err)
			}
			reads := []struct {
				name string
				get  func() (fosite.Requester, error)
			}{
				{"access token", func() (fosite.Requester, error) {
					return s.GetAccessTokenSession(ctx, g.access, openid.NewDefaultSession())
				}},
				{"refresh token", func() (fosite.Requester, error) {
					return s.GetRefreshTokenSession(ctx, g.refresh, openid.NewDefaultSession())
				}},
				{"PKCE request", func() (fosite.Requester, error) {
					return s.GetPKCERequestSession(ctx, g.pkce, openid.NewDefaultSession())
				}},
				{"OpenID Connect session", func() (fosite.Requester, error) {
					return s.GetOpenIDConnectSession(ctx, g.oidcCode, nil)
				}},
			}
			for _, read := range reads {
				got, err := read.get()
				if err != nil {
					t.Errorf("%s after restart: %v", read.name, err)
					continue
				}
				if diff := diffRequest(g.request, got); diff != "" {
					t.Errorf("%s after restart (-want +got):\n%s", read.name, diff)
				}
			}
		})
	}
}

func TestNoRawSecretStored(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		client := createTestClient(t, s, "app")

		// Each raw value is what travels to a browser or client. fosite
		// hands the store only the signature part of a token, except for
		// the OpenID Connect session, which it keys by the raw code.
		raw := map[string]string{
			"cookie before sign-in": "cookie-raw-before-0123456789",
			"cookie after sign-in":  "cookie-raw-after-0123456789",
			"flow id":               "flow-raw-0123456789",
			"authorization code":    "ory_ac_coderaw0123456789",
			"access token":          "ory_at_accessraw0123456789",
			"refresh token":         "ory_rt_refreshraw0123456789",
		}
		signature := func(token string) string { return "sig-of-" + token[len("ory_xx_"):] }

		ls := &LoginSession{ID: "ls-1", PublicID: "sid-1", ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateLoginSession(ctx, ls, raw["cookie before sign-in"]); err != nil {
			t.Fatalf("CreateLoginSession: %v", err)
		}
		err := s.SignInLoginSession(ctx, ls.ID, "user-1", raw["cookie after sign-in"], "sid-2", now, now.Add(time.Hour))
		if err != nil {
			t.Fatalf("SignInLoginSession: %v", err)
		}
		flow := &AuthFlow{SessionID: ls.ID, ClientID: client.ID, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateAuthFlow(ctx, flow, raw["flow id"]); err != nil {
			t.Fatalf("CreateAuthFlow: %v", err)
		}

		r := newTestRequest(client, "req-1", "sub-1")
		code := raw["authorization code"]
		access := raw["access token"]
		refresh := raw["refresh token"]
		steps := []struct {
			name string
			err  error
		}{
			{"CreateAuthorizeCodeSession", s.CreateAuthorizeCodeSession(ctx, signature(code), r)},
			{"CreatePKCERequestSession", s.CreatePKCERequestSession(ctx, signature(code), r)},
			{"CreateOpenIDConnectSession", s.CreateOpenIDConnectSession(ctx, code, r)},
			{"CreateAccessTokenSession", s.CreateAccessTokenSession(ctx, signature(access), r)},
			{"CreateRefreshTokenSession", s.CreateRefreshTokenSession(ctx, signature(refresh), signature(access), r)},
		}
		for _, step := range steps {
			if step.err != nil {
				t.Fatalf("%s: %v", step.name, step.err)
			}
		}

		text := tableText(t, s)
		if !strings.Contains(text, signature(access)) {
			t.Fatalf("table scan does not find the stored access token signature %q, so it cannot find raw values either", signature(access))
		}
		for name, value := range raw {
			if strings.Contains(text, value) {
				t.Errorf("the raw %s is stored in the database", name)
			}
		}
	})
}
