package accounts

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/idp/idp/storage"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestStore(t *testing.T) *storage.Store {
	t.Helper()
	st, err := storage.Open(filepath.Join(t.TempDir(), "idp.db"), storage.Options{
		NewSession: func() fosite.Session { return openid.NewDefaultSession() },
		Now:        func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatalf("storage.Open() error = %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate() error = %v", err)
	}
	return st
}

func newTestDirectory(t *testing.T) (*Directory, *storage.Store) {
	t.Helper()
	st := newTestStore(t)
	d := &Directory{
		Store:  st,
		Hasher: NewHasher(testParams, 4),
		Now:    func() time.Time { return testNow },
	}
	return d, st
}

func mustCreate(t *testing.T, d *Directory, username, password string) *storage.User {
	t.Helper()
	u, err := d.Create(context.Background(), NewUser{Username: username, Password: password})
	if err != nil {
		t.Fatalf("Create(%q) error = %v", username, err)
	}
	return u
}

// startLoginSession stores a signed-in login session for u and returns
// its cookie value.
func startLoginSession(t *testing.T, st *storage.Store, u *storage.User) string {
	t.Helper()
	token := "cookie-" + u.ID
	ls := &storage.LoginSession{
		ID:        "session-" + u.ID,
		PublicID:  "sid-" + u.ID,
		UserID:    u.ID,
		AuthTime:  testNow,
		ExpiresAt: testNow.Add(time.Hour),
	}
	if err := st.CreateLoginSession(context.Background(), ls, token); err != nil {
		t.Fatalf("CreateLoginSession() error = %v", err)
	}
	return token
}

func hasLoginSession(t *testing.T, st *storage.Store, token string) bool {
	t.Helper()
	_, err := st.LoginSessionByToken(context.Background(), token, testNow)
	if errors.Is(err, storage.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("LoginSessionByToken() error = %v", err)
	}
	return true
}

func TestCreate(t *testing.T) {
	d, st := newTestDirectory(t)
	ctx := context.Background()

	profile := storage.User{
		// Fields other than claims are ignored.
		ID:           "chosen-id",
		Subject:      "chosen-subject",
		Username:     "other",
		PasswordHash: "$argon2id$planted",
		Disabled:     true,

		Name:                "Alice Liddell",
		GivenName:           "Alice",
		FamilyName:          "Liddell",
		MiddleName:          "P",
		Nickname:            "Al",
		PreferredUsername:   "alice",
		Profile:             "https://example.com/alice",
		Picture:             "https://example.com/alice.png",
		Website:             "https://alice.example.com",
		Email:               "alice@example.com",
		EmailVerified:       true,
		Gender:              "female",
		Birthdate:           "1852-05-04",
		Zoneinfo:            "Europe/London",
		Locale:              "en-GB",
		PhoneNumber:         "+44 20 7946 0000",
		PhoneNumberVerified: true,
		AddressStreet:       "1 Christ Church",
		AddressLocality:     "Oxford",
		AddressRegion:       "Oxfordshire",
		AddressPostalCode:   "OX1 1DP",
		AddressCountry:      "United Kingdom",
	}
	created, err := d.Create(ctx, NewUser{
		Username:               "alice",
		Password:               "correct horse",
		PasswordChangeRequired: true,
		Profile:                profile,
	})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}

	if id, err := hex.DecodeString(created.ID); err != nil || len(id) != 16 {
		t.Errorf("ID = %q, want 32 hex digits (128 bits)", created.ID)
	}
	if sub, err := base64.RawURLEncoding.DecodeString(created.Subject); err != nil || len(sub) != 16 {
		t.Errorf("Subject = %q, want 22 base64url characters (128 bits)", created.Subject)
	}

	stored, err := st.User(ctx, created.ID)
	if err != nil {
		t.Fatalf("User() error = %v", err)
	}
	want := profile
	want.ID = created.ID
	want.Subject = created.Subject
	want.Username = "alice"
	want.PasswordHash = created.PasswordHash
	want.Disabled = false
	want.PasswordChangeRequired = true
	want.CreatedAt = testNow
	want.UpdatedAt = testNow
	if diff := cmp.Diff(&want, stored); diff != "" {
		t.Errorf("stored user mismatch (-want +got):\n%s", diff)
	}

	ok, err := d.Hasher.Verify(ctx, stored.PasswordHash, "correct horse")
	if err != nil || !ok {
		t.Errorf("Verify(stored hash, password) = %v, %v; want true, nil", ok, err)
	}
}

