package storage

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ory/fosite"
)

// ignoreRecordTimes leaves out the timestamps gorm sets on write.
var ignoreRecordTimes = cmpopts.IgnoreFields(Client{}, "CreatedAt", "UpdatedAt")

func TestClientCRUD(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		zed := createTestClient(t, s, "zed")
		alpha := createTestClient(t, s, "alpha")

		got, err := s.Client(ctx, "zed")
		if err != nil {
			t.Fatalf("Client: %v", err)
		}
		if diff := cmp.Diff(zed, got, ignoreRecordTimes); diff != "" {
			t.Errorf("Client (-want +got):\n%s", diff)
		}
		if got.CreatedAt.IsZero() {
			t.Error("Client CreatedAt is zero")
		}

		fc, err := s.GetClient(ctx, "zed")
		if err != nil {
			t.Fatalf("GetClient: %v", err)
		}
		if fc.GetID() != "zed" {
			t.Errorf("GetClient id = %q, want %q", fc.GetID(), "zed")
		}

		list, err := s.ListClients(ctx)
		if err != nil {
			t.Fatalf("ListClients: %v", err)
		}
		if diff := cmp.Diff([]Client{*alpha, *zed}, list, ignoreRecordTimes); diff != "" {
			t.Errorf("ListClients (-want +got):\n%s", diff)
		}

		if err := s.CreateClient(ctx, newTestClient("zed")); err == nil {
			t.Error("CreateClient with a taken id = nil, want an error")
		}

		zed.Name = "Zed renamed"
		zed.SecretDisabled = true
		zed.RedirectURIs = StringList{"https://zed.example.com/other"}
		zed.PKCEOptional = true
		if err := s.UpdateClient(ctx, zed); err != nil {
			t.Fatalf("UpdateClient: %v", err)
		}
		got, err = s.Client(ctx, "zed")
		if err != nil {
			t.Fatalf("Client after update: %v", err)
		}
		if diff := cmp.Diff(zed, got, ignoreRecordTimes); diff != "" {
			t.Errorf("Client after update (-want +got):\n%s", diff)
		}
		if got.GetHashedSecret() != nil {
			t.Errorf("GetHashedSecret of a disabled secret = %q, want nil", got.GetHashedSecret())
		}

		if err := s.UpdateClient(ctx, newTestClient("missing")); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateClient of a missing client: got %v, want ErrNotFound", err)
		}
		if _, err := s.Client(ctx, "missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Client of a missing id: got %v, want ErrNotFound", err)
		}
		if _, err := s.GetClient(ctx, "missing"); !errors.Is(err, fosite.ErrNotFound) {
			t.Errorf("GetClient of a missing id: got %v, want fosite.ErrNotFound", err)
		}
	})
}

func TestDeleteClientCascades(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		doomed := createTestClient(t, s, "doomed")
		otherClient := createTestClient(t, s, "other")
		user := createTestUser(t, s, "alice")
		seedGrant(t, s, doomed, "req-doomed", user.Subject)
		seedGrant(t, s, otherClient, "req-other", user.Subject)
		for _, c := range []*Client{doomed, otherClient} {
			consent := &Consent{UserID: user.ID, ClientID: c.ID, Scopes: StringList{"openid"}}
			if err := s.SaveConsent(ctx, consent); err != nil {
				t.Fatalf("SaveConsent: %v", err)
			}
			flow := &AuthFlow{SessionID: "ls-1", ClientID: c.ID, ExpiresAt: time.Now().Add(time.Hour)}
			if err := s.CreateAuthFlow(ctx, flow, "flow-"+c.ID); err != nil {
				t.Fatalf("CreateAuthFlow: %v", err)
			}
		}

		if err := s.DeleteClient(ctx, doomed.ID); err != nil {
			t.Fatalf("DeleteClient: %v", err)
		}

		tables := []string{
			"access_tokens", "refresh_tokens", "authorization_codes",
			"pkce_requests", "oidc_sessions", "consents", "auth_flows",
		}
		for _, table := range tables {
			if n := countRows(t, s, table, "client_id = ?", doomed.ID); n != 0 {
				t.Errorf("%s holds %d rows of the deleted client, want 0", table, n)
			}
			if n := countRows(t, s, table, "client_id = ?", otherClient.ID); n != 1 {
				t.Errorf("%s holds %d rows of the other client, want 1", table, n)
			}
		}
		if _, err := s.Client(ctx, doomed.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Client after DeleteClient: got %v, want ErrNotFound", err)
		}
		if err := s.DeleteClient(ctx, doomed.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second DeleteClient: got %v, want ErrNotFound", err)
		}
	})
}

