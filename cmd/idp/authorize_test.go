package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/provider"
	"github.com/idp/idp/storage"
)

// pkceChallenge returns the S256 challenge of a verifier.
func pkceChallenge(verifier string) string {
	return oauth2.S256ChallengeFromVerifier(verifier)
}

// authURL builds an authorization URL with PKCE and the given extra
// parameters; an empty value removes a parameter.
func (rp *relyingParty) authURL(verifier string, extra map[string]string) string {
	u, _ := url.Parse(rp.config.AuthCodeURL("state-"+oauth2.GenerateVerifier(),
		oidc.Nonce("nonce-"+oauth2.GenerateVerifier()),
		oauth2.S256ChallengeOption(verifier)))
	q := u.Query()
	for k, v := range extra {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// exchange redeems a code at the token endpoint as rp.
func (rp *relyingParty) exchange(code, verifier string) tokenResponse {
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {rp.config.RedirectURL},
	}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return rp.post(rp.p.issuer+provider.TokenPath, form)
}

func TestAuthorizeErrorPages(t *testing.T) {
	p := newTestProvider(t)
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	verifier := oauth2.GenerateVerifier()

	tests := []struct {
		name  string
		extra map[string]string
		// wantPage is a phrase of the HTML error page.
		wantPage string
	}{
		{"unknown client", map[string]string{"client_id": "no-such-client"}, "not registered"},
		{"mismatched redirect URI", map[string]string{"redirect_uri": "https://evil.example.com/callback"}, "has not registered"},
		{"redirect URI with trailing slash", map[string]string{"redirect_uri": "https://app.example.com/callback/"}, "has not registered"},
		{"redirect URI with userinfo", map[string]string{"redirect_uri": "https://app.example.com@evil.example.com/callback"}, "not allowed"},
		{"redirect URI with fragment", map[string]string{"redirect_uri": "https://app.example.com/callback#x"}, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.newBrowser().get(rp.authURL(verifier, tt.extra))
			if got.status != http.StatusBadRequest {
				t.Fatalf("status: got %d, want 400; location %q", got.status, got.location)
			}
			if got.location != "" {
				t.Errorf("redirected to %q; an unverified redirect URI must never be used", got.location)
			}
			if !strings.Contains(got.body, tt.wantPage) {
				t.Errorf("page lacks %q:\n%s", tt.wantPage, got.body)
			}
		})
	}
}

func TestAuthorizeRedirectedErrors(t *testing.T) {
	p := newTestProvider(t)
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	verifier := oauth2.GenerateVerifier()

	tests := []struct {
		name      string
		extra     map[string]string
		wantError string
	}{
		{"missing PKCE", map[string]string{"code_challenge": "", "code_challenge_method": ""}, "invalid_request"},
		{"plain PKCE", map[string]string{"code_challenge": verifier, "code_challenge_method": "plain"}, "invalid_request"},
		{"PKCE method missing", map[string]string{"code_challenge_method": ""}, "invalid_request"},
		{"scope not registered", map[string]string{"scope": "openid phone"}, "invalid_scope"},
		{"unsupported response type", map[string]string{"response_type": "token"}, "unsupported_response_type"},
		{"request object", map[string]string{"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"},
		{"request URI", map[string]string{"request_uri": "https://evil.example.com/req"}, "request_uri_not_supported"},
		{"prompt none without session", map[string]string{"prompt": "none"}, "login_required"},
		{"prompt none combined", map[string]string{"prompt": "none login"}, "invalid_request"},
		{"bad max_age", map[string]string{"max_age": "-1"}, "invalid_request"},
		{"invalid id_token_hint", map[string]string{"id_token_hint": "not-a-jwt"}, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.newBrowser().get(rp.authURL(verifier, tt.extra))
			if got.status != http.StatusSeeOther {
				t.Fatalf("status: got %d, want 303 to the app:\n%s", got.status, got.body)
			}
			loc, _ := url.Parse(got.location)
			if !strings.HasPrefix(got.location, md.RedirectURIs[0]+"?") {
				t.Fatalf("redirected to %q, want the registered redirect URI", got.location)
			}
			q := loc.Query()
			if q.Get("error") != tt.wantError {
				t.Errorf("error: got %q (%s), want %q", q.Get("error"), q.Get("error_description"), tt.wantError)
			}
			if q.Get("iss") != p.issuer {
				t.Errorf("iss: got %q, want %q", q.Get("iss"), p.issuer)
			}
			if q.Get("state") == "" {
				t.Error("state missing from error redirect")
			}
		})
	}
}

