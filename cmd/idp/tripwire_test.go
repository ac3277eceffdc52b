package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/consent"
	"github.com/idp/idp/provider"
	"github.com/idp/idp/storage"
)

// tripwireBody is the body of every request the tripwire rejects.
const tripwireBody = `{"error":"invalid_request","error_description":"HTTPS is required. ` +
	`A credential sent over plain HTTP has been revoked if it was valid."}` + "\n"

// plainListener is p's tripwire on a plain-HTTP test server, with a
// client that does not follow redirects.
type plainListener struct {
	t      *testing.T
	url    string
	client *http.Client
}

func (p *testProvider) newTripwire() *plainListener {
	p.t.Helper()
	srv := httptest.NewServer(p.app.provider.TripwireHandler(&provider.Transport{}))
	p.t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &plainListener{t: p.t, url: srv.URL, client: client}
}

// plainResponse is a tripwire response read in full.
type plainResponse struct {
	status int
	header http.Header
	body   string
}

// send sends a request to the tripwire. A non-empty form is posted as
// a form body.
func (l *plainListener) send(method, target string, form url.Values, header http.Header) plainResponse {
	l.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, l.url+target, body)
	if err != nil {
		l.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "tripwire-test")
	resp, err := l.client.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return plainResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// checkCaught fails unless got is the tripwire's rejection.
func checkCaught(t *testing.T, got plainResponse) {
	t.Helper()
	if got.status != http.StatusBadRequest {
		t.Errorf("tripwire status = %d, want 400; body %s", got.status, got.body)
	}
	if got.body != tripwireBody {
		t.Errorf("tripwire body = %q, want %q", got.body, tripwireBody)
	}
	if cc := got.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("tripwire Cache-Control = %q, want no-store", cc)
	}
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// userTokens signs alice in through rp and returns the token response.
func userTokens(t *testing.T, p *testProvider, rp *relyingParty) tokenResponse {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
	tok := rp.exchange(code, verifier)
	if tok.status != http.StatusOK {
		t.Fatalf("code exchange: %d %s", tok.status, tok.body)
	}
	return tok
}

// userinfoStatus calls the userinfo endpoint over HTTPS with token.
func userinfoStatus(t *testing.T, p *testProvider, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.issuer+provider.UserinfoPath, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := p.server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestTripwireRevokesAccessToken(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	tok := userTokens(t, p, rp)
	access := tok.json["access_token"].(string)
	if got := userinfoStatus(t, p, access); got != http.StatusOK {
		t.Fatalf("userinfo before the tripwire: %d", got)
	}

	checkCaught(t, p.newTripwire().send(http.MethodGet, provider.UserinfoPath, nil, bearer(access)))

	if got := rp.introspect(access); got.json["active"] != false {
		t.Errorf("introspection after the tripwire: %s, want inactive", got.body)
	}
	if got := userinfoStatus(t, p, access); got != http.StatusUnauthorized {
		t.Errorf("userinfo after the tripwire: %d, want 401", got)
	}
	if got := rp.refresh(tok.json["refresh_token"].(string)); got.json["error"] != "invalid_grant" {
		t.Errorf("refresh token of the revoked grant: %d %s, want invalid_grant", got.status, got.body)
	}
}

func TestTripwireRevokesRefreshFamily(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	tok := userTokens(t, p, rp)
	rotated := rp.refresh(tok.json["refresh_token"].(string))
	if rotated.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", rotated.status, rotated.body)
	}
	current := rotated.json["refresh_token"].(string)

	got := p.newTripwire().send(http.MethodPost, provider.TokenPath, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {current},
	}, nil)
	checkCaught(t, got)

	if got := rp.refresh(current); got.json["error"] != "invalid_grant" {
		t.Errorf("refresh token sent to the tripwire: %d %s, want invalid_grant", got.status, got.body)
	}
	for name, access := range map[string]string{
		"first access token":  tok.json["access_token"].(string),
		"second access token": rotated.json["access_token"].(string),
	} {
		if got := rp.introspect(access); got.json["active"] != false {
			t.Errorf("%s of the family: %s, want inactive", name, got.body)
		}
	}
}

