package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/clients"
	"github.com/idp/idp/provider"
	"github.com/idp/idp/storage"
)

// testProvider is a whole idp behind an HTTPS test server, on a SQLite
// file of its own.
type testProvider struct {
	t      *testing.T
	issuer string
	server *httptest.Server
	app    *app
	// logs holds everything the provider logged.
	logs *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testPassword is the password of users made by createUser.
const testPassword = "correct horse battery staple"

func newTestProvider(t *testing.T, configure ...func(*Config)) *testProvider {
	t.Helper()
	ctx := context.Background()

	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	cfg := defaultConfig()
	cfg.Issuer = srv.URL
	cfg.Database = filepath.Join(t.TempDir(), "idp.db")
	cfg.PasswordHashConcurrency = 2
	for _, f := range configure {
		f(cfg)
	}
	cfg.applyDerivedDefaults()

	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	secret := make([]byte, 32)
	rand.Read(secret)
	keys, err := provider.DeriveKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := newApp(ctx, cfg, st, []provider.SecretKeys{keys}, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.handler()
	return &testProvider{t: t, issuer: srv.URL, server: srv, app: a, logs: logs}
}

// createUser registers a user with testPassword.
func (p *testProvider) createUser(username string) *storage.User {
	p.t.Helper()
	u, err := p.app.users.Create(context.Background(), accounts.NewUser{
		Username: username,
		Password: testPassword,
		Profile: storage.User{
			Name:          "Test " + username,
			Email:         username + "@example.com",
			EmailVerified: true,
		},
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return u
}

// createClient registers a client; the returned metadata holds its
// secret for confidential clients.
func (p *testProvider) createClient(md clients.Metadata) clients.Metadata {
	p.t.Helper()
	if md.ClientName == "" {
		md.ClientName = "Test app"
	}
	if md.RedirectURIs == nil {
		md.RedirectURIs = []string{"https://app.example.com/callback"}
	}
	if md.GrantTypes == nil {
		md.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	if md.Scope == "" {
		md.Scope = "openid profile email offline_access"
	}
	out, err := p.app.clientRegistry.Create(context.Background(), md)
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

// context returns a context whose HTTP client trusts the test server,
// for x/oauth2 and go-oidc.
func (p *testProvider) context() context.Context {
	return oidc.ClientContext(context.Background(), p.server.Client())
}

// browser is a cookie-keeping HTTP client that stops at the first
// redirect leaving idp, as a browser would hand over to the app.
type browser struct {
	t      *testing.T
	client *http.Client
	issuer *url.URL
	// forwardedFor, when set, is sent as X-Forwarded-For, the client
	// address a trusted proxy would report.
	forwardedFor string
}

func (p *testProvider) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	issuer, _ := url.Parse(p.issuer)
	c := &http.Client{Transport: p.server.Client().Transport, Jar: jar}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != issuer.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return &browser{t: p.t, client: c, issuer: issuer}
}

// page is a response read in full.
type page struct {
	status   int
	url      *url.URL
	location string
	body     string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	if b.forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", b.forwardedFor)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, location: resp.Header.Get("Location"), body: string(body)}
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// submit posts a page's form to its action with extra fields.
func (b *browser) submit(p page, fields url.Values) page {
	b.t.Helper()
	action := formAction(b.t, p.body)
	target := p.url.ResolveReference(&url.URL{Path: action.Path, RawQuery: action.RawQuery})
	form := url.Values{"csrf_token": {hiddenField(b.t, p.body, "csrf_token")}}
	for k, v := range fields {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.issuer.Scheme+"://"+b.issuer.Host)
	return b.do(req)
}

var (
	formActionPattern = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	hiddenPattern     = `<input[^>]*name="%s"[^>]*value="([^"]*)"`
)

func formAction(t *testing.T, body string) *url.URL {
	t.Helper()
	m := formActionPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form on page:\n%s", body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func hiddenField(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(fmt.Sprintf(hiddenPattern, name)).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s field on page:\n%s", name, body)
	}
	return html.UnescapeString(m[1])
}

// relyingParty is an app that signs users in through idp with x/oauth2
// and go-oidc.
type relyingParty struct {
	t        *testing.T
	p        *testProvider
	oidc     *oidc.Provider
	config   oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func (p *testProvider) newRelyingParty(md clients.Metadata) *relyingParty {
	p.t.Helper()
	op, err := oidc.NewProvider(p.context(), p.issuer)
	if err != nil {
		p.t.Fatalf("discovery: %v", err)
	}
	redirect := ""
	if len(md.RedirectURIs) > 0 {
		redirect = md.RedirectURIs[0]
	}
	return &relyingParty{
		t:    p.t,
		p:    p,
		oidc: op,
		config: oauth2.Config{
			ClientID:     md.ClientID,
			ClientSecret: md.ClientSecret,
			Endpoint:     op.Endpoint(),
			RedirectURL:  redirect,
			Scopes:       strings.Fields(md.Scope),
		},
		verifier: op.Verifier(&oidc.Config{ClientID: md.ClientID}),
	}
}

// signIn runs the browser through login and consent and returns the
// redirect to the app.
func signIn(t *testing.T, b *browser, authURL, username, password string) *url.URL {
	t.Helper()
	login := b.get(authURL)
	if login.status != http.StatusOK || !strings.Contains(login.body, `name="password"`) {
		t.Fatalf("authorization request: got status %d at %s, want the login page:\n%s", login.status, login.url, login.body)
	}
	after := b.submit(login, url.Values{"username": {username}, "password": {password}})
	if after.status == http.StatusOK && strings.Contains(after.body, `name="decision"`) {
		after = b.submit(after, url.Values{"decision": {"approve"}, "remember": {"on"}})
	}
	if after.status != http.StatusSeeOther || after.location == "" {
		t.Fatalf("after login and consent: got status %d at %s, want a redirect to the app:\n%s", after.status, after.url, after.body)
	}
	u, err := url.Parse(after.location)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSignInEndToEnd(t *testing.T) {
	p := newTestProvider(t)
	user := p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	ctx := p.context()

	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	authURL := rp.config.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	back := signIn(t, p.newBrowser(), authURL, "alice", testPassword)

	q := back.Query()
	if got := q.Get("state"); got != state {
		t.Fatalf("state: got %q, want %q", got, state)
	}
	if got := q.Get("iss"); got != p.issuer {
		t.Errorf("iss parameter: got %q, want %q", got, p.issuer)
	}
	code := q.Get("code")
	if !strings.HasPrefix(code, provider.PrefixCode) {
		t.Fatalf("code %q lacks prefix %q", code, provider.PrefixCode)
	}

	tok, err := rp.config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idToken, err := rp.verifier.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token verification: %v", err)
	}
	if idToken.Nonce != nonce {
		t.Errorf("nonce: got %q, want %q", idToken.Nonce, nonce)
	}
	if idToken.Subject != user.Subject {
		t.Errorf("sub: got %q, want %q", idToken.Subject, user.Subject)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims map[string]any
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"auth_time", "sid", "azp", "email", "email_verified", "name"} {
		if _, ok := claims[name]; !ok {
			t.Errorf("ID token lacks claim %q: %v", name, claims)
		}
	}

	info, err := rp.oidc.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if info.Subject != user.Subject || info.Email != "alice@example.com" || !info.EmailVerified {
		t.Errorf("userinfo: got sub %q email %q verified %v", info.Subject, info.Email, info.EmailVerified)
	}

	// Refresh rotates the refresh token.
	first := tok.RefreshToken
	if first == "" {
		t.Fatal("no refresh token issued for offline_access")
	}
	refreshed := rp.refresh(first)
	if refreshed.status != http.StatusOK {
		t.Fatalf("refresh: got %d %s", refreshed.status, refreshed.body)
	}
	second := refreshed.json["refresh_token"].(string)
	secondAccess := refreshed.json["access_token"].(string)
	if second == first {
		t.Fatal("refresh token did not rotate")
	}

	// The old refresh token again: rejected, and the family is revoked.
	replay := rp.refresh(first)
	if replay.status != http.StatusBadRequest || replay.json["error"] != "invalid_grant" {
		t.Fatalf("reuse of rotated refresh token: got %d %s, want 400 invalid_grant", replay.status, replay.body)
	}
	if after := rp.refresh(second); after.json["error"] != "invalid_grant" {
		t.Errorf("refresh token of a revoked family: got %d %s, want invalid_grant", after.status, after.body)
	}
	if got := rp.introspect(secondAccess); got.json["active"] != false {
		t.Errorf("access token of a revoked family: introspection says %s", got.body)
	}
}

// tokenResponse is the JSON response of a token-related endpoint.
type tokenResponse struct {
	status int
	body   string
	json   map[string]any
}

func (rp *relyingParty) post(endpoint string, form url.Values) tokenResponse {
	rp.t.Helper()
	if rp.config.ClientSecret == "" {
		form.Set("client_id", rp.config.ClientID)
	}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rp.config.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(rp.config.ClientID), url.QueryEscape(rp.config.ClientSecret))
	}
	resp, err := rp.p.server.Client().Do(req)
	if err != nil {
		rp.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := tokenResponse{status: resp.StatusCode, body: string(body)}
	_ = json.Unmarshal(body, &out.json)
	return out
}

func (rp *relyingParty) refresh(token string) tokenResponse {
	return rp.post(rp.p.issuer+provider.TokenPath, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
}

func (rp *relyingParty) introspect(token string) tokenResponse {
	return rp.post(rp.p.issuer+provider.IntrospectPath, url.Values{"token": {token}})
}

func (rp *relyingParty) revoke(token string) tokenResponse {
	return rp.post(rp.p.issuer+provider.RevokePath, url.Values{"token": {token}})
}

func TestEverythingSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	secret := make([]byte, 32)
	rand.Read(secret)
	keys, err := provider.DeriveKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// start builds an app on the same database and secret, as a restart
	// of the process would, behind a new HTTPS server.
	start := func() *testProvider {
		srv := httptest.NewUnstartedServer(nil)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		cfg := defaultConfig()
		cfg.Issuer = "https://idp.example.test"
		cfg.Database = filepath.Join(dir, "idp.db")
		cfg.applyDerivedDefaults()
		st, err := openStore(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		logs := &syncBuffer{}
		a, err := newApp(ctx, cfg, st, []provider.SecretKeys{keys}, slog.New(slog.NewJSONHandler(logs, nil)), nil)
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = a.handler()
		return &testProvider{t: t, issuer: srv.URL, server: srv, app: a, logs: logs}
	}

	first := start()
	first.createUser("alice")
	md := first.createClient(clients.Metadata{})
	keysBefore, err := first.app.keys.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Tokens are minted through the client credentials grant of a second
	// client, which needs no issuer-bound discovery.
	batch := first.createClient(clients.Metadata{
		ClientName: "Batch job", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{}, Scope: "profile",
	})
	rpFirst := &relyingParty{t: t, p: first, config: oauth2.Config{ClientID: batch.ClientID, ClientSecret: batch.ClientSecret}}
	tok := rpFirst.post(first.server.URL+provider.TokenPath, url.Values{"grant_type": {"client_credentials"}, "scope": {"profile"}})
	if tok.status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", tok.status, tok.body)
	}
	if err := first.app.store.SaveConsent(ctx, &storage.Consent{UserID: "u", ClientID: md.ClientID, Scopes: storage.StringList{"openid"}}); err != nil {
		t.Fatal(err)
	}
	first.server.Close()
	first.app.store.Close()

	second := start()
	if _, err := second.app.clientRegistry.Get(ctx, md.ClientID); err != nil {
		t.Errorf("client after restart: %v", err)
	}
	if _, err := second.app.users.Lookup(ctx, "alice"); err != nil {
		t.Errorf("user after restart: %v", err)
	}
	if _, err := second.app.users.Authenticate(ctx, "alice", testPassword); err != nil {
		t.Errorf("password after restart: %v", err)
	}
	keysAfter, err := second.app.keys.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keysAfter) != len(keysBefore) || keysAfter[0].KID != keysBefore[0].KID {
		t.Errorf("signing keys after restart: got %v, want %v", keysAfter, keysBefore)
	}
	if _, _, err := second.app.keys.Current(ctx, provider.AlgRS256); err != nil {
		t.Errorf("signing key does not open after restart: %v", err)
	}
	if c, err := second.app.store.Consent(ctx, "u", md.ClientID); err != nil || len(c.Scopes) != 1 {
		t.Errorf("consent after restart: %v %v", c, err)
	}
	rpSecond := &relyingParty{t: t, p: second, config: rpFirst.config}
	got := rpSecond.post(second.server.URL+provider.IntrospectPath, url.Values{"token": {tok.json["access_token"].(string)}})
	if got.json["active"] != true {
		t.Errorf("access token after restart: %s", got.body)
	}
}

func TestES256IDToken(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{IDTokenSignedResponseAlg: "ES256"})
	rp := p.newRelyingParty(md)
	rp.verifier = rp.oidc.Verifier(&oidc.Config{ClientID: md.ClientID, SupportedSigningAlgs: []string{oidc.ES256}})

	verifier := oauth2.GenerateVerifier()
	back := signIn(t, p.newBrowser(), rp.config.AuthCodeURL("state-1234567890", oauth2.S256ChallengeOption(verifier)), "alice", testPassword)
	tok, err := rp.config.Exchange(p.context(), back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if _, err := rp.verifier.Verify(p.context(), rawID); err != nil {
		t.Fatalf("ES256 ID token: %v", err)
	}
	rawHeader, _ := base64.RawURLEncoding.DecodeString(strings.Split(rawID, ".")[0])
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		t.Fatal(err)
	}
	if header.Alg != "ES256" || header.Kid == "" {
		t.Errorf("ID token header: got alg %q kid %q, want ES256 with a kid", header.Alg, header.Kid)
	}
}