func TestUserCRUD(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ignoreTimes := cmpopts.IgnoreFields(User{}, "CreatedAt", "UpdatedAt")
		bob := createTestUser(t, s, "bob")
		alice := createTestUser(t, s, "alice")

		lookups := []struct {
			name   string
			lookup func() (*User, error)
		}{
			{"by id", func() (*User, error) { return s.User(ctx, bob.ID) }},
			{"by username", func() (*User, error) { return s.UserByUsername(ctx, "bob") }},
			{"by subject", func() (*User, error) { return s.UserBySubject(ctx, bob.Subject) }},
		}
		for _, tc := range lookups {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.lookup()
				if err != nil {
					t.Fatalf("lookup: %v", err)
				}
				if diff := cmp.Diff(bob, got, ignoreTimes); diff != "" {
					t.Errorf("user (-want +got):\n%s", diff)
				}
			})
		}

		list, err := s.ListUsers(ctx)
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		if diff := cmp.Diff([]User{*alice, *bob}, list, ignoreTimes); diff != "" {
			t.Errorf("ListUsers (-want +got):\n%s", diff)
		}

		duplicates := []struct {
			name string
			user User
		}{
			{"username taken", User{ID: "id-other", Subject: "sub-other", Username: "bob"}},
			{"subject taken", User{ID: "id-other", Subject: bob.Subject, Username: "other"}},
			{"id taken", User{ID: bob.ID, Subject: "sub-other", Username: "other"}},
		}
		for _, tc := range duplicates {
			t.Run(tc.name, func(t *testing.T) {
				if err := s.CreateUser(ctx, &tc.user); err == nil {
					t.Error("CreateUser = nil, want an error")
				}
			})
		}

		update := *bob
		update.Username = "robert"
		update.Disabled = true
		update.Email = ""
		update.Subject = "sub-changed"
		if err := s.UpdateUser(ctx, &update); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		got, err := s.User(ctx, bob.ID)
		if err != nil {
			t.Fatalf("User after update: %v", err)
		}
		want := update
		want.Subject = bob.Subject
		if diff := cmp.Diff(&want, got, ignoreTimes); diff != "" {
			t.Errorf("User after update (-want +got), subject must not change:\n%s", diff)
		}

		missing := User{ID: "id-missing", Subject: "sub-missing", Username: "missing"}
		if err := s.UpdateUser(ctx, &missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateUser of a missing user: got %v, want ErrNotFound", err)
		}
		if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, ErrNotFound) {
			t.Errorf("UserByUsername of the old name: got %v, want ErrNotFound", err)
		}
	})
}