func TestTripwireInvalidatesCode(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))

	t.Run("unredeemed code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")

		checkCaught(t, p.newTripwire().send(http.MethodGet, "/callback?state=x&code="+url.QueryEscape(code), nil, nil))

		if got := rp.exchange(code, verifier); got.json["error"] != "invalid_grant" {
			t.Errorf("code sent to the tripwire redeemed: %d %s, want invalid_grant", got.status, got.body)
		}
	})
	t.Run("redeemed code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
		tok := rp.exchange(code, verifier)
		if tok.status != http.StatusOK {
			t.Fatalf("code exchange: %d %s", tok.status, tok.body)
		}

		checkCaught(t, p.newTripwire().send(http.MethodPost, provider.TokenPath, url.Values{
			"grant_type": {"authorization_code"},
			"code":       {code},
		}, nil))

		if got := rp.introspect(tok.json["access_token"].(string)); got.json["active"] != false {
			t.Errorf("access token issued for the code: %s, want inactive", got.body)
		}
		if got := rp.refresh(tok.json["refresh_token"].(string)); got.json["error"] != "invalid_grant" {
			t.Errorf("refresh token issued for the code: %d %s, want invalid_grant", got.status, got.body)
		}
	})
}

func TestTripwireEndsSession(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()
	signIn(t, b, rp.authURL(oauth2.GenerateVerifier(), nil), "alice", testPassword)

	var session string
	for _, c := range b.client.Jar.Cookies(b.issuer) {
		if c.Name == consent.SessionCookie {
			session = c.Value
		}
	}
	if session == "" {
		t.Fatalf("no %s cookie after sign-in", consent.SessionCookie)
	}

	header := http.Header{"Cookie": {consent.SessionCookie + "=" + session}}
	checkCaught(t, p.newTripwire().send(http.MethodGet, "/login", nil, header))

	if got := b.get(rp.authURL(oauth2.GenerateVerifier(), nil)); !strings.Contains(got.body, `name="password"`) {
		t.Errorf("after the tripwire: got %d to %q, want the login page", got.status, got.location)
	}
}

func TestTripwireDisablesClientSecret(t *testing.T) {
	p := newTestProvider(t)
	md := p.createClient(clients.Metadata{
		ClientName: "Batch job", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{}, Scope: "profile",
	})
	rp := p.newRelyingParty(md)
	grant := url.Values{"grant_type": {"client_credentials"}, "scope": {"profile"}}
	tripwire := p.newTripwire()

	wrong := http.Header{}
	wrongReq, _ := http.NewRequest(http.MethodPost, "/", nil)
	wrongReq.SetBasicAuth(md.ClientID, "not-the-secret")
	wrong.Set("Authorization", wrongReq.Header.Get("Authorization"))
	checkCaught(t, tripwire.send(http.MethodPost, provider.TokenPath, grant, wrong))
	if got := rp.post(p.issuer+provider.TokenPath, grant); got.status != http.StatusOK {
		t.Fatalf("after a wrong secret for the client's id: %d %s, want 200", got.status, got.body)
	}

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {md.ClientID}, "client_secret": {md.ClientSecret}}
	checkCaught(t, tripwire.send(http.MethodPost, provider.TokenPath, form, nil))
	if got := rp.post(p.issuer+provider.TokenPath, grant); got.status != http.StatusUnauthorized {
		t.Errorf("after the secret was sent to the tripwire: %d %s, want 401", got.status, got.body)
	}

	// Rotating the secret is how an admin recovers.
	rotated, err := p.app.clientRegistry.RotateSecret(context.Background(), md.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	rp.config.ClientSecret = rotated.ClientSecret
	if got := rp.post(p.issuer+provider.TokenPath, grant); got.status != http.StatusOK {
		t.Errorf("after rotation: %d %s, want 200", got.status, got.body)
	}
}

