package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/consent"
	"github.com/idp/idp/provider"
)

func TestPageSecurityHeaders(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	b := p.newBrowser()

	// The first response sets the session cookie; the page after the
	// redirect carries the page headers.
	noFollow := *p.server.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	start, err := noFollow.Get(rp.authURL(oauth2.GenerateVerifier(), nil))
	if err != nil {
		t.Fatal(err)
	}
	start.Body.Close()
	resp, err := b.client.Get(rp.authURL(oauth2.GenerateVerifier(), nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self' https://app.example.com"} {
		if !strings.Contains(csp, want) {
			t.Errorf("login page CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("login page CSP allows inline code: %q", csp)
	}
	for name, want := range map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
		"Cache-Control":             "no-store",
		"Strict-Transport-Security": provider.HSTSValue,
	} {
		if got := h.Get(name); got != want {
			t.Errorf("login page %s: got %q, want %q", name, got, want)
		}
	}

	var session *http.Cookie
	for _, c := range start.Cookies() {
		if c.Name == consent.SessionCookie {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("no %s cookie set; got %v", consent.SessionCookie, start.Cookies())
	}
	if !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Domain != "" {
		t.Errorf("session cookie flags: %+v", session)
	}

	// Token responses are never cached.
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, b, rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {md.RedirectURIs[0]}, "code_verifier": {verifier}}
	req, _ := http.NewRequest(http.MethodPost, p.issuer+provider.TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(md.ClientID, md.ClientSecret)
	tokResp, err := p.server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tokResp.Body.Close()
	if got := tokResp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("token response Cache-Control: got %q, want no-store", got)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	p := newTestProvider(t, func(c *Config) { c.LoginSessionIdleTimeout = time.Second })
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()
	// offline_access always shows the consent page, so it is left out here.
	scope := map[string]string{"scope": "openid profile"}
	signIn(t, b, rp.authURL(oauth2.GenerateVerifier(), scope), "alice", testPassword)

	if got := b.get(rp.authURL(oauth2.GenerateVerifier(), scope)); !strings.Contains(got.location, "code=") {
		t.Fatalf("right after sign-in: got %d to %q, want a code", got.status, got.location)
	}
	time.Sleep(1100 * time.Millisecond)
	if got := b.get(rp.authURL(oauth2.GenerateVerifier(), scope)); !strings.Contains(got.body, `name="password"`) {
		t.Errorf("after the idle timeout: got %d to %q, want the login page", got.status, got.location)
	}
}

func TestClientAssertionRejected(t *testing.T) {
	p := newTestProvider(t)
	md := p.createClient(clients.Metadata{
		ClientName: "Batch job", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{}, Scope: "profile",
	})
	rp := p.newRelyingParty(md)
	rp.config.ClientSecret = ""
	got := rp.post(p.issuer+provider.TokenPath, url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {"eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."},
	})
	if got.status != http.StatusUnauthorized && got.status != http.StatusBadRequest {
		t.Errorf("client_assertion: got %d %s, want an authentication error", got.status, got.body)
	}
	if got.status == http.StatusOK {
		t.Fatal("a client assertion with alg none was accepted")
	}
}

func TestStaticFilesNoListing(t *testing.T) {
	p := newTestProvider(t)
	for path, want := range map[string]int{"/static/": http.StatusNotFound, "/static/idp.css": http.StatusOK} {
		resp, err := p.server.Client().Get(p.issuer + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: got %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestAccessLogRedactsTokensInPaths(t *testing.T) {
	p := newTestProvider(t)
	const token = "idp_rt_secretpart.signaturepart"
	resp, err := p.server.Client().Get(p.issuer + "/callback/" + token)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	logs := p.logs.String()
	if strings.Contains(logs, "secretpart") {
		t.Errorf("a token in a path reached the log:\n%s", logs)
	}
	if !strings.Contains(logs, "idp_rt_REDACTED") {
		t.Errorf("the access log line lacks the redacted path:\n%s", logs)
	}
}

func TestSessionAbsoluteLifetime(t *testing.T) {
	p := newTestProvider(t, func(c *Config) { c.LoginSessionLifetime = time.Second })
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()
	scope := map[string]string{"scope": "openid profile"}
	signIn(t, b, rp.authURL(oauth2.GenerateVerifier(), scope), "alice", testPassword)

	// Activity does not extend the session past its lifetime.
	for range 3 {
		time.Sleep(400 * time.Millisecond)
		b.get(rp.authURL(oauth2.GenerateVerifier(), scope))
	}
	if got := b.get(rp.authURL(oauth2.GenerateVerifier(), scope)); !strings.Contains(got.body, `name="password"`) {
		t.Errorf("after the absolute lifetime: got %d to %q, want the login page", got.status, got.location)
	}
}
