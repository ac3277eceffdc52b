package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	"github.com/ory/fosite/token/hmac"
	"github.com/ory/fosite/token/jwt"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/consent"
	"github.com/idp/idp/scopes"
	"github.com/idp/idp/static"
	"github.com/idp/idp/storage"
)

// Lifetimes are how long each credential and record lives.
type Lifetimes struct {
	// AuthCode is the authorization code lifetime (default 1 minute).
	AuthCode time.Duration
	// AccessToken is the access token lifetime (default 5 minutes).
	AccessToken time.Duration
	// IDToken is the ID token lifetime (default 5 minutes).
	IDToken time.Duration
	// RefreshToken is how long a refresh token stays usable after it
	// was issued (default 30 days).
	RefreshToken time.Duration
	// RefreshFamily is the absolute lifetime of a refresh-token
	// family, however often it rotates (default 90 days).
	RefreshFamily time.Duration
	// AuthFlow is how long a person has to finish signing in and
	// approving (default 10 minutes).
	AuthFlow time.Duration
}

// DefaultLifetimes are the lifetimes used for zero fields.
var DefaultLifetimes = Lifetimes{
	AuthCode:      time.Minute,
	AccessToken:   5 * time.Minute,
	IDToken:       5 * time.Minute,
	RefreshToken:  30 * 24 * time.Hour,
	RefreshFamily: 90 * 24 * time.Hour,
	AuthFlow:      10 * time.Minute,
}

// Config is everything the provider needs. Fields without a stated
// default are required.
type Config struct {
	// Issuer is the issuer URL, for example https://id.example.com.
	Issuer string
	Store  *storage.Store
	// Secrets are the keys derived from the system secret, current first.
	Secrets []SecretKeys
	Catalog *scopes.Catalog
	// ClientHasher hashes and compares client secrets.
	ClientHasher fosite.Hasher
	Sessions     *consent.Sessions
	Pages        *consent.Pages
	Keys         *KeySet
	Lifetimes    Lifetimes
	// JWKSCacheLifetime is the max-age of the JWKS document (default
	// 15 minutes).
	JWKSCacheLifetime time.Duration
	// DevMode enables the demo pages under /dev/.
	DevMode bool
	// DevClientID and DevClientSecret are the demo client the dev pages
	// redeem codes for.
	DevClientID     string
	DevClientSecret string
	Logger          *slog.Logger
	// Throttle slows down repeated failed client authentication; nil
	// turns throttling off.
	Throttle *accounts.Throttle
	// ClientIP returns the address of the client behind a request
	// (default: the direct peer).
	ClientIP func(r *http.Request) netip.Addr
	// Events stores security events; nil records none.
	Events consent.EventRecorder
	// Metrics counts issued tokens; nil counts nothing.
	Metrics *Metrics
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Provider serves the OAuth 2.0 and OpenID Connect endpoints.
type Provider struct {
	cfg      Config
	oauth    *fosite.Fosite
	fosite   *fosite.Config
	tokens   *tokenStrategy
	idTokens *idTokenSigner
	issuer   *url.URL
}

// New builds a provider from cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.JWKSCacheLifetime == 0 {
		cfg.JWKSCacheLifetime = 15 * time.Minute
	}
	fillLifetimes(&cfg.Lifetimes)
	if cfg.Store == nil || cfg.Catalog == nil || cfg.ClientHasher == nil ||
		cfg.Sessions == nil || cfg.Pages == nil || cfg.Keys == nil || len(cfg.Secrets) == 0 {
		return nil, errors.New("provider: Store, Secrets, Catalog, ClientHasher, Sessions, Pages and Keys are required")
	}
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil || issuer.Host == "" {
		return nil, fmt.Errorf("provider: issuer %q is not an absolute URL", cfg.Issuer)
	}

	fc := newFositeConfig(cfg)
	p := &Provider{cfg: cfg, fosite: fc, issuer: issuer}
	p.tokens = &tokenStrategy{oauth2.NewHMACSHAStrategyUnPrefixed(&hmac.HMACStrategy{Config: fc}, fc)}
	p.idTokens = &idTokenSigner{
		issuer: cfg.Issuer,
		keys:   cfg.Keys,
		claims: p.userClaims,
		now:    cfg.Now,
	}
	p.oauth = p.compose(fc)
	return p, nil
}

func fillLifetimes(l *Lifetimes) {
	d := DefaultLifetimes
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&l.AuthCode, d.AuthCode},
		{&l.AccessToken, d.AccessToken},
		{&l.IDToken, d.IDToken},
		{&l.RefreshToken, d.RefreshToken},
		{&l.RefreshFamily, d.RefreshFamily},
		{&l.AuthFlow, d.AuthFlow},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
}

