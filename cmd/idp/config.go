package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/idp/idp/scopes"
)

// Config is every setting idp reads. loadConfig fills it from flags,
// IDP_* environment variables, the YAML file and defaults, in that order
// of precedence. The defaults below are those of defaultConfig and
// applyDerivedDefaults.
type Config struct {
	// ConfigFile is the YAML file the settings were read from, "" when
	// none was named.
	ConfigFile string

	// Issuer is the public base URL of the provider, the iss claim of
	// every ID token. Default "", or with Dev http://localhost:8080 or
	// the address of Listen when it is set.
	Issuer string
	// Listen is the host:port the provider listens on. Default: the
	// issuer's port on every interface (":443" for https without a
	// port); with Dev, on the issuer's loopback address only.
	Listen string
	// Database is a SQLite file path or a postgres:// URL. Default
	// ./idp.db, or ./idp-dev.db with Dev.
	Database string
	// Dev reports whether idp runs as a local development server: plain
	// HTTP on a loopback issuer, a generated system secret and demo
	// data. Default false.
	Dev bool

	// TLSCert and TLSKey are the PEM files of the HTTPS certificate
	// chain and its private key. Both or neither are set.
	TLSCert string
	TLSKey  string
	// PprofListen is the loopback address of a Go profiling listener
	// (net/http/pprof), "" for none. Default "".
	PprofListen string
	// HTTPTripwire is the address of the plain-HTTP tripwire listener,
	// "" for none. Default "".
	HTTPTripwire string
	// HSTSPreload adds "; preload" to Strict-Transport-Security. Default
	// false, because preloading commits the whole registered domain.
	HSTSPreload bool
	// TrustedProxies are the networks of reverse proxies whose
	// X-Forwarded-For and X-Forwarded-Proto headers are believed. Setting
	// one also declares that a proxy terminates TLS in front of idp.
	TrustedProxies []netip.Prefix

	// SystemSecretFile is a file containing the system secret, the current
	// one on the first non-empty line and previous ones after it. The
	// secret can instead come from IDP_SYSTEM_SECRET.
	SystemSecretFile string

	// AdminListen is the host:port of the admin API. Default
	// 127.0.0.1:8081.
	AdminListen string
	// AdminTokenFile is a file containing the admin API bearer tokens, one
	// per non-empty line and at most two, so a token can be rotated. The
	// tokens can instead come from IDP_ADMIN_TOKEN and
	// IDP_ADMIN_TOKEN_PREVIOUS.
	AdminTokenFile string

	// AuthCodeLifetime is how long an authorization code can be
	// redeemed. Default 1m.
	AuthCodeLifetime time.Duration
	// AccessTokenLifetime is how long an access token is valid. Default
	// 5m.
	AccessTokenLifetime time.Duration
	// IDTokenLifetime is the time between an ID token's iat and exp.
	// Default 5m.
	IDTokenLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token stays valid
	// without use. Default 720h.
	RefreshTokenLifetime time.Duration
	// RefreshFamilyLifetime is the absolute lifetime of a chain of
	// rotated refresh tokens, counted from the authorization. Default
	// 2160h.
	RefreshFamilyLifetime time.Duration
	// LoginSessionIdleTimeout ends a login session that has not been
	// used for this long. Default 1h.
	LoginSessionIdleTimeout time.Duration
	// LoginSessionLifetime ends a login session this long after sign-in,
	// however active it is. Default 12h.
	LoginSessionLifetime time.Duration
	// AuthFlowLifetime is how long a user has to finish signing in and
	// consenting once an authorization request arrives. Default 10m.
	AuthFlowLifetime time.Duration
	// JWKSCacheLifetime is the max-age of the JWKS response, so also how
	// long a new signing key is published before it signs. Default 15m.
	JWKSCacheLifetime time.Duration
	// ClockSkew is the tolerance for clocks that differ between idp and
	// its relying parties or between idp instances. Default 60s.
	ClockSkew time.Duration
	// JanitorInterval is how often expired rows are deleted. Default 1m.
	JanitorInterval time.Duration
	// EventRetention is how long security events are kept. Default
	// 2160h (90 days).
	EventRetention time.Duration

	// PasswordHashConcurrency is the maximum number of argon2id password
	// hashes computed at once; each takes 19 MiB of memory. Default 2.
	PasswordHashConcurrency int

	// Scopes are the custom scopes offered next to the OpenID Connect
	// ones. They are read from the YAML file only.
	Scopes []scopes.Scope

	// LogLevel is the minimum level logged. Default slog.LevelInfo.
	LogLevel slog.Level
	// LogFormat is the log line encoding. Default LogFormatJSON, or
	// LogFormatText with Dev.
	LogFormat LogFormat

	// origins records where each setting's value came from, keyed by
	// flag name, so an error can point at the place to fix it.
	origins map[string]string
}