func TestWrongPasswordShowsLoginAgain(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()

	login := b.get(rp.authURL(oauth2.GenerateVerifier(), nil))
	for _, creds := range [][2]string{{"alice", "wrong password"}, {"nobody", testPassword}} {
		got := b.submit(login, url.Values{"username": {creds[0]}, "password": {creds[1]}})
		if got.status != http.StatusUnauthorized {
			t.Errorf("%s: status got %d, want 401", creds[0], got.status)
		}
		if !strings.Contains(got.body, "Incorrect username or password") {
			t.Errorf("%s: page lacks the uniform message:\n%s", creds[0], got.body)
		}
	}
}

func TestDeniedConsentReturnsAccessDenied(t *testing.T) {
	p := newTestProvider(t)
	user := p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	b := p.newBrowser()

	login := b.get(rp.authURL(oauth2.GenerateVerifier(), nil))
	consentPage := b.submit(login, url.Values{"username": {"alice"}, "password": {testPassword}})
	got := b.submit(consentPage, url.Values{"decision": {"deny"}})
	loc, _ := url.Parse(got.location)
	if got.status != http.StatusSeeOther || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("got %d to %q, want a redirect with error=access_denied", got.status, got.location)
	}

	// The denial ended the flow: it can be neither replayed nor approved.
	if replay := b.get(got.url.String()); replay.status != http.StatusBadRequest || replay.location != "" {
		t.Errorf("replayed denial: got %d to %q, want 400 and no redirect", replay.status, replay.location)
	}
	approve := b.submit(consentPage, url.Values{"decision": {"approve"}, "remember": {"on"}})
	if approve.status != http.StatusBadRequest || approve.location != "" {
		t.Errorf("approval after the denial: got %d to %q, want 400 and no redirect", approve.status, approve.location)
	}
	if _, err := p.app.store.Consent(context.Background(), user.ID, md.ClientID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("remembered consent after the denial: got %v, want ErrNotFound", err)
	}
}

func TestConsentDecisionIsFinal(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()

	login := b.get(rp.authURL(oauth2.GenerateVerifier(), nil))
	consentPage := b.submit(login, url.Values{"username": {"alice"}, "password": {testPassword}})
	if got := b.submit(consentPage, url.Values{"decision": {"deny", "approve"}}); got.status != http.StatusForbidden {
		t.Errorf("consent form with a repeated decision: got %d, want 403", got.status)
	}

	// Stop before the authorization endpoint ends the flow, as a second
	// tab posting the same form would.
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if got := b.submit(consentPage, url.Values{"decision": {"deny"}}); got.status != http.StatusSeeOther {
		t.Fatalf("denial: got %d, want 303", got.status)
	}
	got := b.submit(consentPage, url.Values{"decision": {"approve"}})
	if got.status != http.StatusBadRequest || !strings.Contains(got.body, "already answered") {
		t.Errorf("approval after a denial in the same flow: got %d, want 400 saying it was already answered:\n%s", got.status, got.body)
	}
}

func TestConsentFromAnotherBrowserFails(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	victim := p.newBrowser()
	login := victim.get(rp.authURL(oauth2.GenerateVerifier(), nil))
	consentPage := victim.submit(login, url.Values{"username": {"alice"}, "password": {testPassword}})

	// An attacker replays the victim's consent form, CSRF token
	// included, from a cookie jar of their own.
	attacker := p.newBrowser()
	attacker.get(rp.authURL(oauth2.GenerateVerifier(), nil))
	got := attacker.submit(consentPage, url.Values{"decision": {"approve"}})
	if got.status == http.StatusSeeOther && strings.Contains(got.location, "code=") {
		t.Fatalf("consent replayed from another browser issued a code: %s", got.location)
	}
}

