package provider

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// decodedTestSession returns a session with every field set, as storage
// gets it back from JSON.
func decodedTestSession(t *testing.T) *Session {
	t.Helper()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s := &Session{
		DefaultSession: &openid.DefaultSession{
			Claims: &jwt.IDTokenClaims{
				JTI: "jti", Issuer: "https://idp.example.com", Subject: "sub-1",
				Audience: []string{"app"}, Nonce: "nonce",
				ExpiresAt: now, IssuedAt: now, RequestedAt: now, AuthTime: now,
				AccessTokenHash: "at", AuthenticationContextClassReference: "acr",
				AuthenticationMethodsReferences: []string{"pwd"}, CodeHash: "c",
				Extra: map[string]any{"nested": map[string]any{"list": []any{"a", 1.0}}},
			},
			Headers:   &jwt.Headers{Extra: map[string]any{"kid": "key-1"}},
			ExpiresAt: map[fosite.TokenType]time.Time{fosite.AccessToken: now},
			Username:  "alice",
			Subject:   "sub-1",
		},
		UserID: "user-1", SID: "sid-1", AuthTime: now, FamilyExpiresAt: now,
		CodeChallenge: "challenge", CodeChallengeMethod: "S256",
		GrantScopes: []string{"openid"},
	}
	encoded, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("encode session: %v", err)
	}
	decoded := NewSession()
	if err := json.Unmarshal(encoded, decoded); err != nil {
		t.Fatalf("decode session: %v", err)
	}
	return decoded
}

func TestSessionCopyFrom(t *testing.T) {
	t.Parallel()
	src := decodedTestSession(t)
	want, err := json.Marshal(src)
	if err != nil {
		t.Fatalf("encode source: %v", err)
	}

	dst := NewSession()
	if !dst.CopyFrom(src) {
		t.Fatal("CopyFrom(*Session) = false, want true")
	}
	got, err := json.Marshal(dst)
	if err != nil {
		t.Fatalf("encode copy: %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("copy differs from source (-source +copy):\n%s", diff)
	}

	// Changing the copy must leave the source alone.
	dst.GrantScopes[0] = "changed"
	dst.Claims.Audience[0] = "changed"
	dst.Claims.AuthenticationMethodsReferences[0] = "changed"
	dst.Claims.Extra["nested"].(map[string]any)["list"].([]any)[0] = "changed"
	dst.Headers.Extra["kid"] = "changed"
	dst.ExpiresAt[fosite.AccessToken] = time.Time{}
	dst.Username = "changed"
	after, err := json.Marshal(src)
	if err != nil {
		t.Fatalf("encode source again: %v", err)
	}
	if diff := cmp.Diff(string(want), string(after)); diff != "" {
		t.Errorf("changing the copy changed the source (-before +after):\n%s", diff)
	}

	if dst.CopyFrom(openid.NewDefaultSession()) {
		t.Error("CopyFrom(*openid.DefaultSession) = true, want false")
	}
}

// TestSessionCopyFields fails when a fosite upgrade adds a field that
// CopyFrom may need to deep-copy.
func TestSessionCopyFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value any
		want  []string
	}{
		{Session{}, []string{"DefaultSession", "UserID", "SID", "AuthTime", "FamilyExpiresAt",
			"CodeChallenge", "CodeChallengeMethod", "GrantScopes"}},
		{openid.DefaultSession{}, []string{"Claims", "Headers", "ExpiresAt", "Username", "Subject"}},
		{jwt.IDTokenClaims{}, []string{"JTI", "Issuer", "Subject", "Audience", "Nonce", "ExpiresAt",
			"IssuedAt", "RequestedAt", "AuthTime", "AccessTokenHash", "AuthenticationContextClassReference",
			"AuthenticationMethodsReferences", "CodeHash", "Extra"}},
		{jwt.Headers{}, []string{"Extra"}},
	}
	for _, tc := range tests {
		typ := reflect.TypeOf(tc.value)
		var got []string
		for i := range typ.NumField() {
			got = append(got, typ.Field(i).Name)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("fields of %v = %v, want %v; check that Session.CopyFrom copies the new ones deeply", typ, got, tc.want)
		}
	}
}
