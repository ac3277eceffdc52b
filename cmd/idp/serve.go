package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/clients"
	"github.com/idp/idp/consent"
	"github.com/idp/idp/provider"
	"github.com/idp/idp/scopes"
	"github.com/idp/idp/storage"
)

const serveDescription = `Run the provider: the OAuth 2.0 and OpenID Connect endpoints, the login and
consent pages, and the admin API when an admin token is configured.

Without --tls-cert and --tls-key, serve refuses to start unless --dev is
set or --trusted-proxy names the proxy that terminates TLS in front of it.
With --dev it runs on http://localhost:8080 with its own database
./idp-dev.db, a demo user and a demo client, for trying idp out.`

// shutdownTimeout bounds how long serve waits for requests in flight
// when it is asked to stop.
const shutdownTimeout = 30 * time.Second

// runServe starts the provider and blocks until ctx is cancelled.
func runServe(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "serve", "serve [flags]", serveDescription)
	addConfigFlags(fs)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newUsageError("serve", "serve takes no arguments, got %q", fs.Arg(0))
	}
	if err := cfg.ValidateServe(); err != nil {
		return err
	}
	logger := newLogger(c, cfg)
	setMemoryLimit(c, cfg, logger)
	// Check what can fail without the database first, so a start that
	// fails leaves no new database behind.
	files, err := checkServeFiles(ctx, c, cfg, logger)
	if err != nil {
		return err
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := provider.NewMetrics(registry)
	st, err := openObservedStore(ctx, cfg, metrics.ObserveQuery)
	if err != nil {
		return err
	}
	defer st.Close()

	if cfg.Dev {
		if err := markDevDatabase(ctx, st); err != nil {
			return err
		}
		logger.WarnContext(ctx, "development mode: plain HTTP, demo credentials; do not use in production", "issuer", cfg.Issuer)
	} else if err := rejectDevDatabase(ctx, cfg, st); err != nil {
		return err
	}

	secrets, err := loadSecretKeys(ctx, c, cfg, st)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, st, secrets, logger, metrics)
	if err != nil {
		return err
	}
	a.registry = registry
	if cfg.Dev {
		demo, err := ensureDemo(ctx, cfg, a)
		if err != nil {
			return err
		}
		a.provider, err = a.newProvider(demo)
		if err != nil {
			return err
		}
		printDemo(c, cfg, demo)
	}

	go runBackgroundJanitor(ctx, cfg, st, logger)
	if err := a.serve(ctx, c, cfg, files); err != nil {
		return err
	}
	// Close is idempotent, so the deferred call does nothing more.
	if err := st.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// serveFiles is what serve reads from files and the environment before
// it opens the database.
type serveFiles struct {
	// certs is the TLS certificate, nil without --tls-cert.
	certs *certReloader
	// adminTokens are the admin API's bearer tokens, none when it is off.
	adminTokens []string
}

// checkServeFiles reads and checks the admin tokens, the system secrets
// and the TLS files, none of which needs the database. A system secret
// that does not match an existing database is found only once the
// database is open.
func checkServeFiles(ctx context.Context, c *cli, cfg *Config, logger *slog.Logger) (serveFiles, error) {
	var files serveFiles
	var err error
	if files.adminTokens, err = loadAdminTokens(c, cfg); err != nil {
		return files, err
	}

	// Under --dev a missing secret is no error: the --dev database
	// stores one, or serve creates it with the database.
	if _, err := loadSecretKeys(ctx, c, cfg, nil); err != nil && !(cfg.Dev && errors.Is(err, errNoSystemSecret)) {
		return files, err
	}

	if cfg.TLSCert == "" {
		return files, nil
	}
	files.certs, err = newCertReloader(cfg.TLSCert, cfg.TLSKey, logger)
	return files, err
}

// defaultMemoryLimit is the soft memory limit serve sets when
// GOMEMLIMIT is unset: the Go runtime collects garbage harder as the
// heap nears it, which keeps the peaks of argon2id sign-ins (19 MiB
// each) from doubling the process size.
const defaultMemoryLimit = 64 << 20