func TestTripwireForcesPasswordChange(t *testing.T) {
	p := newTestProvider(t)
	user := p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	tok := userTokens(t, p, rp)
	tripwire := p.newTripwire()
	ctx := context.Background()

	checkCaught(t, tripwire.send(http.MethodPost, "/login", url.Values{"username": {"alice"}, "password": {"wrong password"}}, nil))
	if u, err := p.app.store.User(ctx, user.ID); err != nil || u.PasswordChangeRequired {
		t.Fatalf("after a wrong password: PasswordChangeRequired = %v (err %v), want false", u.PasswordChangeRequired, err)
	}

	checkCaught(t, tripwire.send(http.MethodPost, "/login", url.Values{"username": {"alice"}, "password": {testPassword}}, nil))
	u, err := p.app.store.User(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !u.PasswordChangeRequired {
		t.Error("after the password was sent to the tripwire: PasswordChangeRequired = false, want true")
	}
	if got := rp.introspect(tok.json["access_token"].(string)); got.json["active"] != false {
		t.Errorf("access token of the user: %s, want inactive", got.body)
	}
}

func TestTripwireSameBodyForEveryCredential(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	tok := userTokens(t, p, rp)

	basic := func(name, secret string) http.Header {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.SetBasicAuth(name, secret)
		return http.Header{"Authorization": {r.Header.Get("Authorization")}}
	}
	tests := []struct {
		name   string
		method string
		target string
		form   url.Values
		header http.Header
	}{
		{"valid access token", http.MethodGet, "/userinfo", nil, bearer(tok.json["access_token"].(string))},
		{"unknown access token", http.MethodGet, "/userinfo", nil, bearer(provider.PrefixAccessToken + "x.y")},
		{"valid refresh token", http.MethodPost, "/oauth2/token", url.Values{"refresh_token": {tok.json["refresh_token"].(string)}}, nil},
		{"unknown refresh token", http.MethodPost, "/oauth2/token", url.Values{"refresh_token": {"idp_rt_x.y"}}, nil},
		{"unknown code", http.MethodGet, "/cb?code=idp_ac_x.y", nil, nil},
		{"unprefixed token", http.MethodPost, "/oauth2/revoke", url.Values{"token": {"abc.def"}}, nil},
		{"valid client secret", http.MethodPost, "/oauth2/token", nil, basic(md.ClientID, md.ClientSecret)},
		{"unknown client", http.MethodPost, "/oauth2/token", url.Values{"client_id": {"nobody"}, "client_secret": {"x"}}, nil},
		{"client assertion", http.MethodPost, "/oauth2/token", url.Values{"client_assertion": {"eyJ.e30.x"}}, nil},
		{"wrong password", http.MethodPost, "/login", url.Values{"username": {"alice"}, "password": {"guess"}}, nil},
		{"unknown session", http.MethodGet, "/", nil, http.Header{"Cookie": {consent.SessionCookie + "=nope"}}},
		{"other scheme", http.MethodGet, "/", nil, http.Header{"Authorization": {"Digest x"}}},
		{"no credential on POST", http.MethodPost, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, nil},
	}
	tripwire := p.newTripwire()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCaught(t, tripwire.send(tt.method, tt.target, tt.form, tt.header))
		})
	}
}

func TestTripwireRedirectsToIssuer(t *testing.T) {
	p := newTestProvider(t)
	tripwire := p.newTripwire()
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			got := tripwire.send(method, "/oauth2/authorize?client_id=app&scope=openid+email", nil,
				http.Header{"Cookie": {"theme=dark"}})
			if got.status != http.StatusPermanentRedirect {
				t.Fatalf("status = %d, want 308", got.status)
			}
			want := p.issuer + "/oauth2/authorize?client_id=app&scope=openid+email"
			if loc := got.header.Get("Location"); loc != want {
				t.Errorf("Location = %q, want %q", loc, want)
			}
			if !strings.HasPrefix(want, "https://") {
				t.Errorf("issuer %q is not https", p.issuer)
			}
		})
	}
}