// newFositeConfig sets every fosite setting idp relies on explicitly,
// because fosite's defaults (15-minute codes, one-hour access tokens,
// hierarchic scopes) are not idp's.
func newFositeConfig(cfg Config) *fosite.Config {
	rotated := make([][]byte, 0, len(cfg.Secrets)-1)
	for _, s := range cfg.Secrets[1:] {
		rotated = append(rotated, s.TokenHMAC)
	}
	return &fosite.Config{
		AccessTokenLifespan:      cfg.Lifetimes.AccessToken,
		RefreshTokenLifespan:     cfg.Lifetimes.RefreshToken,
		AuthorizeCodeLifespan:    cfg.Lifetimes.AuthCode,
		IDTokenLifespan:          cfg.Lifetimes.IDToken,
		IDTokenIssuer:            cfg.Issuer,
		AccessTokenIssuer:        cfg.Issuer,
		TokenURL:                 strings.TrimSuffix(cfg.Issuer, "/") + TokenPath,
		ScopeStrategy:            fosite.ExactScopeStrategy,
		AudienceMatchingStrategy: fosite.DefaultAudienceMatchingStrategy,
		// PKCE: idp checks per client at both endpoints (pkce.go); the
		// global switches only keep public clients safe and plain out.
		EnforcePKCE:                    false,
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		AllowedPromptValues:            []string{"login", "none", "consent"},
		RefreshTokenScopes:             []string{scopes.OfflineAccess},
		ClientSecretsHasher:            cfg.ClientHasher,
		GlobalSecret:                   cfg.Secrets[0].TokenHMAC,
		RotatedGlobalSecrets:           rotated,
		SendDebugMessagesToClients:     false,
		OmitRedirectScopeParam:         false,
		MinParameterEntropy:            fosite.MinParameterEntropy,
		RedirectSecureChecker:          fosite.IsRedirectURISecureStrict,
	}
}

// compose wires fosite's handlers by hand rather than with
// compose.Compose, so the order and the strategies are visible here.
// fosite's OpenID Connect refresh handler is left out, so a refresh
// returns no new ID token (OpenID Connect Core section 12.2 allows
// this). Signing one was half the cost of a refresh, and the app
// already holds the ID token of the sign-in.
// idp's PKCE guard runs after the code handler has loaded the stored
// request and before fosite's PKCE handler deletes its record.
func (p *Provider) compose(fc *fosite.Config) *fosite.Fosite {
	store := p.cfg.Store.ForFosite()
	signerForHints := &jwt.DefaultSigner{GetPrivateKey: func(context.Context) (interface{}, error) {
		return nil, errors.New("id_token_hint is verified by idp before fosite sees the request")
	}}

	code := &oauth2.AuthorizeExplicitGrantHandler{
		AccessTokenStrategy:    p.tokens,
		RefreshTokenStrategy:   p.tokens,
		AuthorizeCodeStrategy:  p.tokens,
		CoreStorage:            store,
		TokenRevocationStorage: store,
		Config:                 fc,
	}
	refresh := &oauth2.RefreshTokenGrantHandler{
		AccessTokenStrategy:    p.tokens,
		RefreshTokenStrategy:   p.tokens,
		TokenRevocationStorage: store,
		Config:                 fc,
	}
	clientCredentials := &oauth2.ClientCredentialsGrantHandler{
		HandleHelper: &oauth2.HandleHelper{
			AccessTokenStrategy: p.tokens,
			AccessTokenStorage:  store,
			Config:              fc,
		},
		Config: fc,
	}
	idHelper := &openid.IDTokenHandleHelper{IDTokenStrategy: p.idTokens}
	oidcCode := &openid.OpenIDConnectExplicitHandler{
		OpenIDConnectRequestStorage:   store,
		IDTokenHandleHelper:           idHelper,
		OpenIDConnectRequestValidator: openid.NewOpenIDConnectRequestValidator(signerForHints, fc),
		Config:                        fc,
	}
	pkceHandler := &pkce.Handler{
		AuthorizeCodeStrategy: p.tokens,
		Storage:               store,
		Config:                fc,
	}
	guard := &pkceGuard{codes: p.tokens, store: store}
	validator := &oauth2.CoreValidator{CoreStrategy: p.tokens, CoreStorage: store, Config: fc}
	revocation := &oauth2.TokenRevocationHandler{
		TokenRevocationStorage: store,
		AccessTokenStrategy:    p.tokens,
		RefreshTokenStrategy:   p.tokens,
	}

	fc.AuthorizeEndpointHandlers.Append(code)
	fc.AuthorizeEndpointHandlers.Append(oidcCode)
	fc.AuthorizeEndpointHandlers.Append(pkceHandler)
	fc.TokenEndpointHandlers.Append(code)
	fc.TokenEndpointHandlers.Append(guard)
	fc.TokenEndpointHandlers.Append(refresh)
	fc.TokenEndpointHandlers.Append(clientCredentials)
	fc.TokenEndpointHandlers.Append(oidcCode)
	fc.TokenEndpointHandlers.Append(pkceHandler)
	fc.TokenIntrospectionHandlers.Append(validator)
	fc.RevocationHandlers.Append(revocation)

	return fosite.NewOAuth2Provider(store, fc)
}