func TestCreateRandomIDs(t *testing.T) {
	d, _ := newTestDirectory(t)
	a := mustCreate(t, d, "alice", "correct horse")
	b := mustCreate(t, d, "bob", "correct horse")
	if a.ID == b.ID {
		t.Errorf("two users share the ID %q", a.ID)
	}
	if a.Subject == b.Subject {
		t.Errorf("two users share the Subject %q", a.Subject)
	}
	if a.ID == a.Subject {
		t.Errorf("ID and Subject are both %q, want unrelated values", a.ID)
	}
}

func TestCreateRejects(t *testing.T) {
	d, _ := newTestDirectory(t)
	mustCreate(t, d, "alice", "correct horse")

	tests := []struct {
		name    string
		user    NewUser
		wantErr string
	}{
		{name: "username taken", user: NewUser{Username: "alice", Password: "correct horse"}, wantErr: "already taken"},
		{name: "empty username", user: NewUser{Username: "", Password: "correct horse"}, wantErr: "username is empty"},
		{name: "username with space at end", user: NewUser{Username: "bob ", Password: "correct horse"}, wantErr: "white space"},
		{name: "short password", user: NewUser{Username: "bob", Password: "short"}, wantErr: "minimum is 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Create(context.Background(), tt.user)
			checkError(t, "Create", err, tt.wantErr)
		})
	}

	_, err := d.Create(context.Background(), NewUser{Username: "alice", Password: "correct horse"})
	if !errors.Is(err, ErrUsernameTaken) {
		t.Errorf("Create(taken username) error = %v, want one wrapping ErrUsernameTaken", err)
	}
}

// TestCreateConcurrentSameUsername checks that when several requests
// create one username at once, one succeeds and the others get
// ErrUsernameTaken, not a raw constraint error.
func TestCreateConcurrentSameUsername(t *testing.T) {
	d, _ := newTestDirectory(t)
	const attempts = 6

	errs := make([]error, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Go(func() {
			_, errs[i] = d.Create(context.Background(), NewUser{Username: "carol", Password: "correct horse"})
		})
	}
	wg.Wait()

	succeeded := 0
	for _, err := range errs {
		switch {
		case err == nil:
			succeeded++
		case !errors.Is(err, ErrUsernameTaken):
			t.Errorf("Create() error = %v, want nil or one wrapping ErrUsernameTaken", err)
		}
	}
	if succeeded != 1 {
		t.Errorf("%d of %d concurrent Create calls succeeded, want 1", succeeded, attempts)
	}
}

func TestAuthenticate(t *testing.T) {
	d, st := newTestDirectory(t)
	ctx := context.Background()

	mustCreate(t, d, "alice", "correct horse")
	disabled := mustCreate(t, d, "dave", "correct horse")
	if err := d.Disable(ctx, disabled.ID); err != nil {
		t.Fatalf("Disable() error = %v", err)
	}
	if _, err := d.Create(ctx, NewUser{Username: "erin", Password: "correct horse", PasswordChangeRequired: true}); err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	noPassword := &storage.User{ID: "no-password", Subject: "sub-no-password", Username: "frank"}
	if err := st.CreateUser(ctx, noPassword); err != nil {
		t.Fatalf("CreateUser() error = %v", err)
	}

	tests := []struct {
		name     string
		username string
		password string
		wantErr  error
	}{
		{name: "right password", username: "alice", password: "correct horse"},
		{name: "password change required", username: "erin", password: "correct horse"},
		{name: "wrong password", username: "alice", password: "correct horsE", wantErr: ErrInvalidCredentials},
		{name: "empty password", username: "alice", password: "", wantErr: ErrInvalidCredentials},
		{name: "unknown user", username: "mallory", password: "correct horse", wantErr: ErrInvalidCredentials},
		{name: "username case differs", username: "Alice", password: "correct horse", wantErr: ErrInvalidCredentials},
		{name: "disabled right password", username: "dave", password: "correct horse", wantErr: ErrInvalidCredentials},
		{name: "disabled wrong password", username: "dave", password: "wrong password", wantErr: ErrInvalidCredentials},
		{name: "no password set", username: "frank", password: "", wantErr: ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := d.Authenticate(ctx, tt.username, tt.password)
			if tt.wantErr != nil {
				if err != tt.wantErr {
					t.Errorf("Authenticate() error = %v, want exactly %v", err, tt.wantErr)
				}
				if u != nil {
					t.Errorf("Authenticate() user = %q, want nil", u.Username)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate() error = %v", err)
			}
			if u.Username != tt.username {
				t.Errorf("Authenticate() user = %q, want %q", u.Username, tt.username)
			}
		})
	}
}

