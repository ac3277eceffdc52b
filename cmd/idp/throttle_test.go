package main

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/provider"
	"github.com/idp/idp/storage"
)

// trustLoopbackProxy makes the test server's loopback peer a trusted
// proxy, so tests choose the client address with X-Forwarded-For.
func trustLoopbackProxy(c *Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
}

func TestSignInThrottle(t *testing.T) {
	p := newTestProvider(t, trustLoopbackProxy)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))

	attacker := p.newBrowser()
	attacker.forwardedFor = "203.0.113.66"
	login := attacker.get(rp.authURL(oauth2.GenerateVerifier(), nil))
	for range 8 {
		got := attacker.submit(login, url.Values{"username": {"alice"}, "password": {"guess"}})
		if got.status != http.StatusUnauthorized {
			t.Fatalf("wrong password: got %d", got.status)
		}
	}
	// The right password from the throttled address gets the same response
	// as a wrong one.
	got := attacker.submit(login, url.Values{"username": {"alice"}, "password": {testPassword}})
	if got.status != http.StatusUnauthorized || !strings.Contains(got.body, "Incorrect username or password") {
		t.Errorf("right password while throttled: got %d, want the uniform 401", got.status)
	}

	// The account owner from elsewhere signs in at once.
	owner := p.newBrowser()
	owner.forwardedFor = "198.51.100.7"
	back := signIn(t, owner, rp.authURL(oauth2.GenerateVerifier(), nil), "alice", testPassword)
	if back.Query().Get("code") == "" {
		t.Fatalf("owner from another address: no code in %s", back)
	}

	events, err := p.app.store.ListEvents(context.Background(), storage.EventFilter{Kind: storage.EventSignInLockedOut})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || events[0].RemoteAddr != "203.0.113.66" || events[0].UserID == "" {
		t.Errorf("lockout events: %+v", events)
	}
	if succeeded, _ := p.app.store.ListEvents(context.Background(), storage.EventFilter{Kind: storage.EventSignInSucceeded}); len(succeeded) != 1 {
		t.Errorf("sign-in success events: got %d, want 1", len(succeeded))
	}
}

func TestClientAuthThrottle(t *testing.T) {
	p := newTestProvider(t, trustLoopbackProxy)
	md := p.createClient(clients.Metadata{
		ClientName: "Batch job", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{}, Scope: "profile",
	})
	post := func(secret, from string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, p.issuer+provider.TokenPath, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", from)
		req.SetBasicAuth(md.ClientID, secret)
		resp, err := p.server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	var last *http.Response
	for range 8 {
		last = post("wrong", "203.0.113.66")
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("repeated failures: got %d Retry-After %q, want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}
	// A correct 256-bit secret is never a guess, so it works from the
	// throttled address too; only failures are slowed down.
	if got := post(md.ClientSecret, "203.0.113.66"); got.StatusCode != http.StatusOK {
		t.Errorf("right secret from the throttled address: got %d, want 200", got.StatusCode)
	}
	if got := post(md.ClientSecret, "198.51.100.7"); got.StatusCode != http.StatusOK {
		t.Errorf("right secret from another address: got %d, want 200", got.StatusCode)
	}
}

func TestCLIRejectsForeignSecret(t *testing.T) {
	env := testEnv(t)
	wantCode(t, runIDP(t, invocation{env: env}, "keys", "rotate", "--delay", "0"), 0)
	env["IDP_SYSTEM_SECRET"] = strings.Repeat("x", 48)
	r := runIDP(t, invocation{env: env}, "keys", "rotate")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "does not match this database")
}
