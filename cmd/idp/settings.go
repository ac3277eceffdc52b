package main

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"
)

// setting is one Config field and the names it has in each source.
type setting struct {
	// flag is the flag name without dashes.
	flag string
	// env is the environment variable, "" when there is none.
	env string
	// key is the YAML key, "" when the file cannot set the setting.
	key string
	// list reports whether the setting takes several values: a
	// repeatable flag, a comma-separated environment variable and a
	// YAML sequence.
	list bool
	// usage is the help text. A word in backquotes names the value's
	// kind, as with the flag package.
	usage string
	// bind returns a flag.Value that parses into the field of cfg.
	bind func(cfg *Config) flag.Value
}

// newSetting returns a setting whose environment variable and YAML key
// follow from the flag name: --access-token-lifetime is
// IDP_ACCESS_TOKEN_LIFETIME and access_token_lifetime.
func newSetting(name, usage string, bind func(*Config) flag.Value) setting {
	key := strings.ReplaceAll(name, "-", "_")
	return setting{
		flag:  name,
		env:   "IDP_" + strings.ToUpper(key),
		key:   key,
		usage: usage,
		bind:  bind,
	}
}

// settings lists every setting; --help shows them sorted by flag name.
var settings = []setting{
	{
		flag:  "config",
		env:   "IDP_CONFIG",
		usage: "read settings from the YAML `file`",
		bind:  func(c *Config) flag.Value { return stringValue{&c.ConfigFile} },
	},
	newSetting("issuer",
		"public base `URL` of idp and the iss claim of its tokens; https unless --dev "+
			"(default with --dev: "+defaultDevIssuer+", or http:// and the --listen address when it is set)",
		func(c *Config) flag.Value { return stringValue{&c.Issuer} }),
	newSetting("listen",
		"`host:port` the provider listens on (default: the issuer's port, 443 for https "+
			"without one; host 127.0.0.1 with --dev)",
		func(c *Config) flag.Value { return stringValue{&c.Listen} }),
	newSetting("database",
		"SQLite file `path` or postgres:// URL (default "+defaultDatabase+
			"; "+defaultDevDatabase+" with --dev)",
		func(c *Config) flag.Value { return stringValue{&c.Database} }),
	newSetting("dev",
		"run a local development server: plain HTTP on a loopback issuer, "+
			"a generated system secret and demo data",
		func(c *Config) flag.Value { return boolValue{&c.Dev} }),
	newSetting("pprof-listen",
		"loopback `host:port` serving Go CPU and memory profiles (net/http/pprof) for performance work (default: none)",
		func(c *Config) flag.Value { return stringValue{&c.PprofListen} }),
	newSetting("http-tripwire",
		"`host:port` of a plain-HTTP listener that redirects people to HTTPS and revokes "+
			"any credential sent to it (default: none)",
		func(c *Config) flag.Value { return stringValue{&c.HTTPTripwire} }),
	newSetting("hsts-preload",
		"add preload to Strict-Transport-Security, asking browsers to ship the domain as HTTPS-only; "+
			"this binds the whole registered domain and its subdomains, so read SECURITY.md first",
		func(c *Config) flag.Value { return boolValue{&c.HSTSPreload} }),
	newSetting("tls-cert",
		"PEM `file` with the HTTPS certificate chain; requires --tls-key",
		func(c *Config) flag.Value { return stringValue{&c.TLSCert} }),
	newSetting("tls-key",
		"PEM `file` with the private key of --tls-cert",
		func(c *Config) flag.Value { return stringValue{&c.TLSKey} }),
	{
		flag: "trusted-proxy",
		env:  "IDP_TRUSTED_PROXIES",
		key:  "trusted_proxies",
		list: true,
		usage: "`CIDR` or IP address of a reverse proxy that terminates TLS and sets " +
			"X-Forwarded-For; repeat the flag for several, or separate them with commas " +
			"in the environment variable",
		bind: func(c *Config) flag.Value { return &prefixListValue{list: &c.TrustedProxies} },
	},
	newSetting("system-secret-file",
		"`file` with the system secret: the current one on the first line, previous ones "+
			"on the lines after it (or set IDP_SYSTEM_SECRET and IDP_SYSTEM_SECRET_PREVIOUS)",
		func(c *Config) flag.Value { return stringValue{&c.SystemSecretFile} }),
	newSetting("admin-listen",
		"`host:port` of the admin API (default "+defaultAdminListen+")",
		func(c *Config) flag.Value { return stringValue{&c.AdminListen} }),
	newSetting("admin-token-file",
		"`file` with the admin API bearer tokens, one a line and at most two "+
			"(or set IDP_ADMIN_TOKEN and IDP_ADMIN_TOKEN_PREVIOUS)",
		func(c *Config) flag.Value { return stringValue{&c.AdminTokenFile} }),
	durationSetting("auth-code-lifetime",
		"how long an authorization code can be redeemed (default 1m, max 10m)",
		func(c *Config) *time.Duration { return &c.AuthCodeLifetime }),
	durationSetting("access-token-lifetime",
		"how long an access token is valid (default 5m, max 24h)",
		func(c *Config) *time.Duration { return &c.AccessTokenLifetime }),
	durationSetting("id-token-lifetime",
		"how long an ID token is valid (default 5m, max 24h)",
		func(c *Config) *time.Duration { return &c.IDTokenLifetime }),
	durationSetting("refresh-token-lifetime",
		"how long an unused refresh token stays valid (default 720h, max 8760h)",
		func(c *Config) *time.Duration { return &c.RefreshTokenLifetime }),
	durationSetting("refresh-family-lifetime",
		"absolute lifetime of a chain of rotated refresh tokens (default 2160h, max 8760h)",
		func(c *Config) *time.Duration { return &c.RefreshFamilyLifetime }),
	durationSetting("login-session-idle-timeout",
		"end a login session unused for this long (default 1h)",
		func(c *Config) *time.Duration { return &c.LoginSessionIdleTimeout }),
	durationSetting("login-session-lifetime",
		"end a login session this long after sign-in (default 12h, max 720h)",
		func(c *Config) *time.Duration { return &c.LoginSessionLifetime }),
	durationSetting("auth-flow-lifetime",
		"time a user has to sign in and consent (default 10m, max 1h)",
		func(c *Config) *time.Duration { return &c.AuthFlowLifetime }),
	durationSetting("jwks-cache-lifetime",
		"max-age of the JWKS response; a new signing key is published this long "+
			"before it signs (default 15m, max 24h)",
		func(c *Config) *time.Duration { return &c.JWKSCacheLifetime }),
	durationSetting("clock-skew",
		"tolerated difference between clocks (default 60s, max 5m)",
		func(c *Config) *time.Duration { return &c.ClockSkew }),
	durationSetting("janitor-interval",
		"how often expired codes, tokens, sessions and flows are deleted (default 1m)",
		func(c *Config) *time.Duration { return &c.JanitorInterval }),
	durationSetting("event-retention",
		"how long security events are kept (default 2160h)",
		func(c *Config) *time.Duration { return &c.EventRetention }),
	newSetting("password-hash-concurrency",
		"maximum `number` of argon2id password hashes computed at once; each takes "+
			"19 MiB of memory (default 2)",
		func(c *Config) flag.Value { return intValue{&c.PasswordHashConcurrency} }),
	newSetting("log-level",
		"minimum `level` logged: debug, info, warn or error (default info)",
		func(c *Config) flag.Value { return levelValue{&c.LogLevel} }),
	newSetting("log-format",
		"log line `format`: json or text (default json; text with --dev)",
		func(c *Config) flag.Value { return logFormatValue{&c.LogFormat} }),
}