// setMemoryLimit applies defaultMemoryLimit, raised to fit the argon2id
// hashes allowed at once, unless GOMEMLIMIT sets a limit of its own; it
// then lets the heap grow to three times the live data (GOGC=200)
// unless GOGC is set.
func setMemoryLimit(c *cli, cfg *Config, logger *slog.Logger) {
	if c.getenv("GOMEMLIMIT") != "" {
		return
	}
	limit := int64(defaultMemoryLimit)
	if need := int64(cfg.PasswordHashConcurrency)*int64(accounts.DefaultParams.Memory)<<10 + 24<<20; need > limit {
		limit = need
	}
	debug.SetMemoryLimit(limit)
	// Under the limit, collecting half as often saves CPU on the hot
	// paths, which allocate mostly short-lived request data.
	if c.getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	logger.Debug("soft memory limit set", "bytes", limit)
}

// newLogger builds the process logger: JSON by default, text in --dev.
func newLogger(c *cli, cfg *Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == LogFormatText {
		return slog.New(slog.NewTextHandler(c.stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(c.stderr, opts))
}

// app is the provider with everything it is built from.
type app struct {
	cfg     *Config
	store   *storage.Store
	secrets []provider.SecretKeys
	logger  *slog.Logger
	catalog *scopes.Catalog
	// clientRegistry registers and changes clients.
	clientRegistry *clients.Registry
	// registry holds the Prometheus metrics served on the admin
	// listener; nil in tests.
	registry  *prometheus.Registry
	metrics   *provider.Metrics
	events    *provider.CountingRecorder
	users     *accounts.Directory
	keys      *provider.KeySet
	sessions  *consent.Sessions
	pages     *consent.Pages
	provider  *provider.Provider
	transport *provider.Transport
	throttle  *accounts.Throttle
}

// newApp wires the provider from a loaded configuration and an open,
// migrated store. It creates the first signing key when none exists.
func newApp(ctx context.Context, cfg *Config, st *storage.Store, secrets []provider.SecretKeys, logger *slog.Logger, metrics *provider.Metrics) (*app, error) {
	now := time.Now
	catalog, err := scopes.NewCatalog(cfg.Scopes)
	if err != nil {
		return nil, fmt.Errorf("scopes in %s: %w", cfg.ConfigFile, err)
	}
	hasher, err := clients.NewSecretHasher(clientHashKeys(secrets)...)
	if err != nil {
		return nil, err
	}
	views, err := consent.NewViews()
	if err != nil {
		return nil, err
	}

	a := &app{cfg: cfg, store: st, secrets: secrets, logger: logger, catalog: catalog, metrics: metrics}
	a.events = &provider.CountingRecorder{Next: st, Metrics: metrics}
	a.clientRegistry = &clients.Registry{
		Store:  st,
		Hasher: hasher,
		Validate: clients.ValidateOptions{
			AllowLocalhostHTTP: cfg.Dev,
			KnownScope:         catalog.Known,
		},
		Now:    now,
		Events: a.events,
		Logger: logger,
		Source: "via idp serve",
	}
	a.users = &accounts.Directory{
		Store:  st,
		Hasher: accounts.NewHasher(accounts.DefaultParams, cfg.PasswordHashConcurrency),
		Now:    now,
		Logger: logger,
	}
	a.keys = &provider.KeySet{
		Store:           st,
		Secrets:         secrets,
		IDTokenLifetime: cfg.IDTokenLifetime,
		ClockSkew:       cfg.ClockSkew,
		Now:             now,
	}
	if err := a.keys.EnsureKey(ctx); err != nil {
		return nil, err
	}
	a.sessions = &consent.Sessions{
		Store:          st,
		CSRFKey:        secrets[0].CSRF,
		IdleTimeout:    cfg.LoginSessionIdleTimeout,
		Lifetime:       cfg.LoginSessionLifetime,
		InsecureCookie: cfg.Dev && strings.HasPrefix(cfg.Issuer, "http://"),
		Now:            now,
	}
	a.transport = &provider.Transport{
		TrustedProxies: cfg.TrustedProxies,
		HSTSPreload:    cfg.HSTSPreload,
		RequireHTTPS:   !cfg.Dev,
		Logger:         logger,
		Metrics:        metrics,
	}
	a.throttle = &accounts.Throttle{Store: st, Now: now}
	a.pages = &consent.Pages{
		Sessions: a.sessions,
		Store:    st,
		Users:    a.users,
		Catalog:  catalog,
		Views:    views,
		Logger:   logger,
		Throttle: a.throttle,
		ClientIP: a.transport.ClientIP,
		Events:   a.events,
		DevMode:  cfg.Dev,
		Now:      now,
	}
	a.provider, err = a.newProvider(nil)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// newProvider builds the protocol handler; demo is the --dev demo
// client, nil outside --dev.
func (a *app) newProvider(demo *demoAccount) (*provider.Provider, error) {
	cfg := provider.Config{
		Issuer:       a.cfg.Issuer,
		Store:        a.store,
		Secrets:      a.secrets,
		Catalog:      a.catalog,
		ClientHasher: a.clientRegistry.Hasher,
		Sessions:     a.sessions,
		Pages:        a.pages,
		Keys:         a.keys,
		Lifetimes: provider.Lifetimes{
			AuthCode:      a.cfg.AuthCodeLifetime,
			AccessToken:   a.cfg.AccessTokenLifetime,
			IDToken:       a.cfg.IDTokenLifetime,
			RefreshToken:  a.cfg.RefreshTokenLifetime,
			RefreshFamily: a.cfg.RefreshFamilyLifetime,
			AuthFlow:      a.cfg.AuthFlowLifetime,
		},
		JWKSCacheLifetime: a.cfg.JWKSCacheLifetime,
		Logger:            a.logger,
		Throttle:          a.throttle,
		ClientIP:          a.transport.ClientIP,
		Events:            a.events,
		Metrics:           a.metrics,
	}
	if demo != nil {
		cfg.DevMode = true
		cfg.DevClientID = demo.clientID
		cfg.DevClientSecret = demo.clientSecret
	}
	return provider.New(cfg)
}

// handler returns the public handler with transport handling.
func (a *app) handler() http.Handler {
	return a.transport.Wrap(a.provider.Handler())
}

// serve runs the public listener, the admin listener and, when set,
// the profiling listener and the plain-HTTP tripwire until ctx is
// cancelled. It binds every address before it serves on any, so a port
// in use stops the start with an error. It then stops the servers
// gracefully and lets requests in flight finish.
func (a *app) serve(ctx context.Context, c *cli, cfg *Config, files serveFiles) error {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	useTLS := files.certs != nil
	if useTLS {
		tlsConfig.GetCertificate = files.certs.GetCertificate
	}
	public := newHTTPServer(cfg.Listen, a.handler(), a.logger)
	public.TLSConfig = tlsConfig
	listeners := []*servedListener{{
		name: "public", flag: "listen", server: public, useTLS: useTLS,
		attrs: []any{"issuer", cfg.Issuer, "tls", useTLS},
	}}

	admin, err := a.adminServer(cfg.AdminListen, files.adminTokens)
	if err != nil {
		return err
	}
	// Each server gets its own TLS configuration, cloned before either
	// starts: net/http adds its HTTP/2 settings to the one it is given.
	admin.TLSConfig = tlsConfig.Clone()
	listeners = append(listeners, &servedListener{
		name: "admin", flag: "admin-listen", server: admin, useTLS: useTLS,
		attrs: []any{"tls", useTLS},
	})

	if cfg.PprofListen != "" {
		profiles := http.NewServeMux()
		profiles.HandleFunc("/debug/pprof/", pprof.Index)
		profiles.HandleFunc("/debug/pprof/profile", pprof.Profile)
		profiles.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		profiles.HandleFunc("/debug/pprof/trace", pprof.Trace)
		server := &http.Server{Addr: cfg.PprofListen, Handler: profiles, ReadHeaderTimeout: 10 * time.Second}
		// A CPU profile or trace in flight would hold a graceful
		// shutdown for its whole duration, so this server is closed.
		listeners = append(listeners, &servedListener{
			name: "profiling", flag: "pprof-listen", server: server, closeOnStop: true,
		})
	}
	if cfg.HTTPTripwire != "" {
		// The tripwire is plain HTTP by design and skips Transport.Wrap,
		// which would reject it for not being HTTPS.
		tripwire := newHTTPServer(cfg.HTTPTripwire, a.provider.TripwireHandler(a.transport), a.logger)
		listeners = append(listeners, &servedListener{
			name: "plain-HTTP tripwire", flag: "http-tripwire", server: tripwire,
		})
	}

	if err := bindListeners(listeners); err != nil {
		return err
	}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		attrs := append([]any{"addr", l.listener.Addr().String()}, l.attrs...)
		a.logger.InfoContext(ctx, l.name+" listener started", attrs...)
		go func() {
			errc <- fmt.Errorf("%s listener %s: %w", l.name, l.server.Addr, l.serve())
		}()
	}

	select {
	case err := <-errc:
		return errors.Join(err, stopListeners(listeners))
	case <-ctx.Done():
	}
	a.logger.Info("shutting down, waiting for requests in flight")
	return stopListeners(listeners)
}

// servedListener is one HTTP server of serve and the socket it accepts
// connections on.
type servedListener struct {
	// name starts its log lines, such as "public" in "public listener
	// started".
	name string
	// flag is the setting that names the address, for errors.
	flag   string
	server *http.Server
	useTLS bool
	// attrs are log attributes added to the start line after the
	// bound address.
	attrs []any
	// closeOnStop reports whether stopping closes the connections at
	// once instead of waiting for requests in flight.
	closeOnStop bool
	// listener is the bound socket, nil until bindListeners succeeds.
	listener net.Listener
}

// serve accepts connections on the bound socket until the server stops.
func (l *servedListener) serve() error {
	if l.useTLS {
		// The certificate comes from server.TLSConfig.GetCertificate.
		return l.server.ServeTLS(l.listener, "", "")
	}
	return l.server.Serve(l.listener)
}

// bindListeners binds the address of every listener. When one address
// cannot be bound, it closes the sockets it already bound and returns
// an error naming the address and its setting.
func bindListeners(listeners []*servedListener) error {
	for i, l := range listeners {
		bound, err := net.Listen("tcp", l.server.Addr)
		if err == nil {
			l.listener = bound
			continue
		}
		for _, done := range listeners[:i] {
			_ = done.listener.Close()
			done.listener = nil
		}
		return fmt.Errorf("%s listener: bind %s failed: %w; stop the process that uses the address or change --%s",
			l.name, l.server.Addr, err, l.flag)
	}
	return nil
}

// stopListeners stops every server, all of them within shutdownTimeout,
// and returns the errors of the graceful shutdowns that failed.
func stopListeners(listeners []*servedListener) error {
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	var errs []error
	for _, l := range listeners {
		if l.closeOnStop {
			_ = l.server.Close()
			continue
		}
		if err := l.server.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s listener %s: %w", l.name, l.server.Addr, err))
		}
	}
	return errors.Join(errs...)
}

// adminServer returns the admin listener's server: Prometheus metrics
// at /metrics always, and the admin API under /admin/ once an admin
// token is configured.
func (a *app) adminServer(addr string, tokens []string) (*http.Server, error) {
	mux := http.NewServeMux()
	if a.registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	}
	if len(tokens) == 0 {
		a.logger.Info("admin API is off: set IDP_ADMIN_TOKEN or --admin-token-file to turn it on")
	} else {
		raw := make([][]byte, len(tokens))
		for i, t := range tokens {
			raw[i] = []byte(t)
		}
		h, err := clients.NewAdminHandler(clients.AdminConfig{
			Registry: a.clientRegistry, Tokens: raw, Logger: a.logger, Events: a.store,
		})
		if err != nil {
			return nil, fmt.Errorf("admin API: %w", err)
		}
		mux.Handle("/admin/", h)
	}
	return newHTTPServer(addr, mux, a.logger), nil
}

func newHTTPServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// isLoopbackListen reports whether a listen address binds only to a
// loopback interface.
func isLoopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// rejectDevDatabase refuses a database seeded by --dev outside --dev:
// its demo user and client have published credentials.
func rejectDevDatabase(ctx context.Context, cfg *Config, st *storage.Store) error {
	_, err := st.Setting(ctx, storage.SettingDevSeed)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the --dev marker from the database: %w", err)
	}
	return fmt.Errorf("database %s was created by idp serve --dev and holds demo credentials; "+
		"run it with --dev, or use a new database for production (--database)", redactDSN(cfg.Database))
}

// devURL returns the issuer URL with a path.
func devURL(issuer, path string) string {
	u, _ := url.Parse(issuer)
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}
