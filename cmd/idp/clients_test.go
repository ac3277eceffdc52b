package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idp/idp/clients"
)

// decodeClient parses the JSON output of a clients command.
func decodeClient(t *testing.T, r result) clients.Metadata {
	t.Helper()
	var m clients.Metadata
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("output is not client JSON: %v\n%s", err, r.stdout)
	}
	return m
}

func TestClientsRoundTrip(t *testing.T) {
	in := invocation{env: testEnv(t)}

	// Create prints the secret once, with a notice on stderr so that
	// stdout stays JSON.
	r := runIDP(t, in, "clients", "create",
		"--name", "Example App",
		"--redirect-uri", "https://app.example.com/callback",
		"--scope", "openid profile offline_access",
		"--grant-type", "authorization_code,refresh_token",
		"--client-uri", "https://app.example.com",
		"--json")
	wantCode(t, r, 0)
	created := decodeClient(t, r)
	if created.ClientID == "" || created.ClientSecret == "" {
		t.Fatalf("create returned client_id %q and a secret of %d bytes, want both",
			created.ClientID, len(created.ClientSecret))
	}
	wantContains(t, "stderr", r.stderr, secretNotice)
	id := created.ClientID

	// Show takes flags after the ID and never prints the secret.
	r = runIDP(t, in, "clients", "show", id, "--json")
	wantCode(t, r, 0)
	shown := decodeClient(t, r)
	if shown.ClientSecret != "" {
		t.Error("show printed the client secret")
	}
	want := created
	want.ClientSecret = ""
	want.ClientSecretExpiresAt = nil
	if diff := cmp.Diff(want, shown); diff != "" {
		t.Errorf("show differs from create (-want +got):\n%s", diff)
	}

	// Update changes only the flags given.
	r = runIDP(t, in, "clients", "update", id,
		"--name", "Renamed App",
		"--add-redirect-uri", "https://app.example.com/other",
		"--json")
	wantCode(t, r, 0)
	updated := decodeClient(t, r)
	if updated.ClientName != "Renamed App" {
		t.Errorf("client_name = %q, want Renamed App", updated.ClientName)
	}
	wantURIs := []string{"https://app.example.com/callback", "https://app.example.com/other"}
	if diff := cmp.Diff(wantURIs, updated.RedirectURIs); diff != "" {
		t.Errorf("redirect_uris (-want +got):\n%s", diff)
	}
	if updated.Scope != "openid profile offline_access" || updated.ClientURI != "https://app.example.com" {
		t.Errorf("update changed fields it was not given: scope %q, client_uri %q",
			updated.Scope, updated.ClientURI)
	}

	r = runIDP(t, in, "clients", "update", id, "--remove-redirect-uri", "https://app.example.com/callback", "--json")
	wantCode(t, r, 0)
	if got := decodeClient(t, r).RedirectURIs; !slices.Equal(got, wantURIs[1:]) {
		t.Errorf("after remove, redirect_uris = %q, want %q", got, wantURIs[1:])
	}

	// Rotation prints a new secret.
	r = runIDP(t, in, "clients", "rotate-secret", id, "--json")
	wantCode(t, r, 0)
	rotated := decodeClient(t, r)
	if rotated.ClientSecret == "" || rotated.ClientSecret == created.ClientSecret {
		t.Error("rotate-secret did not print a new secret")
	}
	wantContains(t, "stderr", r.stderr, secretNotice)

	r = runIDP(t, in, "clients", "list")
	wantCode(t, r, 0)
	wantContains(t, "list", r.stdout, "CLIENT ID", id, "Renamed App", "confidential")

	r = runIDP(t, in, "clients", "delete", id)
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "deleted client "+id)

	r = runIDP(t, in, "clients", "show", id)
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "no client has the ID", id)

	r = runIDP(t, in, "clients", "list", "--json")
	wantCode(t, r, 0)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list --json of no clients = %q, want []", r.stdout)
	}
}

func TestClientsCreateText(t *testing.T) {
	in := invocation{env: testEnv(t)}
	r := runIDP(t, in, "clients", "create",
		"--name", "Text App",
		"--redirect-uri", "https://app.example.com/a",
		"--redirect-uri", "https://app.example.com/b",
		"--scope", "openid")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout,
		"Client ID:",
		"Name:",
		"Text App",
		"https://app.example.com/a\n",
		"https://app.example.com/b\n",
		"Client secret:",
		secretNotice,
	)
}