// Endpoint paths.
const (
	TokenPath      = "/oauth2/token"
	RevokePath     = "/oauth2/revoke"
	IntrospectPath = "/oauth2/introspect"
	UserinfoPath   = "/userinfo"
	JWKSPath       = "/.well-known/jwks.json"
	DiscoveryPath  = "/.well-known/openid-configuration"
	// HealthPath returns 200 while the process runs. ReadyPath returns
	// 200 only when the database is reachable and fully migrated.
	HealthPath   = "/healthz"
	ReadyPath    = "/readyz"
	MetadataPath = "/.well-known/oauth-authorization-server"
)

// Handler returns the public HTTP handler: protocol endpoints, pages,
// static files and, in dev mode, the demo pages.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+consent.AuthorizePath, p.authorize)
	mux.HandleFunc("POST "+consent.AuthorizePath, p.authorize)
	mux.HandleFunc("POST "+TokenPath, p.withCORS(p.token, claimedClientID))
	mux.HandleFunc("OPTIONS "+TokenPath, p.preflight("POST"))
	mux.HandleFunc("POST "+RevokePath, p.withCORS(p.revoke, claimedClientID))
	mux.HandleFunc("OPTIONS "+RevokePath, p.preflight("POST"))
	mux.HandleFunc("POST "+IntrospectPath, p.introspect)
	mux.HandleFunc("GET "+UserinfoPath, p.withCORS(p.userinfo, p.accessTokenOwner))
	mux.HandleFunc("POST "+UserinfoPath, p.withCORS(p.userinfo, p.accessTokenOwner))
	mux.HandleFunc("OPTIONS "+UserinfoPath, p.preflight("GET, POST"))
	mux.HandleFunc("GET "+DiscoveryPath, p.discovery)
	mux.HandleFunc("GET "+MetadataPath, p.metadata)
	mux.HandleFunc("GET "+JWKSPath, p.jwks)
	mux.HandleFunc("GET "+HealthPath, p.healthz)
	mux.HandleFunc("GET "+ReadyPath, p.readyz)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles()))
	if p.cfg.DevMode {
		mux.HandleFunc("GET "+DevStartPath, p.devStart)
		mux.HandleFunc("GET "+DevCallbackPath, p.devCallback)
	}

	pages := http.NewServeMux()
	p.cfg.Pages.Register(pages)
	cop := http.NewCrossOriginProtection()
	protected := cop.Handler(pages)
	for _, path := range []string{consent.LoginPath, consent.ConsentPath, consent.LogoutPath} {
		mux.Handle(path, protected)
	}
	mux.HandleFunc("/", p.notFound)

	return securityHeaders(mux)
}

// staticFiles serves the embedded CSS and images, and no directory
// listings.
func staticFiles() http.Handler {
	files := http.FileServerFS(static.FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every response carries. Pages
// replace the Content-Security-Policy with their own.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}

// healthz reports that the process is alive.
func (p *Provider) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz reports whether this instance can serve: the database is reachable
// and its schema is the one this binary expects.
func (p *Provider) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := p.cfg.Store.Ping(r.Context()); err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "readiness check: database unreachable", "err", err)
		http.Error(w, "database unreachable", http.StatusServiceUnavailable)
		return
	}
	if err := p.cfg.Store.CheckSchema(r.Context()); err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "readiness check: schema", "err", err)
		http.Error(w, "database schema not current", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func (p *Provider) notFound(w http.ResponseWriter, r *http.Request) {
	p.cfg.Pages.ShowError(w, http.StatusNotFound, "Not found", "There is no page at this address.")
}

// clientIP returns the client address of a request.
func (p *Provider) clientIP(r *http.Request) netip.Addr {
	if p.cfg.ClientIP != nil {
		return p.cfg.ClientIP(r)
	}
	return remoteAddr(r)
}

// userClaims returns the claims of a user for the granted scopes.
func (p *Provider) userClaims(ctx context.Context, userID string, granted []string) (map[string]any, error) {
	u, err := p.cfg.Store.User(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("load user %s: %w", userID, err)
	}
	return scopes.Claims(u, granted), nil
}