func TestConsentRemembered(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{Scope: "openid profile email offline_access"})
	rp := p.newRelyingParty(md)
	b := p.newBrowser()

	first := signIn(t, b, rp.authURL(oauth2.GenerateVerifier(), map[string]string{"scope": "openid profile"}), "alice", testPassword)
	if first.Query().Get("code") == "" {
		t.Fatalf("first sign-in: no code in %s", first)
	}

	tests := []struct {
		name   string
		extra  map[string]string
		wantTo string // "app" for a code, "consent" for the consent page
	}{
		{"same scopes skip consent", map[string]string{"scope": "openid profile"}, "app"},
		{"fewer scopes skip consent", map[string]string{"scope": "openid"}, "app"},
		{"new scope asks again", map[string]string{"scope": "openid email"}, "consent"},
		{"prompt consent always asks", map[string]string{"scope": "openid", "prompt": "consent"}, "consent"},
		{"offline_access always asks", map[string]string{"scope": "openid offline_access"}, "consent"},
		{"prompt none with consent", map[string]string{"scope": "openid profile", "prompt": "none"}, "app"},
		{"prompt login shows login", map[string]string{"scope": "openid", "prompt": "login"}, "login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := b.get(rp.authURL(oauth2.GenerateVerifier(), tt.extra))
			switch tt.wantTo {
			case "app":
				if got.status != http.StatusSeeOther || !strings.Contains(got.location, "code=") {
					t.Fatalf("got %d at %s (%s), want a code", got.status, got.url, got.location)
				}
			case "consent":
				if !strings.Contains(got.body, `name="decision"`) {
					t.Fatalf("got %d at %s, want the consent page", got.status, got.url)
				}
			case "login":
				if !strings.Contains(got.body, `name="password"`) {
					t.Fatalf("got %d at %s, want the login page", got.status, got.url)
				}
			}
		})
	}

	t.Run("prompt none needing consent", func(t *testing.T) {
		got := b.get(rp.authURL(oauth2.GenerateVerifier(), map[string]string{"scope": "openid email", "prompt": "none"}))
		loc, _ := url.Parse(got.location)
		if loc == nil || loc.Query().Get("error") != "consent_required" {
			t.Fatalf("got %d to %q, want error=consent_required", got.status, got.location)
		}
	})
}

func TestCodeReplayRevokesTokens(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	verifier := oauth2.GenerateVerifier()
	back := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword)
	code := back.Query().Get("code")

	first := rp.exchange(code, verifier)
	if first.status != http.StatusOK {
		t.Fatalf("first exchange: %d %s", first.status, first.body)
	}
	second := rp.exchange(code, verifier)
	if second.status != http.StatusBadRequest || second.json["error"] != "invalid_grant" {
		t.Fatalf("replayed code: got %d %s, want 400 invalid_grant", second.status, second.body)
	}
	if got := rp.introspect(first.json["access_token"].(string)); got.json["active"] != false {
		t.Errorf("access token issued by a replayed code still active: %s", got.body)
	}
	if got := rp.refresh(first.json["refresh_token"].(string)); got.json["error"] != "invalid_grant" {
		t.Errorf("refresh token issued by a replayed code still works: %d %s", got.status, got.body)
	}
}

func TestCodeRedeemedByAnotherClient(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	other := p.newRelyingParty(p.createClient(clients.Metadata{ClientName: "Other app"}))
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")

	got := other.exchange(code, verifier)
	if got.status != http.StatusBadRequest || got.json["error"] != "invalid_grant" {
		t.Fatalf("code redeemed by another client: got %d %s, want invalid_grant", got.status, got.body)
	}
}