func TestEndUserAccess(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		alice := createTestUser(t, s, "alice")
		bob := createTestUser(t, s, "bob")
		now := time.Now()
		for i, u := range []*User{alice, alice, bob} {
			ls := &LoginSession{
				ID:        "ls-" + u.Username + string(rune('a'+i)),
				PublicID:  "sid-" + string(rune('a'+i)),
				UserID:    u.ID,
				ExpiresAt: now.Add(time.Hour),
			}
			if err := s.CreateLoginSession(ctx, ls, "cookie-"+ls.ID); err != nil {
				t.Fatalf("CreateLoginSession: %v", err)
			}
		}
		aliceGrant := seedGrant(t, s, client, "req-alice", alice.Subject)
		bobGrant := seedGrant(t, s, client, "req-bob", bob.Subject)

		if err := s.EndUserAccess(ctx, alice); err != nil {
			t.Fatalf("EndUserAccess: %v", err)
		}

		if n := countRows(t, s, "login_sessions", "user_id = ?", alice.ID); n != 0 {
			t.Errorf("alice has %d login sessions, want 0", n)
		}
		if n := countRows(t, s, "login_sessions", "user_id = ?", bob.ID); n != 1 {
			t.Errorf("bob has %d login sessions, want 1", n)
		}
		assertGrantRevoked(t, s, aliceGrant)
		assertGrantActive(t, s, bobGrant)
		if _, err := s.User(ctx, alice.ID); err != nil {
			t.Errorf("User after EndUserAccess: %v", err)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		alice := createTestUser(t, s, "alice")
		bob := createTestUser(t, s, "bob")
		for _, u := range []*User{alice, bob} {
			if err := s.SaveConsent(ctx, &Consent{UserID: u.ID, ClientID: client.ID, Scopes: StringList{"openid"}}); err != nil {
				t.Fatalf("SaveConsent: %v", err)
			}
			ls := &LoginSession{ID: "ls-" + u.ID, PublicID: "sid-" + u.ID, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}
			if err := s.CreateLoginSession(ctx, ls, "cookie-"+u.ID); err != nil {
				t.Fatalf("CreateLoginSession: %v", err)
			}
		}
		seedGrant(t, s, client, "req-alice", alice.Subject)
		bobGrant := seedGrant(t, s, client, "req-bob", bob.Subject)

		if err := s.DeleteUser(ctx, alice.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}

		if _, err := s.User(ctx, alice.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("User after DeleteUser: got %v, want ErrNotFound", err)
		}
		if _, err := s.Consent(ctx, alice.ID, client.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Consent after DeleteUser: got %v, want ErrNotFound", err)
		}
		checks := []struct {
			table string
			where string
			arg   string
		}{
			{"login_sessions", "user_id = ?", alice.ID},
			{"access_tokens", "subject = ?", alice.Subject},
			{"refresh_tokens", "subject = ?", alice.Subject},
			{"authorization_codes", "subject = ? AND active = ?", alice.Subject},
		}
		for _, c := range checks {
			args := []any{c.arg}
			if c.table == "authorization_codes" {
				args = append(args, true)
			}
			if n := countRows(t, s, c.table, c.where, args...); n != 0 {
				t.Errorf("%s holds %d rows of the deleted user, want 0", c.table, n)
			}
		}
		if _, err := s.Consent(ctx, bob.ID, client.ID); err != nil {
			t.Errorf("Consent of another user: %v", err)
		}
		assertGrantActive(t, s, bobGrant)

		if err := s.DeleteUser(ctx, alice.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second DeleteUser: got %v, want ErrNotFound", err)
		}
	})
}

func TestConsentUpsert(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ignoreTimes := cmpopts.IgnoreFields(Consent{}, "CreatedAt", "UpdatedAt")
		if _, err := s.Consent(ctx, "u1", "app"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Consent before SaveConsent: got %v, want ErrNotFound", err)
		}

		steps := []struct {
			name   string
			scopes StringList
		}{
			{"create", StringList{"openid"}},
			{"replace", StringList{"openid", "profile", "email"}},
			{"narrow", StringList{}},
		}
		var created time.Time
		for _, step := range steps {
			t.Run(step.name, func(t *testing.T) {
				if err := s.SaveConsent(ctx, &Consent{UserID: "u1", ClientID: "app", Scopes: step.scopes}); err != nil {
					t.Fatalf("SaveConsent: %v", err)
				}
				got, err := s.Consent(ctx, "u1", "app")
				if err != nil {
					t.Fatalf("Consent: %v", err)
				}
				want := &Consent{UserID: "u1", ClientID: "app", Scopes: step.scopes}
				if diff := cmp.Diff(want, got, ignoreTimes); diff != "" {
					t.Errorf("Consent (-want +got):\n%s", diff)
				}
				if created.IsZero() {
					created = got.CreatedAt
				} else if !got.CreatedAt.Equal(created) {
					t.Errorf("CreatedAt changed from %v to %v on update", created, got.CreatedAt)
				}
			})
		}
		if n := countRows(t, s, "consents", "user_id = ?", "u1"); n != 1 {
			t.Errorf("consents holds %d rows for the user, want 1", n)
		}

		if err := s.DeleteConsent(ctx, "u1", "app"); err != nil {
			t.Fatalf("DeleteConsent: %v", err)
		}
		if _, err := s.Consent(ctx, "u1", "app"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Consent after DeleteConsent: got %v, want ErrNotFound", err)
		}
	})
}