func TestAuthenticateMalformedHash(t *testing.T) {
	d, st := newTestDirectory(t)
	ctx := context.Background()
	u := &storage.User{ID: "broken", Subject: "sub-broken", Username: "grace", PasswordHash: "$2a$10$notargon"}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser() error = %v", err)
	}

	_, err := d.Authenticate(ctx, "grace", "correct horse")
	if errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("Authenticate() error = %v, want a server error rather than ErrInvalidCredentials", err)
	}
	if !errors.Is(err, errMalformedHash) {
		t.Errorf("Authenticate() error = %v, want one wrapping %v", err, errMalformedHash)
	}
}

func TestAuthenticateStorageFailure(t *testing.T) {
	d, st := newTestDirectory(t)
	mustCreate(t, d, "alice", "correct horse")
	if err := st.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}

	_, err := d.Authenticate(context.Background(), "alice", "correct horse")
	if err == nil {
		t.Fatal("Authenticate() on a closed store: error = nil, want the storage error")
	}
	if errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("Authenticate() on a closed store: error = %v, want the storage error rather than ErrInvalidCredentials", err)
	}
}

func TestAuthenticateCanceledContext(t *testing.T) {
	d, _ := newTestDirectory(t)
	mustCreate(t, d, "alice", "correct horse")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, username := range []string{"alice", "mallory"} {
		_, err := d.Authenticate(ctx, username, "correct horse")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Authenticate(%q) with a canceled context: error = %v, want context.Canceled", username, err)
		}
	}
}