// LogFormat is the encoding of log lines.
type LogFormat string

// Log formats.
const (
	LogFormatJSON LogFormat = "json"
	LogFormatText LogFormat = "text"
)

// Defaults that depend on no other setting.
const (
	defaultDatabase    = "./idp.db"
	defaultDevDatabase = "./idp-dev.db"
	defaultDevIssuer   = "http://localhost:8080"
	defaultAdminListen = "127.0.0.1:8081"
)

// defaultConfig returns the defaults that do not depend on other
// settings. applyDerivedDefaults fills in the rest once every source has
// been read.
func defaultConfig() *Config {
	return &Config{
		AdminListen:             defaultAdminListen,
		AuthCodeLifetime:        time.Minute,
		AccessTokenLifetime:     5 * time.Minute,
		IDTokenLifetime:         5 * time.Minute,
		RefreshTokenLifetime:    720 * time.Hour,
		RefreshFamilyLifetime:   2160 * time.Hour,
		LoginSessionIdleTimeout: time.Hour,
		LoginSessionLifetime:    12 * time.Hour,
		AuthFlowLifetime:        10 * time.Minute,
		JWKSCacheLifetime:       15 * time.Minute,
		ClockSkew:               60 * time.Second,
		JanitorInterval:         time.Minute,
		EventRetention:          2160 * time.Hour,
		PasswordHashConcurrency: 2,
		LogLevel:                slog.LevelInfo,
		origins:                 map[string]string{},
	}
}

// applyDerivedDefaults fills in the settings whose default depends on
// --dev or on the issuer, when no source set them.
func (c *Config) applyDerivedDefaults() {
	if c.Database == "" {
		c.Database = defaultDatabase
		if c.Dev {
			c.Database = defaultDevDatabase
		}
	}
	if c.Issuer == "" && c.Dev {
		c.Issuer = devIssuer(c.Listen)
	}
	if c.Listen == "" {
		c.Listen = c.defaultListen()
	}
	if c.LogFormat == "" {
		c.LogFormat = LogFormatJSON
		if c.Dev {
			c.LogFormat = LogFormatText
		}
	}
}