func TestSigningKeys(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		base := time.Now().UTC().Truncate(time.Second)
		// The newest key is given in a zone west of UTC, so its clock
		// reading is earlier than the others'. The order must follow the
		// instant, not the text.
		west := time.FixedZone("UTC-7", -7*3600)
		keys := []*SigningKey{
			{KID: "old", NotBefore: base.Add(-48 * time.Hour)},
			{KID: "current", NotBefore: base},
			{KID: "next", NotBefore: base.Add(time.Hour).In(west)},
		}
		for _, k := range keys {
			k.Algorithm = "RS256"
			k.PublicJWK = `{"kty":"RSA","kid":"` + k.KID + `"}`
			k.PrivateSealed = []byte("sealed-" + k.KID)
			k.SecretVersion = "v1"
			if err := s.CreateSigningKey(ctx, k); err != nil {
				t.Fatalf("CreateSigningKey(%q): %v", k.KID, err)
			}
		}
		if err := s.CreateSigningKey(ctx, &SigningKey{KID: "old", Algorithm: "RS256", PublicJWK: "{}", PrivateSealed: []byte("x"), SecretVersion: "v1"}); err == nil {
			t.Error("CreateSigningKey with a taken kid = nil, want an error")
		}

		kids := func(list []SigningKey) []string {
			var out []string
			for _, k := range list {
				out = append(out, k.KID)
			}
			return out
		}
		got, err := s.SigningKeys(ctx)
		if err != nil {
			t.Fatalf("SigningKeys: %v", err)
		}
		if diff := cmp.Diff([]string{"next", "current", "old"}, kids(got)); diff != "" {
			t.Errorf("SigningKeys order (-want +got):\n%s", diff)
		}
		ignoreCreated := cmpopts.IgnoreFields(SigningKey{}, "CreatedAt")
		if diff := cmp.Diff(*keys[2], got[0], ignoreCreated, timeApprox); diff != "" {
			t.Errorf("SigningKeys[0] (-want +got):\n%s", diff)
		}

		if err := s.WithdrawSigningKey(ctx, "current"); err != nil {
			t.Fatalf("WithdrawSigningKey: %v", err)
		}
		got, err = s.SigningKeys(ctx)
		if err != nil {
			t.Fatalf("SigningKeys after withdrawal: %v", err)
		}
		if diff := cmp.Diff([]string{"next", "old"}, kids(got)); diff != "" {
			t.Errorf("SigningKeys after withdrawal (-want +got):\n%s", diff)
		}
		all, err := s.AllSigningKeys(ctx)
		if err != nil {
			t.Fatalf("AllSigningKeys: %v", err)
		}
		if diff := cmp.Diff([]string{"next", "current", "old"}, kids(all)); diff != "" {
			t.Errorf("AllSigningKeys (-want +got):\n%s", diff)
		}
		if len(all) == 3 && !all[1].Withdrawn {
			t.Error("AllSigningKeys: withdrawn key has Withdrawn false")
		}

		if err := s.WithdrawSigningKey(ctx, "missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("WithdrawSigningKey of a missing kid: got %v, want ErrNotFound", err)
		}
	})
}

func TestSettings(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.Setting(ctx, SettingDevSeed); !errors.Is(err, ErrNotFound) {
			t.Errorf("Setting before SetSetting: got %v, want ErrNotFound", err)
		}
		for _, value := range []string{"first", "second", ""} {
			if err := s.SetSetting(ctx, SettingDevSeed, value); err != nil {
				t.Fatalf("SetSetting(%q): %v", value, err)
			}
			got, err := s.Setting(ctx, SettingDevSeed)
			if err != nil {
				t.Fatalf("Setting: %v", err)
			}
			if got != value {
				t.Errorf("Setting = %q, want %q", got, value)
			}
		}
		if err := s.SetSetting(ctx, SettingDevClientID, "other"); err != nil {
			t.Fatalf("SetSetting of a second name: %v", err)
		}
		if got, err := s.Setting(ctx, SettingDevSeed); err != nil || got != "" {
			t.Errorf("Setting of the first name = %q, %v; want \"\", nil", got, err)
		}
	})
}