func TestTripwireEventsHoldNoCredential(t *testing.T) {
	p := newTestProvider(t)
	user := p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	tok := userTokens(t, p, rp)
	access := tok.json["access_token"].(string)
	tripwire := p.newTripwire()

	checkCaught(t, tripwire.send(http.MethodGet, "/userinfo?x=1", nil, bearer(access)))
	checkCaught(t, tripwire.send(http.MethodPost, "/oauth2/token", url.Values{
		"client_id": {md.ClientID}, "client_secret": {md.ClientSecret},
	}, nil))
	checkCaught(t, tripwire.send(http.MethodPost, "/login", url.Values{"username": {"alice"}, "password": {testPassword}}, nil))

	events, err := p.app.store.ListEvents(context.Background(), storage.EventFilter{Kind: storage.EventTripwireCaught})
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]storage.SecurityEvent{}
	for _, e := range events {
		byKind[e.CredentialKind] = e
	}
	if len(events) != 3 {
		t.Fatalf("recorded %d tripwire events, want 3: %+v", len(events), events)
	}

	at := byKind["access_token"]
	if at.ClientID != md.ClientID || at.UserID != user.ID {
		t.Errorf("access token event: client %q user %q, want %q %q", at.ClientID, at.UserID, md.ClientID, user.ID)
	}
	if at.Path != "/userinfo" || at.Method != http.MethodGet {
		t.Errorf("access token event: %s %s, want GET /userinfo without the query", at.Method, at.Path)
	}
	if at.UserAgent != "tripwire-test" || at.RemoteAddr != "127.0.0.1" {
		t.Errorf("access token event: user agent %q from %q", at.UserAgent, at.RemoteAddr)
	}
	if cs := byKind["client_secret"]; cs.ClientID != md.ClientID {
		t.Errorf("client secret event: client %q, want %q", cs.ClientID, md.ClientID)
	}
	if pw := byKind["password"]; pw.UserID != user.ID {
		t.Errorf("password event: user %q, want %q", pw.UserID, user.ID)
	}

	stored, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	logs := p.logs.String()
	if !strings.Contains(logs, "credential sent over plain HTTP") {
		t.Errorf("log has no tripwire line:\n%s", logs)
	}
	for name, secret := range map[string]string{
		"access token":  access,
		"client secret": md.ClientSecret,
		"password":      testPassword,
	} {
		if strings.Contains(string(stored), secret) {
			t.Errorf("stored events contain the %s", name)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("log contains the %s", name)
		}
	}
}

func TestTripwireFloodIsLimited(t *testing.T) {
	p := newTestProvider(t)
	tripwire := p.newTripwire()
	for i := range 100 {
		got := tripwire.send(http.MethodGet, "/", nil, nil)
		if got.status == http.StatusTooManyRequests {
			if got.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			return
		}
		if got.status != http.StatusPermanentRedirect {
			t.Fatalf("request %d: status %d, want 308 or 429", i+1, got.status)
		}
	}
	t.Fatal("100 requests in a row were never limited")
}

