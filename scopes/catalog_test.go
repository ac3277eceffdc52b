package scopes

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuiltinClaims(t *testing.T) {
	// The claim lists of OpenID Connect Core 1.0 section 5.4.
	want := map[string][]string{
		"openid": nil,
		"profile": {
			"name", "family_name", "given_name", "middle_name", "nickname",
			"preferred_username", "profile", "picture", "website", "gender",
			"birthdate", "zoneinfo", "locale", "updated_at",
		},
		"email":          {"email", "email_verified"},
		"address":        {"address"},
		"phone":          {"phone_number", "phone_number_verified"},
		"offline_access": nil,
	}

	got := make(map[string][]string)
	for _, s := range Builtin() {
		if strings.TrimSpace(s.Description) == "" {
			t.Errorf("builtin scope %q has no description", s.Name)
		}
		got[s.Name] = s.Claims
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Builtin() claims mismatch (-want +got):\n%s", diff)
	}
}

func TestNewCatalogAccepts(t *testing.T) {
	tests := []struct {
		name   string
		custom []Scope
	}{
		{name: "no custom scopes", custom: nil},
		{name: "plain name", custom: []Scope{{Name: "photos.read", Description: "Read your photos"}}},
		{name: "url name", custom: []Scope{{Name: "https://api.example.com/orders:write", Description: "Place orders"}}},
		{name: "every allowed punctuation", custom: []Scope{{Name: "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", Description: "Odd but valid"}}},
		{name: "maximum length", custom: []Scope{{Name: strings.Repeat("a", MaxNameLength), Description: "Long"}}},
		{name: "several", custom: []Scope{
			{Name: "a", Description: "A"},
			{Name: "b", Description: "B"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCatalog(tt.custom); err != nil {
				t.Fatalf("NewCatalog() error = %v, want nil", err)
			}
		})
	}
}

func TestNewCatalogRejects(t *testing.T) {
	tests := []struct {
		name    string
		custom  []Scope
		wantErr string
	}{
		{name: "empty name", custom: []Scope{{Description: "x"}}, wantErr: "name is empty"},
		{name: "too long", custom: []Scope{{Name: strings.Repeat("a", MaxNameLength+1), Description: "x"}}, wantErr: "maximum is 100"},
		{name: "space", custom: []Scope{{Name: "read write", Description: "x"}}, wantErr: "not allowed"},
		{name: "double quote", custom: []Scope{{Name: `a"b`, Description: "x"}}, wantErr: "not allowed"},
		{name: "backslash", custom: []Scope{{Name: `a\b`, Description: "x"}}, wantErr: "not allowed"},
		{name: "control character", custom: []Scope{{Name: "a\tb", Description: "x"}}, wantErr: "not allowed"},
		{name: "non-ASCII", custom: []Scope{{Name: "fotos.lé", Description: "x"}}, wantErr: "not allowed"},
		{name: "builtin name", custom: []Scope{{Name: "email", Description: "x"}}, wantErr: "builtin scope"},
		{name: "offline alias", custom: []Scope{{Name: "offline", Description: "x"}}, wantErr: "reserved"},
		{name: "duplicate", custom: []Scope{
			{Name: "photos", Description: "x"},
			{Name: "photos", Description: "y"},
		}, wantErr: "more than once"},
		{name: "missing description", custom: []Scope{{Name: "photos"}}, wantErr: "description is missing"},
		{name: "blank description", custom: []Scope{{Name: "photos", Description: " \t"}}, wantErr: "description is missing"},
		{name: "claims", custom: []Scope{{Name: "photos", Description: "x", Claims: []string{"email"}}}, wantErr: "claims"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCatalog(tt.custom)
			if err == nil {
				t.Fatalf("NewCatalog() error = nil, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewCatalog() error = %q, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func newTestCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := NewCatalog([]Scope{
		{Name: "photos.read", Description: "  Read your photos "},
		{Name: "calendar", Description: "Manage your calendar"},
	})
	if err != nil {
		t.Fatalf("NewCatalog() error = %v", err)
	}
	return c
}

func TestCatalogNames(t *testing.T) {
	c := newTestCatalog(t)
	want := []string{
		"openid", "profile", "email", "address", "phone", "offline_access",
		"photos.read", "calendar",
	}
	if diff := cmp.Diff(want, c.Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
}

func TestCatalogLookup(t *testing.T) {
	c := newTestCatalog(t)
	tests := []struct {
		name   string
		scope  string
		want   Scope
		wantOK bool
	}{
		{name: "builtin", scope: "email", want: Scope{
			Name:        "email",
			Description: "See your email address and whether it is verified",
			Claims:      []string{"email", "email_verified"},
		}, wantOK: true},
		{name: "custom with trimmed description", scope: "photos.read", want: Scope{
			Name:        "photos.read",
			Description: "Read your photos",
		}, wantOK: true},
		{name: "unknown", scope: "photos.write", wantOK: false},
		{name: "offline alias unknown", scope: "offline", wantOK: false},
		{name: "case differs", scope: "Email", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.Lookup(tt.scope)
			if ok != tt.wantOK {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.scope, ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%q) mismatch (-want +got):\n%s", tt.scope, diff)
			}
			if known := c.Known(tt.scope); known != tt.wantOK {
				t.Errorf("Known(%q) = %v, want %v", tt.scope, known, tt.wantOK)
			}
		})
	}
}

func TestCatalogLookupReturnsCopy(t *testing.T) {
	c := newTestCatalog(t)
	s, _ := c.Lookup("email")
	s.Claims[0] = "changed"

	again, _ := c.Lookup("email")
	if again.Claims[0] != "email" {
		t.Errorf("Lookup(email).Claims[0] = %q after the caller changed a copy, want %q", again.Claims[0], "email")
	}
}

func TestCatalogClaimsSupported(t *testing.T) {
	c := newTestCatalog(t)
	want := []string{
		"address", "at_hash", "aud", "auth_time", "azp", "birthdate",
		"email", "email_verified", "exp", "family_name", "gender",
		"given_name", "iat", "iss", "locale", "middle_name", "name",
		"nickname", "nonce", "phone_number", "phone_number_verified",
		"picture", "preferred_username", "profile", "sid", "sub",
		"updated_at", "website", "zoneinfo",
	}
	if diff := cmp.Diff(want, c.ClaimsSupported()); diff != "" {
		t.Errorf("ClaimsSupported() mismatch (-want +got):\n%s", diff)
	}
}

func TestCatalogDescribe(t *testing.T) {
	c := newTestCatalog(t)
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{name: "given order kept", names: []string{"calendar", "openid", "email"}, want: []string{"calendar", "openid", "email"}},
		{name: "unknown skipped", names: []string{"openid", "nope", "profile"}, want: []string{"openid", "profile"}},
		{name: "repeats skipped", names: []string{"email", "email"}, want: []string{"email"}},
		{name: "empty", names: nil, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []string{}
			for _, s := range c.Describe(tt.names) {
				if s.Description == "" {
					t.Errorf("Describe(%q) returned %q without a description", tt.names, s.Name)
				}
				got = append(got, s.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Describe(%q) names mismatch (-want +got):\n%s", tt.names, diff)
			}
		})
	}
}