func TestAuthenticateRehashes(t *testing.T) {
	d, st := newTestDirectory(t)
	ctx := context.Background()

	weak := &Directory{Store: st, Hasher: NewHasher(Params{Memory: 32, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, 1)}
	created, err := weak.Create(ctx, NewUser{Username: "alice", Password: "correct horse"})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	if !d.Hasher.NeedsRehash(created.PasswordHash) {
		t.Fatalf("NeedsRehash(%q) = false, want true for the test to mean anything", created.PasswordHash)
	}

	u, err := d.Authenticate(ctx, "alice", "correct horse")
	if err != nil {
		t.Fatalf("Authenticate() error = %v", err)
	}
	stored, err := st.User(ctx, created.ID)
	if err != nil {
		t.Fatalf("User() error = %v", err)
	}
	if !strings.HasPrefix(stored.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("stored hash after sign-in = %q, want one made with the Hasher's params", stored.PasswordHash)
	}
	if u.PasswordHash != stored.PasswordHash {
		t.Errorf("returned user's hash = %q, want the new stored hash %q", u.PasswordHash, stored.PasswordHash)
	}
	if _, err := d.Authenticate(ctx, "alice", "correct horse"); err != nil {
		t.Errorf("Authenticate() with the new hash: error = %v", err)
	}
}

// failingUpdateStore is a real store whose UpdateUser always fails.
type failingUpdateStore struct {
	*storage.Store
}

func (failingUpdateStore) UpdateUser(context.Context, *storage.User) error {
	return errors.New("disk full")
}

func TestAuthenticateRehashFailureIgnored(t *testing.T) {
	st := newTestStore(t)
	ctx := context.Background()
	weak := &Directory{Store: st, Hasher: NewHasher(Params{Memory: 32, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, 1)}
	created, err := weak.Create(ctx, NewUser{Username: "alice", Password: "correct horse"})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}

	var logs bytes.Buffer
	d := &Directory{
		Store:  failingUpdateStore{st},
		Hasher: NewHasher(testParams, 1),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	if _, err := d.Authenticate(ctx, "alice", "correct horse"); err != nil {
		t.Fatalf("Authenticate() with a failing rehash save: error = %v, want nil", err)
	}

	stored, err := st.User(ctx, created.ID)
	if err != nil {
		t.Fatalf("User() error = %v", err)
	}
	if stored.PasswordHash != created.PasswordHash {
		t.Errorf("stored hash changed to %q although the save failed", stored.PasswordHash)
	}
	line := logs.String()
	if !strings.Contains(line, "rehash password failed") || !strings.Contains(line, "user_id="+created.ID) || !strings.Contains(line, "disk full") {
		t.Errorf("log = %q, want the rehash failure with user_id and err", line)
	}
	if strings.Contains(line, "correct horse") {
		t.Errorf("log = %q contains the password", line)
	}
}

func TestSetPassword(t *testing.T) {
	d, st := newTestDirectory(t)
	ctx := context.Background()
	created, err := d.Create(ctx, NewUser{Username: "alice", Password: "first password", PasswordChangeRequired: true})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	other := mustCreate(t, d, "bob", "bobs password")
	session := startLoginSession(t, st, created)
	otherSession := startLoginSession(t, st, other)

	if err := d.SetPassword(ctx, created.ID, "second password"); err != nil {
		t.Fatalf("SetPassword() error = %v", err)
	}

	if _, err := d.Authenticate(ctx, "alice", "first password"); err != ErrInvalidCredentials {
		t.Errorf("Authenticate(old password) error = %v, want ErrInvalidCredentials", err)
	}
	u, err := d.Authenticate(ctx, "alice", "second password")
	if err != nil {
		t.Fatalf("Authenticate(new password) error = %v", err)
	}
	if u.PasswordChangeRequired {
		t.Error("PasswordChangeRequired = true after SetPassword, want false")
	}
	if hasLoginSession(t, st, session) {
		t.Error("login session still exists after SetPassword")
	}
	if !hasLoginSession(t, st, otherSession) {
		t.Error("another user's login session was deleted by SetPassword")
	}
}

func TestSetPasswordRejects(t *testing.T) {
	d, _ := newTestDirectory(t)
	created := mustCreate(t, d, "alice", "first password")

	err := d.SetPassword(context.Background(), created.ID, "short")
	checkError(t, "SetPassword", err, "minimum is 8")

	err = d.SetPassword(context.Background(), "no-such-id", "long enough")
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("SetPassword(unknown id) error = %v, want one wrapping storage.ErrNotFound", err)
	}
}

func TestDisableEnable(t *testing.T) {
	d, st := newTestDirectory(t)
	ctx := context.Background()
	created := mustCreate(t, d, "alice", "correct horse")
	session := startLoginSession(t, st, created)

	if err := d.Disable(ctx, created.ID); err != nil {
		t.Fatalf("Disable() error = %v", err)
	}
	stored, err := st.User(ctx, created.ID)
	if err != nil {
		t.Fatalf("User() error = %v", err)
	}
	if !stored.Disabled {
		t.Error("Disabled = false after Disable")
	}
	if hasLoginSession(t, st, session) {
		t.Error("login session still exists after Disable")
	}
	if _, err := d.Authenticate(ctx, "alice", "correct horse"); err != ErrInvalidCredentials {
		t.Errorf("Authenticate(disabled user) error = %v, want ErrInvalidCredentials", err)
	}

	if err := d.Enable(ctx, created.ID); err != nil {
		t.Fatalf("Enable() error = %v", err)
	}
	if _, err := d.Authenticate(ctx, "alice", "correct horse"); err != nil {
		t.Errorf("Authenticate(enabled user) error = %v, want nil", err)
	}

	for name, call := range map[string]func(context.Context, string) error{"Disable": d.Disable, "Enable": d.Enable} {
		if err := call(ctx, "no-such-id"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s(unknown id) error = %v, want one wrapping storage.ErrNotFound", name, err)
		}
	}
}

func TestDelete(t *testing.T) {
	d, st := newTestDirectory(t)
	ctx := context.Background()
	created := mustCreate(t, d, "alice", "correct horse")
	session := startLoginSession(t, st, created)

	if err := d.Delete(ctx, created.ID); err != nil {
		t.Fatalf("Delete() error = %v", err)
	}
	if _, err := d.Lookup(ctx, created.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Lookup(deleted id) error = %v, want one wrapping storage.ErrNotFound", err)
	}
	if hasLoginSession(t, st, session) {
		t.Error("login session still exists after Delete")
	}
	if err := d.Delete(ctx, created.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Delete(deleted id) error = %v, want one wrapping storage.ErrNotFound", err)
	}

	// The username is free again.
	mustCreate(t, d, "alice", "correct horse")
}

func TestLookup(t *testing.T) {
	d, _ := newTestDirectory(t)
	alice := mustCreate(t, d, "alice", "correct horse")
	bob := mustCreate(t, d, "bob", "correct horse")

	tests := []struct {
		name   string
		key    string
		wantID string
	}{
		{name: "by id", key: alice.ID, wantID: alice.ID},
		{name: "by username", key: "bob", wantID: bob.ID},
		{name: "by subject not supported", key: alice.Subject},
		{name: "unknown", key: "mallory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := d.Lookup(context.Background(), tt.key)
			if tt.wantID == "" {
				if !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("Lookup(%q) error = %v, want one wrapping storage.ErrNotFound", tt.key, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup(%q) error = %v", tt.key, err)
			}
			if u.ID != tt.wantID {
				t.Errorf("Lookup(%q) ID = %q, want %q", tt.key, u.ID, tt.wantID)
			}
		})
	}
}