// Flag names registered by each kind of command. Serve and keys take
// every setting; the commands that only work on the database take
// these.
var (
	databaseFlags = []string{"config", "database", "dev"}
	clientFlags   = []string{"config", "database", "dev", "system-secret-file"}
	userFlags     = []string{"config", "database", "dev", "password-hash-concurrency"}
)

// durationSetting returns the setting of a time.Duration field.
func durationSetting(name, usage string, field func(*Config) *time.Duration) setting {
	return newSetting(name, usage, func(c *Config) flag.Value { return durationValue{field(c)} })
}

// settingByFlag returns the setting registered as flag name.
func settingByFlag(name string) (setting, bool) {
	for _, s := range settings {
		if s.flag == name {
			return s, true
		}
	}
	return setting{}, false
}

// settingByKey returns the setting with YAML key key.
func settingByKey(key string) (setting, bool) {
	for _, s := range settings {
		if s.key != "" && s.key == key {
			return s, true
		}
	}
	return setting{}, false
}

// recordedFlag is a setting registered on a command's FlagSet. Parsing
// checks each value at once against a scratch Config and records the raw
// string. loadConfig applies the strings to the real Config after the
// file and the environment, so flags win.
type recordedFlag struct {
	flag.Value
	raw []string
}

// Set checks and records one occurrence of the flag.
func (r *recordedFlag) Set(s string) error {
	if err := r.Value.Set(s); err != nil {
		return err
	}
	r.raw = append(r.raw, s)
	return nil
}