func TestPKCEAtTokenEndpoint(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	strict := p.newRelyingParty(p.createClient(clients.Metadata{}))
	optional := p.newRelyingParty(p.createClient(clients.Metadata{ClientName: "Legacy app", PKCE: "optional"}))

	t.Run("wrong verifier invalidates the code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := signIn(t, p.newBrowser(), strict.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
		if got := strict.exchange(code, oauth2.GenerateVerifier()); got.json["error"] != "invalid_grant" {
			t.Fatalf("wrong verifier: got %d %s", got.status, got.body)
		}
		if got := strict.exchange(code, verifier); got.json["error"] != "invalid_grant" {
			t.Fatalf("right verifier after a wrong one: got %d %s, want invalid_grant", got.status, got.body)
		}
	})
	t.Run("missing verifier invalidates the code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := signIn(t, p.newBrowser(), strict.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
		if got := strict.exchange(code, ""); got.json["error"] != "invalid_grant" {
			t.Fatalf("missing verifier: got %d %s", got.status, got.body)
		}
		if got := strict.exchange(code, verifier); got.json["error"] != "invalid_grant" {
			t.Fatalf("verifier after a missing one: got %d %s, want invalid_grant", got.status, got.body)
		}
	})
	t.Run("optional client without challenge", func(t *testing.T) {
		u := optional.authURL("", map[string]string{"code_challenge": "", "code_challenge_method": ""})
		code := signIn(t, p.newBrowser(), u, "alice", testPassword).Query().Get("code")
		if got := optional.exchange(code, ""); got.status != http.StatusOK {
			t.Fatalf("PKCE-optional client without PKCE: got %d %s", got.status, got.body)
		}
	})
	t.Run("verifier without challenge", func(t *testing.T) {
		u := optional.authURL("", map[string]string{"code_challenge": "", "code_challenge_method": ""})
		code := signIn(t, p.newBrowser(), u, "alice", testPassword).Query().Get("code")
		if got := optional.exchange(code, oauth2.GenerateVerifier()); got.json["error"] != "invalid_grant" {
			t.Fatalf("verifier without challenge: got %d %s, want invalid_grant", got.status, got.body)
		}
	})
	t.Run("optional client that sends a challenge", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := signIn(t, p.newBrowser(), optional.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
		if got := optional.exchange(code, ""); got.json["error"] != "invalid_grant" {
			t.Fatalf("challenge sent, no verifier: got %d %s, want invalid_grant", got.status, got.body)
		}
	})
	t.Run("optional client plain is rejected", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		got := p.newBrowser().get(optional.authURL(v, map[string]string{"code_challenge": v, "code_challenge_method": "plain"}))
		if !strings.Contains(got.location, "error=invalid_request") {
			t.Fatalf("plain: got %d to %q", got.status, got.location)
		}
	})
}

func TestPublicClientSignIn(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{
		ClientName:              "Native app",
		RedirectURIs:            []string{"http://127.0.0.1/callback"},
		TokenEndpointAuthMethod: "none",
	})
	rp := p.newRelyingParty(md)
	verifier := oauth2.GenerateVerifier()
	// RFC 8252: a loopback redirect URI may use any port at request time.
	u := rp.authURL(verifier, map[string]string{"redirect_uri": "http://127.0.0.1:49152/callback"})
	rp.config.RedirectURL = "http://127.0.0.1:49152/callback"
	code := signIn(t, p.newBrowser(), u, "alice", testPassword).Query().Get("code")
	got := rp.exchange(code, verifier)
	if got.status != http.StatusOK {
		t.Fatalf("public client exchange: %d %s", got.status, got.body)
	}
}

func TestRevocationAndIntrospection(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	other := p.newRelyingParty(p.createClient(clients.Metadata{ClientName: "Other app"}))
	rs := p.newRelyingParty(p.createClient(clients.Metadata{
		ClientName: "API", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{}, Scope: "profile", ResourceServer: true,
	}))
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
	tok := rp.exchange(code, verifier)
	access := tok.json["access_token"].(string)

	if got := rp.introspect(access); got.json["active"] != true || got.json["client_id"] != rp.config.ClientID {
		t.Errorf("own token introspection: %s", got.body)
	}
	if got := other.introspect(access); got.json["active"] != false {
		t.Errorf("another client's token introspected as active: %s", got.body)
	}
	if got := rs.introspect(access); got.json["active"] != true {
		t.Errorf("resource server introspection: %s", got.body)
	}

	bearer, _ := http.NewRequest(http.MethodPost, p.issuer+provider.IntrospectPath, strings.NewReader("token="+access))
	bearer.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	bearer.Header.Set("Authorization", "Bearer "+access)
	if resp, err := p.server.Client().Do(bearer); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("introspection with a bearer token as credential: got %v %v, want 401", resp.StatusCode, err)
	}

	if got := other.revoke(access); got.status != http.StatusBadRequest || got.json["error"] != "unauthorized_client" {
		t.Errorf("revoking another client's token: got %d %s, want 400 unauthorized_client", got.status, got.body)
	}
	if got := rp.introspect(access); got.json["active"] != true {
		t.Errorf("token revoked by another client: %s", got.body)
	}
	if got := rp.revoke(access); got.status != http.StatusOK {
		t.Errorf("revoke own token: %d %s", got.status, got.body)
	}
	if got := rp.introspect(access); got.json["active"] != false {
		t.Errorf("revoked token still active: %s", got.body)
	}
	if got := rp.refresh(tok.json["refresh_token"].(string)); got.json["error"] != "invalid_grant" {
		t.Errorf("refresh token of a revoked grant: %d %s", got.status, got.body)
	}
	if got := rp.revoke("idp_at_unknown.token"); got.status != http.StatusOK {
		t.Errorf("revoke unknown token: got %d, want 200", got.status)
	}
}