func TestPasswordChangeAtSignIn(t *testing.T) {
	p := newTestProvider(t)
	user := p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	checkCaught(t, p.newTripwire().send(http.MethodPost, "/login",
		url.Values{"username": {"alice"}, "password": {testPassword}}, nil))

	// The caught password is revoked outright, so anyone who saw it on the
	// wire cannot use it to choose the next password.
	thief := p.newBrowser()
	thiefLogin := thief.get(rp.authURL(oauth2.GenerateVerifier(), nil))
	if got := thief.submit(thiefLogin, url.Values{"username": {"alice"}, "password": {testPassword}}); got.status != http.StatusUnauthorized {
		t.Fatalf("sign-in with the caught password: got %d at %s, want 401", got.status, got.url)
	}

	// An admin sets a temporary password, which alice must replace.
	const temporary = "temporary passphrase 1"
	if err := p.app.users.SetPassword(context.Background(), user.ID, temporary); err != nil {
		t.Fatal(err)
	}
	if err := p.app.users.RequirePasswordChange(context.Background(), user.ID); err != nil {
		t.Fatal(err)
	}

	b := p.newBrowser()
	verifier := oauth2.GenerateVerifier()
	login := b.get(rp.authURL(verifier, nil))
	cookieBefore := sessionCookie(b)
	form := b.submit(login, url.Values{"username": {"alice"}, "password": {temporary}})
	if form.status != http.StatusOK || !strings.Contains(form.body, `name="new_password"`) {
		t.Fatalf("sign-in of a user who must change password: got %d at %s, want the password form:\n%s",
			form.status, form.url, form.body)
	}
	if after := sessionCookie(b); after == cookieBefore {
		t.Error("session cookie kept its value when the password form was shown")
	}
	if got := b.get(rp.authURL(oauth2.GenerateVerifier(), nil)); !strings.Contains(got.body, `name="username"`) {
		t.Errorf("a new request while the change is pending: got %d at %s, want the login page", got.status, got.url)
	}

	rejected := []struct {
		name      string
		password  string
		confirm   string
		wantInMsg string
	}{
		{"mismatch", "new password one", "new password two", "do not match"},
		{"current password", temporary, temporary, "is your current password"},
		{"too short", "short", "short", "minimum is 8 characters"},
	}
	for _, tt := range rejected {
		t.Run(tt.name, func(t *testing.T) {
			got := b.submit(form, url.Values{"new_password": {tt.password}, "confirm_password": {tt.confirm}})
			if got.status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", got.status)
			}
			if !strings.Contains(got.body, tt.wantInMsg) {
				t.Errorf("page lacks %q:\n%s", tt.wantInMsg, got.body)
			}
		})
	}

	// Another browser cannot finish the change, even with the form's
	// CSRF token.
	if got := p.newBrowser().submit(form, url.Values{
		"new_password": {"attacker password"}, "confirm_password": {"attacker password"},
	}); got.status == http.StatusSeeOther || got.status == http.StatusOK {
		t.Errorf("password form from another browser: got %d at %s, want an error", got.status, got.url)
	}

	const newPassword = "a brand new passphrase"
	consentPage := b.submit(form, url.Values{"new_password": {newPassword}, "confirm_password": {newPassword}})
	if !strings.Contains(consentPage.body, `name="decision"`) {
		t.Fatalf("after the password change: got %d at %s, want the consent page:\n%s",
			consentPage.status, consentPage.url, consentPage.body)
	}
	back := b.submit(consentPage, url.Values{"decision": {"approve"}})
	code, _ := url.Parse(back.location)
	if back.status != http.StatusSeeOther || code == nil || code.Query().Get("code") == "" {
		t.Fatalf("after consent: got %d to %q, want a code", back.status, back.location)
	}
	if got := rp.exchange(code.Query().Get("code"), verifier); got.status != http.StatusOK {
		t.Errorf("code exchange: %d %s", got.status, got.body)
	}

	u, err := p.app.store.User(context.Background(), user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordChangeRequired {
		t.Error("PasswordChangeRequired still set after the change")
	}
	fresh := p.newBrowser()
	old := fresh.get(rp.authURL(oauth2.GenerateVerifier(), nil))
	if got := fresh.submit(old, url.Values{"username": {"alice"}, "password": {temporary}}); got.status != http.StatusUnauthorized {
		t.Errorf("old password after the change: got %d at %s, want 401", got.status, got.url)
	}
	again := signIn(t, p.newBrowser(), rp.authURL(oauth2.GenerateVerifier(), nil), "alice", newPassword)
	if again.Query().Get("code") == "" {
		t.Errorf("new password: no code in %s", again)
	}
}

func TestPasswordFormNeedsPendingChange(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	b := p.newBrowser()
	login := b.get(rp.authURL(oauth2.GenerateVerifier(), nil))

	got := b.get(login.url.String() + "&step=password")
	if !strings.Contains(got.body, `name="username"`) || strings.Contains(got.body, `name="new_password"`) {
		t.Errorf("password step without a pending change: got %d at %s, want the login page", got.status, got.url)
	}
}

// sessionCookie returns the value of b's login session cookie.
func sessionCookie(b *browser) string {
	for _, c := range b.client.Jar.Cookies(b.issuer) {
		if c.Name == consent.SessionCookie {
			return c.Value
		}
	}
	return ""
}