// valueKind returns the kind of value the setting takes, for the help.
func (r *recordedFlag) valueKind() string {
	if k, ok := r.Value.(interface{ valueKind() string }); ok {
		return k.valueKind()
	}
	return "value"
}

// IsBoolFlag reports whether the flag takes no value, for the flag
// package.
func (r *recordedFlag) IsBoolFlag() bool {
	b, ok := r.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// addConfigFlags registers the named settings as flags on fs, or every
// setting when no name is given. loadConfig reads them back.
func addConfigFlags(fs *flag.FlagSet, names ...string) {
	scratch := defaultConfig()
	for _, s := range settings {
		if len(names) > 0 && !slices.Contains(names, s.flag) {
			continue
		}
		fs.Var(&recordedFlag{Value: s.bind(scratch)}, s.flag, s.usage)
	}
	for _, name := range names {
		if _, ok := settingByFlag(name); !ok {
			panic("addConfigFlags: no setting named " + name)
		}
	}
}

// loadConfig parses args with fs, on which the caller registered its
// own flags and some settings with addConfigFlags, then loads the
// Config from the flags, the environment, the YAML file and the
// defaults, and validates it with Validate. Positional arguments are
// left in fs.Args(). With -h it prints the help and returns
// flag.ErrHelp.
func loadConfig(c *cli, fs *flag.FlagSet, args []string) (*Config, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}

	cfg := defaultConfig()
	cfg.ConfigFile = c.getenv("IDP_CONFIG")
	if cfg.ConfigFile != "" {
		cfg.origins["config"] = "environment variable IDP_CONFIG"
	}
	if r, ok := lookupRecorded(fs, "config"); ok && len(r.raw) > 0 {
		cfg.ConfigFile = r.raw[len(r.raw)-1]
		cfg.origins["config"] = "flag --config"
	}

	if cfg.ConfigFile != "" {
		if err := cfg.loadFile(cfg.ConfigFile); err != nil {
			return nil, err
		}
	}
	if err := cfg.loadEnv(c.getenv); err != nil {
		return nil, err
	}
	if err := cfg.loadFlags(fs); err != nil {
		return nil, err
	}
	cfg.applyDerivedDefaults()

	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// lookupRecorded returns the setting flag registered on fs as name.
func lookupRecorded(fs *flag.FlagSet, name string) (*recordedFlag, bool) {
	f := fs.Lookup(name)
	if f == nil {
		return nil, false
	}
	r, ok := f.Value.(*recordedFlag)
	return r, ok
}

// loadEnv applies every IDP_* environment variable that is set and not
// empty.
func (c *Config) loadEnv(getenv func(string) string) error {
	for _, s := range settings {
		if s.env == "" || s.flag == "config" {
			continue
		}
		raw := getenv(s.env)
		if raw == "" {
			continue
		}

		values := []string{raw}
		if s.list {
			values = splitList(raw)
		}
		v := s.bind(c)
		for _, value := range values {
			if err := v.Set(value); err != nil {
				return fmt.Errorf("invalid environment variable %s=%q: %w", s.env, raw, err)
			}
		}
		c.origins[s.flag] = "environment variable " + s.env
	}
	return nil
}

// loadFlags applies the setting flags that were given on the command
// line.
func (c *Config) loadFlags(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		r, ok := f.Value.(*recordedFlag)
		if !ok || f.Name == "config" || err != nil {
			return
		}
		s, _ := settingByFlag(f.Name)
		v := s.bind(c)
		for _, raw := range r.raw {
			if setErr := v.Set(raw); setErr != nil {
				err = fmt.Errorf("invalid value %q for flag --%s: %w", raw, f.Name, setErr)
				return
			}
		}
		c.origins[f.Name] = "flag --" + f.Name
	})
	return err
}

// parseFlags parses args with fs, allowing flags after positional
// arguments (idp clients show ID --json), and leaves the positional
// arguments in fs.Args(). A mistake is returned as a usageError; -h
// prints the help with fs.Usage and returns flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	// The flag package calls Usage on every error; only -h should
	// print the help.
	help := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = help }()

	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			help()
			return err
		}
		if err != nil {
			return &usageError{command: fs.Name(), err: err}
		}

		rest := fs.Args()
		consumed := len(args) - len(rest)
		if len(rest) == 0 {
			break
		}
		if consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}

	// Parsing "--" and the positional arguments sets no flag and leaves
	// the arguments in fs.Args().
	return fs.Parse(append([]string{"--"}, positional...))
}

// splitList splits a comma-separated environment variable, dropping
// blanks.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