func TestClientCredentials(t *testing.T) {
	p := newTestProvider(t)
	md := p.createClient(clients.Metadata{
		ClientName: "Batch job", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{}, Scope: "profile",
	})
	rp := p.newRelyingParty(md)
	got := rp.post(p.issuer+provider.TokenPath, url.Values{"grant_type": {"client_credentials"}, "scope": {"profile"}})
	if got.status != http.StatusOK || got.json["scope"] != "profile" {
		t.Fatalf("client_credentials: %d %s", got.status, got.body)
	}
	rp.config.ClientSecret = "wrong"
	if got := rp.post(p.issuer+provider.TokenPath, url.Values{"grant_type": {"client_credentials"}}); got.status != http.StatusUnauthorized {
		t.Errorf("wrong secret: got %d %s, want 401", got.status, got.body)
	}

	// A client that may also sign users in asks for user scopes.
	both := p.newRelyingParty(p.createClient(clients.Metadata{
		ClientName: "Both", GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"},
		Scope: "openid offline_access profile",
	}))
	got = both.post(p.issuer+provider.TokenPath, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid offline_access profile"}})
	if got.status != http.StatusOK {
		t.Fatalf("client_credentials with user scopes: %d %s", got.status, got.body)
	}
	if got.json["scope"] != "profile" {
		t.Errorf("scope: got %q, want %q: openid and offline_access concern a user", got.json["scope"], "profile")
	}
	if _, ok := got.json["refresh_token"]; ok {
		t.Error("client_credentials response has a refresh token")
	}
	if _, ok := got.json["id_token"]; ok {
		t.Error("client_credentials response has an ID token")
	}
}

func TestDisabledUserLosesAccess(t *testing.T) {
	p := newTestProvider(t)
	user := p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, b, rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
	tok := rp.exchange(code, verifier)

	if err := p.app.users.Disable(context.Background(), user.ID); err != nil {
		t.Fatal(err)
	}
	if got := rp.refresh(tok.json["refresh_token"].(string)); got.json["error"] != "invalid_grant" {
		t.Errorf("refresh for a disabled user: %d %s", got.status, got.body)
	}
	if got := rp.introspect(tok.json["access_token"].(string)); got.json["active"] != false {
		t.Errorf("access token of a disabled user: %s", got.body)
	}
	if got := b.get(rp.authURL(oauth2.GenerateVerifier(), nil)); !strings.Contains(got.body, `name="password"`) {
		t.Errorf("session of a disabled user still signed in: %d %s", got.status, got.location)
	}
}

func TestRefreshFamilyLifetime(t *testing.T) {
	p := newTestProvider(t, func(c *Config) { c.RefreshFamilyLifetime = 2 * time.Second })
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
	tok := rp.exchange(code, verifier)
	refreshed := rp.refresh(tok.json["refresh_token"].(string))
	if refreshed.status != http.StatusOK {
		t.Fatalf("refresh within the family lifetime: %d %s", refreshed.status, refreshed.body)
	}
	time.Sleep(2100 * time.Millisecond)
	if got := rp.refresh(refreshed.json["refresh_token"].(string)); got.json["error"] != "invalid_grant" {
		t.Errorf("refresh after the family lifetime: %d %s", got.status, got.body)
	}
}

func TestRefreshScope(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, p.newBrowser(), rp.authURL(verifier, map[string]string{"scope": "openid offline_access"}), "alice", testPassword).Query().Get("code")
	tok := rp.exchange(code, verifier)
	got := rp.post(p.issuer+provider.TokenPath, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.json["refresh_token"].(string)}, "scope": {"openid email"},
	})
	if got.json["error"] != "invalid_scope" {
		t.Errorf("widening refresh: got %d %s, want invalid_scope", got.status, got.body)
	}

	// A narrower scope applies to the new access token only.
	narrowed := rp.post(p.issuer+provider.TokenPath, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.json["refresh_token"].(string)}, "scope": {"offline_access"},
	})
	if narrowed.status != http.StatusOK || narrowed.json["scope"] != "offline_access" {
		t.Fatalf("narrowing refresh: got %d %s, want scope offline_access", narrowed.status, narrowed.body)
	}
	if _, ok := narrowed.json["id_token"]; ok {
		t.Errorf("narrowed refresh without openid still got an ID token")
	}
	if got := rp.introspect(narrowed.json["access_token"].(string)); got.json["scope"] != "offline_access" {
		t.Errorf("narrowed access token scope: %s", got.body)
	}
	if got := rp.introspect(narrowed.json["refresh_token"].(string)); got.json["scope"] != "openid offline_access" {
		t.Errorf("new refresh token must keep the original scope: %s", got.body)
	}
	full := rp.refresh(narrowed.json["refresh_token"].(string))
	if full.json["scope"] != "openid offline_access" {
		t.Errorf("refresh without scope after a narrowed one: %s", full.body)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
	tok := rp.exchange(code, verifier)
	rp.refresh(tok.json["refresh_token"].(string))
	rp.exchange(code, verifier)

	logs := p.logs.String()
	if !strings.Contains(logs, "token issued") {
		t.Fatalf("log capture is empty or incomplete:\n%s", logs)
	}
	for name, secret := range map[string]string{
		"password":      testPassword,
		"client secret": md.ClientSecret,
		"code":          code,
		"access token":  tok.json["access_token"].(string),
		"refresh token": tok.json["refresh_token"].(string),
		"verifier":      verifier,
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains the %s", name)
		}
	}
}

