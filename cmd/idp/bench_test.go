package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/clients"
	"github.com/idp/idp/loadtest"
	"github.com/idp/idp/provider"
	"github.com/idp/idp/storage"
)

// handlerTransport serves each request with a handler in the same
// goroutine, so benchmarks measure idp's handlers without sockets. The
// request arrives as if over TLS from 127.0.0.1.
type handlerTransport struct {
	handler http.Handler
}

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.Host = req.URL.Host
	in.RemoteAddr = "127.0.0.1:40000"
	in.TLS = &tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13}
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.handler.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// benchIssuer is the issuer of benchmark providers. Requests never
// leave the process, because handlerTransport serves them.
const benchIssuer = "https://127.0.0.1"

// newBenchDriver wires a whole idp on a SQLite file, as serve does,
// registers a user and a client with every grant, and returns a
// loadtest driver whose requests go straight to idp's public handler.
func newBenchDriver(b *testing.B) *loadtest.Driver {
	b.Helper()
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.Issuer = benchIssuer
	cfg.Database = filepath.Join(b.TempDir(), "idp.db")
	cfg.applyDerivedDefaults()
	st, err := openStore(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })

	secret := make([]byte, 32)
	rand.Read(secret)
	keys, err := provider.DeriveKeys(secret)
	if err != nil {
		b.Fatal(err)
	}
	// Logs are formatted and dropped, so their cost is measured.
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	a, err := newApp(ctx, cfg, st, []provider.SecretKeys{keys}, logger, nil)
	if err != nil {
		b.Fatal(err)
	}
	const password = "correct horse battery staple"
	if _, err := a.users.Create(ctx, accounts.NewUser{
		Username: "alice",
		Password: password,
		Profile:  storage.User{Name: "Alice Example", Email: "alice@example.com", EmailVerified: true},
	}); err != nil {
		b.Fatal(err)
	}
	md, err := a.clientRegistry.Create(ctx, clients.Metadata{
		ClientName:   "Benchmark app",
		RedirectURIs: []string{loadtest.DefaultRedirectURI},
		GrantTypes:   []string{"authorization_code", "refresh_token", "client_credentials"},
		Scope:        "openid profile email offline_access",
	})
	if err != nil {
		b.Fatal(err)
	}

	issuer, _ := url.Parse(benchIssuer)
	client := loadtest.NewClient(handlerTransport{handler: a.handler()}, issuer)
	ep, err := loadtest.Discover(ctx, client, benchIssuer)
	if err != nil {
		b.Fatal(err)
	}
	return &loadtest.Driver{
		HTTP:         client,
		Endpoints:    ep,
		ClientID:     md.ClientID,
		ClientSecret: md.ClientSecret,
		Username:     "alice",
		Password:     password,
		RedirectURI:  loadtest.DefaultRedirectURI,
	}
}

// signedInJar returns a cookie jar whose session has signed in and
// remembered consent to "openid profile" for the driver's client.
func signedInJar(b *testing.B, d *loadtest.Driver) http.CookieJar {
	b.Helper()
	jar, _ := cookiejar.New(nil)
	if _, err := d.AuthCode(context.Background(), jar, "openid profile"); err != nil {
		b.Fatal(err)
	}
	return jar
}

func BenchmarkTokenClientCredentials(b *testing.B) {
	d := newBenchDriver(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.ClientCredentials(ctx, "profile"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIntrospect(b *testing.B) {
	d := newBenchDriver(b)
	ctx := context.Background()
	tok, err := d.ClientCredentials(ctx, "profile")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Introspect(ctx, tok.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefresh(b *testing.B) {
	d := newBenchDriver(b)
	ctx := context.Background()
	jar, _ := cookiejar.New(nil)
	tok, err := d.AuthCode(ctx, jar, "openid offline_access")
	if err != nil {
		b.Fatal(err)
	}
	current := tok.RefreshToken
	b.ReportAllocs()
	for b.Loop() {
		next, err := d.Refresh(ctx, current)
		if err != nil {
			b.Fatal(err)
		}
		current = next.RefreshToken
	}
}

// BenchmarkAuthorizeSSO measures the browser part of a flow for a
// session that signed in and remembered consent: the authorization
// request and its redirect with a code.
func BenchmarkAuthorizeSSO(b *testing.B) {
	d := newBenchDriver(b)
	jar := signedInJar(b, d)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.Authorize(ctx, jar, "openid profile"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCodeExchange measures the token request that redeems a code
// with its PKCE verifier and returns a signed ID token. Obtaining each
// code is not timed.
func BenchmarkCodeExchange(b *testing.B) {
	d := newBenchDriver(b)
	jar := signedInJar(b, d)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		code, verifier, err := d.Authorize(ctx, jar, "openid profile")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := d.ExchangeCode(ctx, code, verifier); err != nil {
			b.Fatal(err)
		}
	}
}