// devIssuer returns the issuer of a --dev server that listens on
// listen, so that the demo links and redirect URIs point at the port it
// serves: http://localhost:8080 when listen is empty, and otherwise
// listen's address, with localhost for an empty or unspecified host.
// An invalid listen gives the default; ValidateServe reports it.
func devIssuer(listen string) string {
	if listen == "" {
		return defaultDevIssuer
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return defaultDevIssuer
	}
	if addr, err := netip.ParseAddr(host); host == "" || (err == nil && addr.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// defaultListen derives the listen address from the issuer's port. It
// returns "" when the issuer is not a valid URL, which ValidateServe
// reports.
func (c *Config) defaultListen() string {
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	host := ""
	if c.Dev {
		// The dev server has demo accounts with published passwords,
		// so by default it is reachable from this machine only.
		host = "127.0.0.1"
		if addr, err := netip.ParseAddr(u.Hostname()); err == nil && addr.IsLoopback() {
			host = addr.String()
		}
	}
	return net.JoinHostPort(host, port)
}

// origin returns where the setting registered as flag name got its
// value, such as "environment variable IDP_ISSUER".
func (c *Config) origin(name string) string {
	if o := c.origins[name]; o != "" {
		return o
	}
	return "default"
}

// settingError returns an error about the setting registered as flag
// name, naming the value, where it came from and what is wrong with it.
func (c *Config) settingError(name string, value any, problem string, args ...any) error {
	return fmt.Errorf("invalid --%s %q (from %s): %s",
		name, fmt.Sprint(value), c.origin(name), fmt.Sprintf(problem, args...))
}

// lifetimeLimit is the allowed range of one duration setting.
type lifetimeLimit struct {
	name     string
	value    time.Duration
	min, max time.Duration
}

// Validate checks the settings every command reads.
func (c *Config) Validate() error {
	if c.Database == "" {
		return c.settingError("database", c.Database,
			"the database is empty; set a SQLite file path or a postgres:// URL")
	}
	if c.PasswordHashConcurrency < 1 || c.PasswordHashConcurrency > 256 {
		return c.settingError("password-hash-concurrency", c.PasswordHashConcurrency,
			"must be between 1 and 256; each concurrent hash takes 19 MiB of memory")
	}
	if _, err := scopes.NewCatalog(c.Scopes); err != nil {
		return fmt.Errorf("invalid scopes in config file %s: %w", c.ConfigFile, err)
	}
	return c.validateLifetimes()
}

// validateLifetimes checks every duration against its range, then the
// pairs that must be ordered.
func (c *Config) validateLifetimes() error {
	limits := []lifetimeLimit{
		{"auth-code-lifetime", c.AuthCodeLifetime, time.Second, 10 * time.Minute},
		{"access-token-lifetime", c.AccessTokenLifetime, time.Second, 24 * time.Hour},
		{"id-token-lifetime", c.IDTokenLifetime, time.Second, 24 * time.Hour},
		{"refresh-token-lifetime", c.RefreshTokenLifetime, time.Minute, 8760 * time.Hour},
		{"refresh-family-lifetime", c.RefreshFamilyLifetime, time.Minute, 8760 * time.Hour},
		{"login-session-idle-timeout", c.LoginSessionIdleTimeout, time.Minute, 720 * time.Hour},
		{"login-session-lifetime", c.LoginSessionLifetime, time.Minute, 720 * time.Hour},
		{"auth-flow-lifetime", c.AuthFlowLifetime, time.Minute, time.Hour},
		{"jwks-cache-lifetime", c.JWKSCacheLifetime, time.Second, 24 * time.Hour},
		{"clock-skew", c.ClockSkew, 0, 5 * time.Minute},
		{"janitor-interval", c.JanitorInterval, time.Second, 24 * time.Hour},
		{"event-retention", c.EventRetention, time.Hour, 87600 * time.Hour},
	}
	for _, l := range limits {
		if l.value < l.min || l.value > l.max {
			return c.settingError(l.name, l.value, "must be between %v and %v", l.min, l.max)
		}
	}

	if c.RefreshTokenLifetime > c.RefreshFamilyLifetime {
		return c.settingError("refresh-token-lifetime", c.RefreshTokenLifetime,
			"must not exceed --refresh-family-lifetime %v, which ends every refresh token first",
			c.RefreshFamilyLifetime)
	}
	if c.LoginSessionIdleTimeout > c.LoginSessionLifetime {
		return c.settingError("login-session-idle-timeout", c.LoginSessionIdleTimeout,
			"must not exceed --login-session-lifetime %v", c.LoginSessionLifetime)
	}
	return nil
}

// ValidateServe checks the settings serve needs on top of Validate: an
// issuer URL idp can stand behind, TLS or a proxy that terminates it,
// and listen addresses.
func (c *Config) ValidateServe() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := c.validateIssuer(); err != nil {
		return err
	}
	// A trusted proxy's X-Forwarded-For names the client. Trusting
	// every address lets any client choose the address that throttling
	// and logs see.
	for _, p := range c.TrustedProxies {
		if p.Bits() == 0 {
			return c.settingError("trusted-proxy", p,
				"trusts every address, so any client could choose the address idp throttles by; "+
					"list the addresses or networks of your reverse proxies instead")
		}
	}

	// TLS is all or nothing: a certificate without its key cannot serve.
	if (c.TLSCert == "") != (c.TLSKey == "") {
		if c.TLSCert == "" {
			return c.settingError("tls-key", c.TLSKey, "--tls-cert is missing; set both or neither")
		}
		return c.settingError("tls-cert", c.TLSCert, "--tls-key is missing; set both or neither")
	}
	tls := c.TLSCert != ""
	if tls {
		if _, err := os.Stat(c.TLSCert); err != nil {
			return c.settingError("tls-cert", c.TLSCert, "%v", err)
		}
		if _, err := os.Stat(c.TLSKey); err != nil {
			return c.settingError("tls-key", c.TLSKey, "%v", err)
		}
	}

	// An http issuer is for --dev only, and an https issuer needs
	// someone to terminate TLS: idp itself or a trusted proxy.
	if strings.HasPrefix(c.Issuer, "http:") && tls {
		return c.settingError("issuer", c.Issuer,
			"idp serves HTTPS with --tls-cert, so the issuer must be an https URL")
	}
	if !tls && !c.Dev && len(c.TrustedProxies) == 0 {
		return errors.New("plain HTTP is not served without --dev: " +
			"set --tls-cert and --tls-key to serve HTTPS, " +
			"or set --trusted-proxy to the address of the reverse proxy that terminates TLS, " +
			"or use --dev for local development")
	}
	if strings.HasPrefix(c.Issuer, "https:") && !tls && len(c.TrustedProxies) == 0 {
		return c.settingError("issuer", c.Issuer,
			"the issuer is https but idp would serve plain HTTP; set --tls-cert and --tls-key, "+
				"or --trusted-proxy for a proxy that terminates TLS, or use an http issuer with --dev")
	}

	if err := checkHostPort(c.Listen); err != nil {
		return c.settingError("listen", c.Listen, "%v; use host:port or :port", err)
	}
	if err := checkHostPort(c.AdminListen); err != nil {
		return c.settingError("admin-listen", c.AdminListen, "%v; use host:port or :port", err)
	}
	// The dev server has demo accounts whose passwords it prints, so it
	// never listens beyond this machine.
	if c.Dev && !isLoopbackListen(c.Listen) {
		return c.settingError("listen", c.Listen,
			"--dev listens on loopback only, because its demo passwords are printed; use 127.0.0.1:PORT or [::1]:PORT")
	}
	if c.PprofListen != "" && !isLoopbackListen(c.PprofListen) {
		return c.settingError("pprof-listen", c.PprofListen,
			"profiles reveal memory contents, so the profiling listener binds to loopback only; use 127.0.0.1:PORT")
	}
	if c.HTTPTripwire != "" {
		if err := checkHostPort(c.HTTPTripwire); err != nil {
			return c.settingError("http-tripwire", c.HTTPTripwire, "%v; use host:port or :port", err)
		}
		if !strings.HasPrefix(c.Issuer, "https:") {
			return c.settingError("http-tripwire", c.HTTPTripwire,
				"the tripwire redirects to the https issuer, but the issuer is %s; leave it off with --dev", c.Issuer)
		}
	}
	// The admin API takes bearer tokens, which plain HTTP would expose
	// to anyone on the network.
	if !tls && !isLoopbackListen(c.AdminListen) {
		return c.settingError("admin-listen", c.AdminListen,
			"the admin listener serves plain HTTP only on loopback; "+
				"bind it to 127.0.0.1 or [::1], or set --tls-cert and --tls-key")
	}
	if c.Listen == c.AdminListen && !strings.HasSuffix(c.Listen, ":0") {
		return c.settingError("admin-listen", c.AdminListen,
			"the admin API needs an address of its own, not --listen's")
	}
	return nil
}

// validateIssuer checks the issuer against OpenID Connect Discovery 1.0
// section 3: an https URL with no query or fragment. idp also rejects a
// trailing slash, because relying parties compare the issuer as a
// string and /path/ would differ from /path.
func (c *Config) validateIssuer() error {
	if c.Issuer == "" {
		return c.settingError("issuer", c.Issuer,
			"the issuer is required; set it to the public https URL of idp, such as https://login.example.com")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return c.settingError("issuer", c.Issuer,
			"not an absolute URL; use the form https://login.example.com")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(c.Issuer, "#") {
		return c.settingError("issuer", c.Issuer, "remove the query and fragment")
	}
	if u.User != nil {
		return c.settingError("issuer", c.Issuer, "remove the user name and password")
	}
	if strings.HasSuffix(c.Issuer, "/") {
		return c.settingError("issuer", c.Issuer, "remove the trailing slash")
	}

	switch {
	case c.Dev && !isLoopbackHost(u.Hostname()):
		return c.settingError("issuer", c.Issuer,
			"--dev serves demo accounts, so its issuer must be on localhost or a loopback address, "+
				"such as %s", defaultDevIssuer)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && c.Dev:
		return nil
	case u.Scheme == "http":
		return c.settingError("issuer", c.Issuer,
			"an http issuer is allowed only with --dev; use an https issuer, or --dev for local development")
	default:
		return c.settingError("issuer", c.Issuer, "the scheme must be https")
	}
}

// isLoopbackHost reports whether host is localhost or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}

// checkHostPort checks that addr is a host:port with a numeric port.
// Port 0, which picks a free port, is allowed for tests.
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number between 0 and 65535", port)
	}
	return nil
}
