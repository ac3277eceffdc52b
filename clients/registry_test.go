package clients

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/idp/idp/storage"
)

// testNow is the fixed clock of the registry tests.
var testNow = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// newTestStore opens a migrated SQLite store in a temporary directory.
func newTestStore(t *testing.T) *storage.Store {
	t.Helper()
	ctx := context.Background()
	st, err := storage.Open(filepath.Join(t.TempDir(), "idp.db"), storage.Options{
		NewSession: func() fosite.Session { return openid.NewDefaultSession() },
	})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate store: %v", err)
	}
	return st
}

func newTestHasher(t *testing.T) *SecretHasher {
	t.Helper()
	h, err := NewSecretHasher(HashKey{Version: "v1", Key: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// newTestRegistry returns a registry on a fresh store with a fixed clock.
func newTestRegistry(t *testing.T) (*Registry, *storage.Store) {
	t.Helper()
	st := newTestStore(t)
	return &Registry{
		Store:  st,
		Hasher: newTestHasher(t),
		Now:    func() time.Time { return testNow },
	}, st
}

func webAppMetadata() Metadata {
	return Metadata{
		ClientName:   "Web App",
		RedirectURIs: []string{"https://app.example.com/cb"},
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		Scope:        "openid offline_access",
	}
}

func nativeAppMetadata() Metadata {
	return Metadata{
		ClientName:              "Native App",
		RedirectURIs:            []string{"http://127.0.0.1/cb"},
		Scope:                   "openid",
		TokenEndpointAuthMethod: "none",
	}
}

// verifySecret checks that the stored hash of client id accepts secret.
func verifySecret(t *testing.T, st *storage.Store, hasher *SecretHasher, id, secret string) {
	t.Helper()
	ctx := context.Background()
	record, err := st.Client(ctx, id)
	if err != nil {
		t.Fatalf("load client: %v", err)
	}
	if err := hasher.Compare(ctx, record.GetHashedSecret(), []byte(secret)); err != nil {
		t.Errorf("stored hash does not verify the returned secret: %v", err)
	}
	if strings.Contains(record.SecretHash, secret) {
		t.Error("stored hash contains the secret itself")
	}
}

func TestRegistryCreate(t *testing.T) {
	zero := int64(0)
	tests := []struct {
		name       string
		in         Metadata
		wantSecret bool
		want       Metadata
	}{
		{
			name:       "confidential web app",
			in:         webAppMetadata(),
			wantSecret: true,
			want: Metadata{
				ClientIDIssuedAt:         testNow.Unix(),
				ClientSecretExpiresAt:    &zero,
				ClientName:               "Web App",
				RedirectURIs:             []string{"https://app.example.com/cb"},
				GrantTypes:               []string{"authorization_code", "refresh_token"},
				ResponseTypes:            []string{"code"},
				Scope:                    "openid offline_access",
				TokenEndpointAuthMethod:  "client_secret_basic",
				IDTokenSignedResponseAlg: "RS256",
				PKCE:                     "required",
				AllowedCORSOrigins:       []string{},
			},
		},
		{
			name: "public native app",
			in:   nativeAppMetadata(),
			want: Metadata{
				ClientIDIssuedAt:         testNow.Unix(),
				ClientName:               "Native App",
				RedirectURIs:             []string{"http://127.0.0.1/cb"},
				GrantTypes:               []string{"authorization_code"},
				ResponseTypes:            []string{"code"},
				Scope:                    "openid",
				TokenEndpointAuthMethod:  "none",
				IDTokenSignedResponseAlg: "RS256",
				PKCE:                     "required",
				AllowedCORSOrigins:       []string{},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			reg, st := newTestRegistry(t)

			got, err := reg.Create(ctx, tt.in)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if len(got.ClientID) != 32 {
				t.Errorf("ClientID = %q, want 32 hex characters", got.ClientID)
			}
			if tt.wantSecret != (got.ClientSecret != "") {
				t.Errorf("ClientSecret set = %v, want %v", got.ClientSecret != "", tt.wantSecret)
			}
			opts := cmpopts.IgnoreFields(Metadata{}, "ClientID", "ClientSecret")
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("Create result mismatch (-want +got):\n%s", diff)
			}

			record, err := st.Client(ctx, got.ClientID)
			if err != nil {
				t.Fatalf("created client not stored: %v", err)
			}
			if record.Public == tt.wantSecret {
				t.Errorf("record Public = %v, want %v", record.Public, !tt.wantSecret)
			}
			if tt.wantSecret {
				verifySecret(t, st, reg.Hasher, got.ClientID, got.ClientSecret)
			} else if record.SecretHash != "" {
				t.Errorf("public client has SecretHash %q, want none", record.SecretHash)
			}

			fetched, err := reg.Get(ctx, got.ClientID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			wantFetched := got
			wantFetched.ClientSecret = ""
			wantFetched.ClientSecretExpiresAt = nil
			if diff := cmp.Diff(wantFetched, fetched); diff != "" {
				t.Errorf("Get after Create mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRegistryCreateRejects(t *testing.T) {
	one := int64(1)
	tests := []struct {
		name      string
		change    func(m *Metadata)
		wantField string
	}{
		{name: "client_id given", change: func(m *Metadata) { m.ClientID = "chosen" }, wantField: "client_id"},
		{name: "client_secret given", change: func(m *Metadata) { m.ClientSecret = "chosen-secret" }, wantField: "client_secret"},
		{name: "issued_at given", change: func(m *Metadata) { m.ClientIDIssuedAt = 1 }, wantField: "client_id_issued_at"},
		{name: "expires_at given", change: func(m *Metadata) { m.ClientSecretExpiresAt = &one }, wantField: "client_secret_expires_at"},
		{name: "invalid redirect URI", change: func(m *Metadata) { m.RedirectURIs = []string{"https://*.example.com/cb"} }, wantField: "redirect_uris[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			reg, st := newTestRegistry(t)
			m := webAppMetadata()
			tt.change(&m)

			_, err := reg.Create(ctx, m)
			var fieldErr *FieldError
			if !errors.As(err, &fieldErr) {
				t.Fatalf("Create error = %v, want a *FieldError", err)
			}
			if fieldErr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", fieldErr.Field, tt.wantField)
			}
			if strings.Contains(err.Error(), "chosen-secret") {
				t.Errorf("error %q repeats the submitted secret", err)
			}
			list, err := st.ListClients(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 0 {
				t.Errorf("rejected Create stored %d clients", len(list))
			}
		})
	}
}

func TestRegistryCreateWithoutHasher(t *testing.T) {
	ctx := context.Background()
	reg, _ := newTestRegistry(t)
	reg.Hasher = nil

	if _, err := reg.Create(ctx, webAppMetadata()); err == nil {
		t.Error("Create of a confidential client without a hasher succeeded")
	}
	if _, err := reg.Create(ctx, nativeAppMetadata()); err != nil {
		t.Errorf("Create of a public client without a hasher: %v", err)
	}
}

func TestRegistryKnownScope(t *testing.T) {
	ctx := context.Background()
	reg, _ := newTestRegistry(t)
	reg.Validate.KnownScope = func(s string) bool { return s == "openid" || s == "offline_access" }

	m := webAppMetadata()
	m.Scope = "openid offline_access payroll"
	_, err := reg.Create(ctx, m)
	if err == nil || !strings.Contains(err.Error(), `"payroll" is not a known scope`) {
		t.Errorf("Create error = %v, want the unknown scope named", err)
	}
}

func TestRegistryNotFound(t *testing.T) {
	ctx := context.Background()
	reg, _ := newTestRegistry(t)

	tests := []struct {
		name string
		call func() error
	}{
		{name: "get", call: func() error { _, err := reg.Get(ctx, "missing"); return err }},
		{name: "update", call: func() error { _, err := reg.Update(ctx, "missing", webAppMetadata()); return err }},
		{name: "rotate", call: func() error { _, err := reg.RotateSecret(ctx, "missing"); return err }},
		{name: "delete", call: func() error { return reg.Delete(ctx, "missing") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("error = %v, want one wrapping storage.ErrNotFound", err)
			}
		})
	}
}

func TestRegistryList(t *testing.T) {
	ctx := context.Background()
	reg, _ := newTestRegistry(t)

	empty, err := reg.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if empty == nil || len(empty) != 0 {
		t.Errorf("List of no clients = %#v, want an empty non-nil slice", empty)
	}

	web, err := reg.Create(ctx, webAppMetadata())
	if err != nil {
		t.Fatal(err)
	}
	native, err := reg.Create(ctx, nativeAppMetadata())
	if err != nil {
		t.Fatal(err)
	}

	got, err := reg.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The store orders by name: "Native App" before "Web App".
	web.ClientSecret = ""
	web.ClientSecretExpiresAt = nil
	want := []Metadata{native, web}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}
}

func TestRegistryUpdate(t *testing.T) {
	tests := []struct {
		name   string
		create Metadata
		update func(m *Metadata)
		// wantNewSecret reports whether Update must return a new secret.
		wantNewSecret bool
		// wantHash is "kept", "new" or "none".
		wantHash string
	}{
		{
			name:     "confidential stays confidential",
			create:   webAppMetadata(),
			update:   func(m *Metadata) { m.ClientName = "Renamed"; m.RedirectURIs = []string{"https://new.example.com/cb"} },
			wantHash: "kept",
		},
		{
			name:   "confidential to public",
			create: webAppMetadata(),
			update: func(m *Metadata) {
				m.TokenEndpointAuthMethod = "none"
			},
			wantHash: "none",
		},
		{
			name:   "public to confidential",
			create: nativeAppMetadata(),
			update: func(m *Metadata) {
				m.TokenEndpointAuthMethod = "client_secret_post"
			},
			wantNewSecret: true,
			wantHash:      "new",
		},
		{
			name:     "public stays public",
			create:   nativeAppMetadata(),
			update:   func(m *Metadata) { m.Scope = "" },
			wantHash: "none",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			reg, st := newTestRegistry(t)
			created, err := reg.Create(ctx, tt.create)
			if err != nil {
				t.Fatal(err)
			}
			before, err := st.Client(ctx, created.ClientID)
			if err != nil {
				t.Fatal(err)
			}

			// Edit the output of Get, as an admin would.
			m, err := reg.Get(ctx, created.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			tt.update(&m)
			got, err := reg.Update(ctx, created.ClientID, m)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}

			if tt.wantNewSecret != (got.ClientSecret != "") {
				t.Errorf("Update returned a secret = %v, want %v", got.ClientSecret != "", tt.wantNewSecret)
			}
			if tt.wantNewSecret && (got.ClientSecretExpiresAt == nil || *got.ClientSecretExpiresAt != 0) {
				t.Errorf("ClientSecretExpiresAt = %v, want 0 beside a secret", got.ClientSecretExpiresAt)
			}
			after, err := st.Client(ctx, created.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			switch tt.wantHash {
			case "kept":
				if after.SecretHash != before.SecretHash || after.SecretHash == "" {
					t.Errorf("SecretHash changed from %q to %q, want it kept", before.SecretHash, after.SecretHash)
				}
			case "new":
				verifySecret(t, st, reg.Hasher, created.ClientID, got.ClientSecret)
			case "none":
				if after.SecretHash != "" {
					t.Errorf("SecretHash = %q, want none for a public client", after.SecretHash)
				}
			}

			fetched, err := reg.Get(ctx, created.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			want := got
			want.ClientSecret = ""
			want.ClientSecretExpiresAt = nil
			if diff := cmp.Diff(want, fetched); diff != "" {
				t.Errorf("Get after Update mismatch (-want +got):\n%s", diff)
			}
			if fetched.ClientIDIssuedAt != created.ClientIDIssuedAt {
				t.Errorf("client_id_issued_at changed from %d to %d", created.ClientIDIssuedAt, fetched.ClientIDIssuedAt)
			}
		})
	}
}

func TestRegistryUpdateIsFullReplacement(t *testing.T) {
	ctx := context.Background()
	reg, _ := newTestRegistry(t)
	m := webAppMetadata()
	m.ClientURI = "https://app.example.com"
	m.AllowedCORSOrigins = []string{"https://app.example.com"}
	m.PKCE = "optional"
	created, err := reg.Create(ctx, m)
	if err != nil {
		t.Fatal(err)
	}

	replacement := Metadata{
		ClientName:   "Replaced",
		RedirectURIs: []string{"https://other.example.com/cb"},
	}
	got, err := reg.Update(ctx, created.ClientID, replacement)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want := Metadata{
		ClientID:                 created.ClientID,
		ClientIDIssuedAt:         created.ClientIDIssuedAt,
		ClientName:               "Replaced",
		RedirectURIs:             []string{"https://other.example.com/cb"},
		GrantTypes:               []string{"authorization_code"},
		ResponseTypes:            []string{"code"},
		TokenEndpointAuthMethod:  "client_secret_basic",
		IDTokenSignedResponseAlg: "RS256",
		PKCE:                     "required",
		AllowedCORSOrigins:       []string{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Update result mismatch (-want +got):\n%s", diff)
	}
}

func TestRegistryUpdateRejects(t *testing.T) {
	ctx := context.Background()
	reg, st := newTestRegistry(t)
	created, err := reg.Create(ctx, webAppMetadata())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		change    func(m *Metadata)
		wantField string
	}{
		{name: "other client_id", change: func(m *Metadata) { m.ClientID = "someone-else" }, wantField: "client_id"},
		{name: "client_secret given", change: func(m *Metadata) { m.ClientSecret = "chosen" }, wantField: "client_secret"},
		{name: "invalid metadata", change: func(m *Metadata) { m.ClientName = "" }, wantField: "client_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := webAppMetadata()
			tt.change(&m)
			_, err := reg.Update(ctx, created.ClientID, m)
			var fieldErr *FieldError
			if !errors.As(err, &fieldErr) {
				t.Fatalf("Update error = %v, want a *FieldError", err)
			}
			if fieldErr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", fieldErr.Field, tt.wantField)
			}
			record, err := st.Client(ctx, created.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			if record.Name != "Web App" {
				t.Errorf("rejected Update changed the name to %q", record.Name)
			}
		})
	}
}

func TestRegistryRotateSecret(t *testing.T) {
	ctx := context.Background()
	reg, st := newTestRegistry(t)
	created, err := reg.Create(ctx, webAppMetadata())
	if err != nil {
		t.Fatal(err)
	}

	// Disable the secret, as the plain-HTTP tripwire does.
	record, err := st.Client(ctx, created.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	record.SecretDisabled = true
	if err := st.UpdateClient(ctx, record); err != nil {
		t.Fatal(err)
	}

	rotated, err := reg.RotateSecret(ctx, created.ClientID)
	if err != nil {
		t.Fatalf("RotateSecret: %v", err)
	}
	if rotated.ClientSecret == "" || rotated.ClientSecret == created.ClientSecret {
		t.Fatalf("RotateSecret returned secret %q, want a new one", rotated.ClientSecret)
	}
	if rotated.ClientSecretExpiresAt == nil || *rotated.ClientSecretExpiresAt != 0 {
		t.Errorf("ClientSecretExpiresAt = %v, want 0", rotated.ClientSecretExpiresAt)
	}

	record, err = st.Client(ctx, created.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if record.SecretDisabled {
		t.Error("SecretDisabled still set after rotation")
	}
	verifySecret(t, st, reg.Hasher, created.ClientID, rotated.ClientSecret)
	if err := reg.Hasher.Compare(ctx, record.GetHashedSecret(), []byte(created.ClientSecret)); err == nil {
		t.Error("old secret still verifies after rotation")
	}

	want := created
	want.ClientSecret = rotated.ClientSecret
	if diff := cmp.Diff(want, rotated); diff != "" {
		t.Errorf("RotateSecret changed metadata (-want +got):\n%s", diff)
	}
}

func TestRegistryRotateSecretPublic(t *testing.T) {
	ctx := context.Background()
	reg, st := newTestRegistry(t)
	created, err := reg.Create(ctx, nativeAppMetadata())
	if err != nil {
		t.Fatal(err)
	}

	_, err = reg.RotateSecret(ctx, created.ClientID)
	if !errors.Is(err, ErrPublicClient) {
		t.Fatalf("RotateSecret error = %v, want ErrPublicClient", err)
	}
	record, err := st.Client(ctx, created.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if record.SecretHash != "" {
		t.Errorf("public client got SecretHash %q", record.SecretHash)
	}
}

func TestRegistryDelete(t *testing.T) {
	ctx := context.Background()
	reg, _ := newTestRegistry(t)
	created, err := reg.Create(ctx, webAppMetadata())
	if err != nil {
		t.Fatal(err)
	}

	if err := reg.Delete(ctx, created.ClientID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := reg.Get(ctx, created.ClientID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want storage.ErrNotFound", err)
	}
	if err := reg.Delete(ctx, created.ClientID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second Delete = %v, want storage.ErrNotFound", err)
	}
}