func TestClientsCreatePublic(t *testing.T) {
	in := invocation{env: testEnv(t)}
	r := runIDP(t, in, "clients", "create", "--json", "--public",
		"--name", "Native App", "--redirect-uri", "http://127.0.0.1/callback", "--scope", "openid")
	wantCode(t, r, 0)
	m := decodeClient(t, r)
	if m.TokenEndpointAuthMethod != "none" || m.ClientSecret != "" {
		t.Errorf("public client: auth method %q, secret of %d bytes; want none and no secret",
			m.TokenEndpointAuthMethod, len(m.ClientSecret))
	}

	r = runIDP(t, in, "clients", "rotate-secret", m.ClientID)
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "is public", "--token-endpoint-auth-method")
}

func TestClientsErrors(t *testing.T) {
	env := testEnv(t)
	noSecret := testEnv(t)
	delete(noSecret, "IDP_SYSTEM_SECRET")

	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		want     []string
	}{
		{
			name:     "invalid redirect URI",
			env:      env,
			args:     []string{"clients", "create", "--name", "A", "--redirect-uri", "http://app.example.com/cb"},
			wantCode: 1,
			want:     []string{"--redirect-uri", "redirect_uris[0]"},
		},
		{
			name:     "unknown scope",
			env:      env,
			args:     []string{"clients", "create", "--name", "A", "--redirect-uri", "https://a.example/cb", "--scope", "openid nonsense"},
			wantCode: 1,
			want:     []string{"--scope", "nonsense"},
		},
		{
			name:     "no system secret",
			env:      noSecret,
			args:     []string{"clients", "create", "--name", "A", "--redirect-uri", "https://a.example/cb"},
			wantCode: 1,
			want:     []string{"no system secret", "openssl rand"},
		},
		{
			name:     "public and a secret method",
			env:      env,
			args:     []string{"clients", "create", "--name", "A", "--public", "--token-endpoint-auth-method", "client_secret_post"},
			wantCode: 2,
			want:     []string{"--public contradicts"},
		},
		{
			name:     "update without changes",
			env:      env,
			args:     []string{"clients", "update", "some-id", "--json"},
			wantCode: 2,
			want:     []string{"nothing to update"},
		},
		{
			name:     "show without ID",
			env:      env,
			args:     []string{"clients", "show"},
			wantCode: 2,
			want:     []string{"missing client ID", "Run 'idp clients show -h' for usage."},
		},
		{
			name:     "show with two IDs",
			env:      env,
			args:     []string{"clients", "show", "a", "b"},
			wantCode: 2,
			want:     []string{"too many arguments"},
		},
		{
			name:     "update unknown client",
			env:      env,
			args:     []string{"clients", "update", "nope", "--name", "B"},
			wantCode: 1,
			want:     []string{`no client has the ID "nope"`},
		},
		{
			name:     "delete unknown client",
			env:      env,
			args:     []string{"clients", "delete", "nope"},
			wantCode: 1,
			want:     []string{`no client has the ID "nope"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runIDP(t, invocation{env: tt.env}, tt.args...)
			wantCode(t, r, tt.wantCode)
			wantContains(t, "stderr", r.stderr, tt.want...)
		})
	}
}

func TestClientsCustomScopeFromConfig(t *testing.T) {
	env := testEnv(t)
	env["IDP_CONFIG"] = writeFile(t, "idp.yaml", "scopes:\n  - name: api:read\n    description: Read your data\n")
	r := runIDP(t, invocation{env: env}, "clients", "create", "--json",
		"--name", "API App", "--redirect-uri", "https://a.example/cb", "--scope", "openid api:read")
	wantCode(t, r, 0)
	if got := decodeClient(t, r).Scope; got != "openid api:read" {
		t.Errorf("scope = %q, want %q", got, "openid api:read")
	}
}

func TestEditList(t *testing.T) {
	got, err := editList([]string{"a", "b"}, []string{"c", "a"}, []string{"b"}, "item")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "c"}, got); diff != "" {
		t.Errorf("editList (-want +got):\n%s", diff)
	}
	if _, err := editList([]string{"a"}, nil, []string{"x"}, "item"); err == nil {
		t.Error("editList removed a missing item without an error")
	}
}