func TestAuthorizeFormPost(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()
	verifier := oauth2.GenerateVerifier()
	u, _ := url.Parse(rp.authURL(verifier, map[string]string{"unknown_parameter": "ignored"}))

	req, _ := http.NewRequest(http.MethodPost, p.issuer+"/oauth2/authorize", strings.NewReader(u.RawQuery))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	got := b.do(req)
	if got.status != http.StatusSeeOther || !strings.Contains(got.location, "flow=") {
		t.Fatalf("form POST: got %d to %q, want 303 to a GET with a flow id", got.status, got.location)
	}
	if strings.Contains(got.location, "code_challenge") {
		t.Errorf("the stored request leaked into the URL: %s", got.location)
	}

	back := signIn(t, p.newBrowser(), u.String(), "alice", testPassword)
	if back.Query().Get("code") == "" {
		t.Fatalf("GET with an unknown parameter: no code in %s", back)
	}
}

func TestUserinfoMethods(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{Scope: "openid profile", GrantTypes: []string{"authorization_code"}}))
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
	access := rp.exchange(code, verifier).json["access_token"].(string)

	tests := []struct {
		name       string
		method     string
		header     string
		body       string
		wantStatus int
	}{
		{"GET with header", http.MethodGet, "Bearer " + access, "", http.StatusOK},
		{"POST with header", http.MethodPost, "Bearer " + access, "", http.StatusOK},
		{"POST with form field", http.MethodPost, "", "access_token=" + access, http.StatusOK},
		{"no token", http.MethodGet, "", "", http.StatusUnauthorized},
		{"unknown token", http.MethodGet, "Bearer idp_at_x.y", "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, p.issuer+provider.UserinfoPath, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := p.server.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status: got %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate: got %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestLogoutEndsSession(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()
	signIn(t, b, rp.authURL(oauth2.GenerateVerifier(), nil), "alice", testPassword)

	logout := b.get(p.issuer + "/logout")
	if !strings.Contains(logout.body, "csrf_token") {
		t.Fatalf("logout page has no form:\n%s", logout.body)
	}
	if got := b.submit(logout, nil); got.status != http.StatusOK || !strings.Contains(got.body, "signed out") {
		t.Fatalf("logout: %d\n%s", got.status, got.body)
	}
	if got := b.get(rp.authURL(oauth2.GenerateVerifier(), nil)); !strings.Contains(got.body, `name="password"`) {
		t.Errorf("after logout: got %d to %q, want the login page", got.status, got.location)
	}
}

func TestFormsRejectMissingCSRFToken(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()
	login := b.get(rp.authURL(oauth2.GenerateVerifier(), nil))

	for _, token := range []string{"", "forged"} {
		got := b.submit(login, url.Values{"csrf_token": {token}, "username": {"alice"}, "password": {testPassword}})
		if got.status != http.StatusForbidden {
			t.Errorf("csrf_token %q: got %d, want 403", token, got.status)
		}
	}

	// A cross-origin form post is stopped by the Origin check.
	action := formAction(t, login.body)
	form := url.Values{"csrf_token": {hiddenField(t, login.body, "csrf_token")}, "username": {"alice"}, "password": {testPassword}}
	req, _ := http.NewRequest(http.MethodPost, login.url.ResolveReference(action).String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example.com")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if got := b.do(req); got.status != http.StatusForbidden {
		t.Errorf("cross-origin login post: got %d, want 403", got.status)
	}
}

func TestStorageFailureIsNotSuccess(t *testing.T) {
	p := newTestProvider(t)
	md := p.createClient(clients.Metadata{
		ClientName: "Batch job", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{}, Scope: "profile",
	})
	rp := p.newRelyingParty(md)
	tok := rp.post(p.issuer+provider.TokenPath, url.Values{"grant_type": {"client_credentials"}})
	access := tok.json["access_token"].(string)

	// Client authentication reads the database too, so closing it makes
	// every call fail; none of them may claim success.
	p.app.store.Close()
	if got := rp.revoke(access); got.status == http.StatusOK {
		t.Errorf("revocation with the database down: got 200 %s", got.body)
	}
	if got := rp.introspect(access); got.status == http.StatusOK && got.json["active"] == true {
		t.Errorf("introspection with the database down: %d %s", got.status, got.body)
	}
}

func TestRepeatedParametersRejected(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	verifier := oauth2.GenerateVerifier()

	page := p.newBrowser().get(rp.authURL(verifier, nil) + "&redirect_uri=" + url.QueryEscape("https://evil.example.com/cb"))
	if page.status != http.StatusBadRequest || page.location != "" {
		t.Errorf("authorize with a repeated redirect_uri: got %d to %q, want 400 and no redirect", page.status, page.location)
	}
	if !strings.Contains(page.body, "more than once") {
		t.Errorf("authorize error page lacks the reason:\n%s", page.body)
	}

	code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
	tok := rp.exchange(code, verifier)
	access, refresh := tok.json["access_token"].(string), tok.json["refresh_token"].(string)

	tests := []struct {
		name     string
		endpoint string
		form     url.Values
	}{
		{"token", provider.TokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh, "junk"}}},
		{"introspection", provider.IntrospectPath, url.Values{"token": {access, "junk"}}},
		{"revocation", provider.RevokePath, url.Values{"token": {"junk", access}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rp.post(p.issuer+tt.endpoint, tt.form)
			if got.status != http.StatusBadRequest || got.json["error"] != "invalid_request" {
				t.Errorf("got %d %s, want 400 invalid_request", got.status, got.body)
			}
			if desc, _ := got.json["error_description"].(string); !strings.Contains(desc, "more than once") {
				t.Errorf("error_description %q does not say what was wrong", desc)
			}
		})
	}

	// The same repetition in a body fosite would parse differently.
	bodies := []struct {
		name        string
		contentType string
		body        string
		wantHint    string
	}{
		{"malformed pair", "application/x-www-form-urlencoded",
			"grant_type=refresh_token&refresh_token=" + url.QueryEscape(refresh) + "&refresh_token=junk&bad=%zz", "not a valid form"},
		{"multipart", "multipart/form-data; boundary=b",
			"--b\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nrefresh_token\r\n" +
				"--b\r\nContent-Disposition: form-data; name=\"refresh_token\"\r\n\r\n" + refresh + "\r\n" +
				"--b\r\nContent-Disposition: form-data; name=\"refresh_token\"\r\n\r\njunk\r\n--b--\r\n", "content type"},
	}
	for _, tt := range bodies {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, p.issuer+provider.TokenPath, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			req.SetBasicAuth(url.QueryEscape(rp.config.ClientID), url.QueryEscape(rp.config.ClientSecret))
			resp, err := p.server.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("decode response: %v", err)
			}
			if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
				t.Errorf("got %d %v, want 400 invalid_request", resp.StatusCode, body)
			}
			if desc, _ := body["error_description"].(string); !strings.Contains(desc, tt.wantHint) {
				t.Errorf("error_description %q lacks %q", desc, tt.wantHint)
			}
		})
	}

	if got := rp.introspect(access); got.json["active"] != true {
		t.Errorf("access token after the rejected requests: %s", got.body)
	}
	if got := rp.refresh(refresh); got.status != http.StatusOK {
		t.Errorf("refresh token after the rejected requests: %d %s", got.status, got.body)
	}
}
