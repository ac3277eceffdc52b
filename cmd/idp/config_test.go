package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idp/idp/provider"
	"github.com/idp/idp/scopes"
	"github.com/idp/idp/storage"
)

// loadServeConfig loads a Config the way serve does, with every setting
// registered as a flag.
func loadServeConfig(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	c := &cli{
		stdin:  strings.NewReader(""),
		stdout: &bytes.Buffer{},
		stderr: &bytes.Buffer{},
		getenv: func(name string) string { return env[name] },
	}
	fs := newFlagSet(c, "serve", "serve [flags]", "")
	addConfigFlags(fs)
	return loadConfig(c, fs, args)
}

// writeFile writes content to a new file in a temporary directory and
// returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "idp.yaml", "access_token_lifetime: 3m\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want time.Duration
	}{
		{name: "default", want: 5 * time.Minute},
		{name: "file beats default", args: []string{"--config", file}, want: 3 * time.Minute},
		{
			name: "env beats file",
			env:  map[string]string{"IDP_ACCESS_TOKEN_LIFETIME": "2m"},
			args: []string{"--config", file},
			want: 2 * time.Minute,
		},
		{
			name: "flag beats env",
			env:  map[string]string{"IDP_ACCESS_TOKEN_LIFETIME": "2m"},
			args: []string{"--config", file, "--access-token-lifetime", "90s"},
			want: 90 * time.Second,
		},
		{
			name: "config file from env",
			env:  map[string]string{"IDP_CONFIG": file},
			want: 3 * time.Minute,
		},
		{
			name: "empty env is unset",
			env:  map[string]string{"IDP_CONFIG": file, "IDP_ACCESS_TOKEN_LIFETIME": ""},
			want: 3 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadServeConfig(t, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AccessTokenLifetime != tt.want {
				t.Errorf("AccessTokenLifetime = %v, want %v", cfg.AccessTokenLifetime, tt.want)
			}
		})
	}
}

func TestConfigTrustedProxiesPrecedence(t *testing.T) {
	file := writeFile(t, "idp.yaml", "trusted_proxies:\n  - 10.0.0.0/8\n  - 192.168.1.7\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{name: "file list", args: []string{"--config", file},
			want: []string{"10.0.0.0/8", "192.168.1.7/32"}},
		{
			name: "env replaces file",
			env:  map[string]string{"IDP_TRUSTED_PROXIES": "172.16.0.0/12, ::1"},
			args: []string{"--config", file},
			want: []string{"172.16.0.0/12", "::1/128"},
		},
		{
			name: "flags replace env",
			env:  map[string]string{"IDP_TRUSTED_PROXIES": "172.16.0.0/12"},
			args: []string{"--trusted-proxy", "127.0.0.1", "--trusted-proxy", "fd00::/8"},
			want: []string{"127.0.0.1/32", "fd00::/8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadServeConfig(t, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			var want []netip.Prefix
			for _, s := range tt.want {
				want = append(want, netip.MustParsePrefix(s))
			}
			if diff := cmp.Diff(want, cfg.TrustedProxies, cmp.Comparer(func(a, b netip.Prefix) bool {
				return a == b
			})); diff != "" {
				t.Errorf("TrustedProxies mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigFileSettings(t *testing.T) {
	file := writeFile(t, "idp.yaml", `
issuer: https://login.example.com
dev: false
log_level: debug
log_format: text
password_hash_concurrency: 2
scopes:
  - name: api:read
    description: Read your data
`)
	cfg, err := loadServeConfig(t, nil, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != "https://login.example.com" {
		t.Errorf("Issuer = %q", cfg.Issuer)
	}
	if cfg.LogLevel.String() != "DEBUG" {
		t.Errorf("LogLevel = %v, want DEBUG", cfg.LogLevel)
	}
	if cfg.LogFormat != LogFormatText {
		t.Errorf("LogFormat = %q, want text", cfg.LogFormat)
	}
	if cfg.PasswordHashConcurrency != 2 {
		t.Errorf("PasswordHashConcurrency = %d, want 2", cfg.PasswordHashConcurrency)
	}
	want := []scopes.Scope{{Name: "api:read", Description: "Read your data"}}
	if diff := cmp.Diff(want, cfg.Scopes); diff != "" {
		t.Errorf("Scopes mismatch (-want +got):\n%s", diff)
	}
	if cfg.Listen != ":443" {
		t.Errorf("Listen = %q, want :443 from the https issuer", cfg.Listen)
	}
	if cfg.Database != defaultDatabase {
		t.Errorf("Database = %q, want %q", cfg.Database, defaultDatabase)
	}
}

func TestConfigDevDefaults(t *testing.T) {
	cfg, err := loadServeConfig(t, map[string]string{"IDP_DEV": "true"})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.Issuer, cfg.Listen, cfg.Database, string(cfg.LogFormat)}
	want := []string{defaultDevIssuer, "127.0.0.1:8080", defaultDevDatabase, "text"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("issuer, listen, database, log format (-want +got):\n%s", diff)
	}
	if err := cfg.ValidateServe(); err != nil {
		t.Errorf("ValidateServe() = %v, want nil for the dev defaults", err)
	}
}

func TestConfigDevListenOnIPv6Loopback(t *testing.T) {
	cfg, err := loadServeConfig(t, nil, "--dev", "--issuer", "http://[::1]:9000")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "[::1]:9000" {
		t.Errorf("Listen = %q, want [::1]:9000", cfg.Listen)
	}
}

func TestConfigDevIssuerFromListen(t *testing.T) {
	tests := []struct {
		listen string
		want   string
	}{
		{"127.0.0.1:9100", "http://127.0.0.1:9100"},
		{"[::1]:9101", "http://[::1]:9101"},
		{"localhost:9102", "http://localhost:9102"},
		{":9103", "http://localhost:9103"},
	}
	for _, tt := range tests {
		cfg, err := loadServeConfig(t, nil, "--dev", "--listen", tt.listen)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Issuer != tt.want {
			t.Errorf("--dev --listen %s: Issuer = %q, want %q", tt.listen, cfg.Issuer, tt.want)
		}
	}
	cfg, err := loadServeConfig(t, nil, "--dev", "--listen", "127.0.0.1:9104", "--issuer", "http://localhost:9104")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer != "http://localhost:9104" {
		t.Errorf("an explicit --issuer was replaced: Issuer = %q", cfg.Issuer)
	}
}

func TestConfigListenFromIssuerPort(t *testing.T) {
	cfg, err := loadServeConfig(t, nil, "--issuer", "https://login.example.com:8443/idp")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":8443" {
		t.Errorf("Listen = %q, want :8443", cfg.Listen)
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{
			name:    "misspelt key",
			content: "issuer: https://a.example\nacess_token_lifetime: 5m\n",
			want:    []string{`line 2`, `unknown setting "acess_token_lifetime"`, "did you mean access_token_lifetime?"},
		},
		{
			name:    "secret value",
			content: "system_secret: abc\n",
			want:    []string{"system_secret cannot be set in the config file", "IDP_SYSTEM_SECRET"},
		},
		{
			name:    "invalid duration",
			content: "\nauth_code_lifetime: soon\n",
			want:    []string{"line 2", "auth_code_lifetime", `invalid duration "soon"`},
		},
		{
			name:    "repeated key",
			content: "dev: true\ndev: false\n",
			want:    []string{"line 2", "dev is set twice"},
		},
		{
			name:    "list for a single value",
			content: "issuer:\n  - https://a.example\n",
			want:    []string{"issuer: want a single value"},
		},
		{
			name:    "unknown scope key",
			content: "scopes:\n  - name: api\n    description: API\n    claims: [email]\n",
			want:    []string{"line 4", `unknown key "claims"`},
		},
		{
			name:    "not a mapping",
			content: "- issuer\n",
			want:    []string{"top level must be a mapping"},
		},
		{
			name:    "invalid custom scope",
			content: "scopes:\n  - name: openid\n    description: again\n",
			want:    []string{"invalid scopes in config file", "openid"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, "idp.yaml", tt.content)
			_, err := loadServeConfig(t, nil, "--config", file)
			if err == nil {
				t.Fatal("loadConfig() succeeded, want an error")
			}
			wantContains(t, "error", err.Error(), append(tt.want, file)...)
		})
	}
}

func TestConfigMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.yaml")
	_, err := loadServeConfig(t, map[string]string{"IDP_CONFIG": missing})
	if err == nil {
		t.Fatal("loadConfig() succeeded, want an error")
	}
	wantContains(t, "error", err.Error(), "read config file", missing)
}

func TestConfigInvalidValues(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{
			name: "flag duration",
			args: []string{"--access-token-lifetime", "5 minutes"},
			want: []string{"-access-token-lifetime", `invalid duration "5 minutes"`},
		},
		{
			name: "env duration",
			env:  map[string]string{"IDP_ID_TOKEN_LIFETIME": "1d"},
			want: []string{"IDP_ID_TOKEN_LIFETIME", `invalid duration "1d"`},
		},
		{
			name: "env bool",
			env:  map[string]string{"IDP_DEV": "maybe"},
			want: []string{"IDP_DEV", `invalid boolean "maybe"`},
		},
		{
			name: "proxy with host bits",
			args: []string{"--trusted-proxy", "10.1.2.3/8"},
			want: []string{"-trusted-proxy", "host bits set", "did you mean 10.0.0.0/8?"},
		},
		{
			name: "proxy not an address",
			env:  map[string]string{"IDP_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"},
			want: []string{"IDP_TRUSTED_PROXIES", `"proxy.local"`},
		},
		{
			name: "log level",
			args: []string{"--log-level", "loud"},
			want: []string{"-log-level", "use debug, info, warn or error"},
		},
		{
			name: "code lifetime too long from env",
			env:  map[string]string{"IDP_AUTH_CODE_LIFETIME": "1h"},
			want: []string{"--auth-code-lifetime", `"1h0m0s"`, "environment variable IDP_AUTH_CODE_LIFETIME", "10m0s"},
		},
		{
			name: "access lifetime too long from flag",
			args: []string{"--access-token-lifetime", "48h"},
			want: []string{"--access-token-lifetime", `"48h0m0s"`, "flag --access-token-lifetime", "24h0m0s"},
		},
		{
			name: "negative lifetime",
			args: []string{"--auth-flow-lifetime=-1m"},
			want: []string{"--auth-flow-lifetime", "must be between"},
		},
		{
			name: "refresh longer than family",
			args: []string{"--refresh-token-lifetime", "3000h"},
			want: []string{"--refresh-token-lifetime", "--refresh-family-lifetime"},
		},
		{
			name: "idle timeout longer than session",
			args: []string{"--login-session-idle-timeout", "13h"},
			want: []string{"--login-session-idle-timeout", "--login-session-lifetime"},
		},
		{
			name: "zero concurrency",
			args: []string{"--password-hash-concurrency", "0"},
			want: []string{"--password-hash-concurrency", "19 MiB"},
		},
		{
			name: "concurrency not a number",
			env:  map[string]string{"IDP_PASSWORD_HASH_CONCURRENCY": "four"},
			want: []string{"IDP_PASSWORD_HASH_CONCURRENCY", `invalid number "four"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadServeConfig(t, tt.env, tt.args...)
			if err == nil {
				t.Fatal("loadConfig() succeeded, want an error")
			}
			wantContains(t, "error", err.Error(), tt.want...)
		})
	}
}

func TestValidateServe(t *testing.T) {
	certFile := writeFile(t, "cert.pem", "")
	tests := []struct {
		name string
		args []string
		want []string // nil when ValidateServe must succeed
	}{
		{
			name: "plain HTTP rejected",
			args: []string{"--issuer", "https://login.example.com"},
			want: []string{"plain HTTP is not served", "--tls-cert", "--trusted-proxy", "--dev"},
		},
		{
			name: "TLS from a proxy",
			args: []string{"--issuer", "https://login.example.com", "--trusted-proxy", "10.0.0.0/8"},
		},
		{
			name: "every address trusted",
			args: []string{"--issuer", "https://login.example.com", "--trusted-proxy", "0.0.0.0/0"},
			want: []string{"--trusted-proxy", "0.0.0.0/0", "trusts every address", "list the addresses"},
		},
		{
			name: "every IPv6 address trusted",
			args: []string{"--issuer", "https://login.example.com", "--trusted-proxy", "10.0.0.1", "--trusted-proxy", "::/0"},
			want: []string{"::/0", "trusts every address"},
		},
		{
			name: "TLS",
			args: []string{"--issuer", "https://login.example.com", "--tls-cert", certFile, "--tls-key", certFile},
		},
		{
			name: "certificate without key",
			args: []string{"--issuer", "https://login.example.com", "--tls-cert", certFile},
			want: []string{"--tls-cert", "--tls-key is missing"},
		},
		{
			name: "key without certificate",
			args: []string{"--issuer", "https://login.example.com", "--tls-key", certFile},
			want: []string{"--tls-key", "--tls-cert is missing"},
		},
		{
			name: "missing issuer",
			args: []string{"--trusted-proxy", "10.0.0.1"},
			want: []string{"--issuer", "required"},
		},
		{
			name: "trailing slash",
			args: []string{"--issuer", "https://login.example.com/", "--trusted-proxy", "10.0.0.1"},
			want: []string{"--issuer", "https://login.example.com/", "trailing slash"},
		},
		{
			name: "query",
			args: []string{"--issuer", "https://login.example.com?a=b", "--trusted-proxy", "10.0.0.1"},
			want: []string{"--issuer", "query"},
		},
		{
			name: "fragment",
			args: []string{"--issuer", "https://login.example.com#x", "--trusted-proxy", "10.0.0.1"},
			want: []string{"--issuer", "fragment"},
		},
		{
			name: "relative",
			args: []string{"--issuer", "login.example.com", "--trusted-proxy", "10.0.0.1"},
			want: []string{"--issuer", "absolute URL"},
		},
		{
			name: "http without dev",
			args: []string{"--issuer", "http://login.example.com", "--trusted-proxy", "10.0.0.1"},
			want: []string{"--issuer", "allowed only with --dev"},
		},
		{
			name: "dev on a public host",
			args: []string{"--dev", "--issuer", "http://login.example.com"},
			want: []string{"--issuer", "loopback"},
		},
		{
			name: "dev on a loopback address",
			args: []string{"--dev", "--issuer", "http://127.0.0.1:9000"},
		},
		{
			name: "dev with an https issuer and no TLS",
			args: []string{"--dev", "--issuer", "https://localhost:8443"},
			want: []string{"--issuer", "would serve plain HTTP"},
		},
		{
			name: "missing certificate file",
			args: []string{"--issuer", "https://login.example.com", "--tls-cert", certFile + ".none", "--tls-key", certFile},
			want: []string{"--tls-cert", ".none", "no such file"},
		},
		{
			name: "http issuer with TLS",
			args: []string{"--dev", "--issuer", "http://localhost:8443", "--tls-cert", certFile, "--tls-key", certFile},
			want: []string{"--issuer", "must be an https URL"},
		},
		{
			name: "ftp issuer",
			args: []string{"--issuer", "ftp://login.example.com", "--trusted-proxy", "10.0.0.1"},
			want: []string{"--issuer", "scheme must be https"},
		},
		{
			name: "bad listen",
			args: []string{"--dev", "--listen", "8080"},
			want: []string{"--listen", `"8080"`, "host:port"},
		},
		{
			name: "admin on the public address",
			args: []string{"--dev", "--admin-listen", "127.0.0.1:8080"},
			want: []string{"--admin-listen", "address of its own"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadServeConfig(t, nil, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.ValidateServe()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ValidateServe() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("ValidateServe() = nil, want an error")
			}
			wantContains(t, "error", err.Error(), tt.want...)
		})
	}
}

// openTestStore opens a migrated store in a temporary directory.
func openTestStore(t *testing.T) *storage.Store {
	t.Helper()
	cfg := defaultConfig()
	cfg.Database = filepath.Join(t.TempDir(), "idp.db")
	st, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// mustDeriveKeys returns the key version of secret.
func mustKeyVersion(t *testing.T, secret string) string {
	t.Helper()
	k, err := provider.DeriveKeys([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k.Version
}

func TestLoadSecretKeys(t *testing.T) {
	const previous = "Pq7Wm3Zx8Lk2Vn5Rt9Bc4Hy6Jd1Fg0Se3Ua8Io2Mx7Nb5"
	twoLines := writeFile(t, "secret", "\n"+testSystemSecret+"\n\n  "+previous+"  \n")
	shortSecondLine := writeFile(t, "short", testSystemSecret+"\nshort\n")
	empty := writeFile(t, "empty", "\n\n")

	tests := []struct {
		name    string
		env     map[string]string
		file    string
		want    []string // key versions, current first
		wantErr []string
	}{
		{
			name: "env",
			env:  map[string]string{"IDP_SYSTEM_SECRET": testSystemSecret},
			want: []string{mustKeyVersion(t, testSystemSecret)},
		},
		{
			name: "env with previous",
			env: map[string]string{
				"IDP_SYSTEM_SECRET":          testSystemSecret,
				"IDP_SYSTEM_SECRET_PREVIOUS": previous,
			},
			want: []string{mustKeyVersion(t, testSystemSecret), mustKeyVersion(t, previous)},
		},
		{
			name: "file with two lines",
			file: twoLines,
			want: []string{mustKeyVersion(t, testSystemSecret), mustKeyVersion(t, previous)},
		},
		{
			name:    "env too short",
			env:     map[string]string{"IDP_SYSTEM_SECRET": "tooshort"},
			wantErr: []string{"environment variable IDP_SYSTEM_SECRET", "8 bytes", "at least 32"},
		},
		{
			name:    "file line too short",
			file:    shortSecondLine,
			wantErr: []string{"line 2 of system secret file " + shortSecondLine, "5 bytes"},
		},
		{
			name:    "empty file",
			file:    empty,
			wantErr: []string{empty, "is empty"},
		},
		{
			name:    "env and file",
			env:     map[string]string{"IDP_SYSTEM_SECRET": testSystemSecret},
			file:    twoLines,
			wantErr: []string{"set twice", "IDP_SYSTEM_SECRET", "--system-secret-file"},
		},
		{
			name:    "previous without current",
			env:     map[string]string{"IDP_SYSTEM_SECRET_PREVIOUS": previous},
			wantErr: []string{"IDP_SYSTEM_SECRET_PREVIOUS is set but IDP_SYSTEM_SECRET is not"},
		},
		{
			name:    "none",
			wantErr: []string{"no system secret", "openssl rand -base64 48", "--system-secret-file", "IDP_SYSTEM_SECRET"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openTestStore(t)
			c := &cli{getenv: func(name string) string { return tt.env[name] }}
			cfg := defaultConfig()
			cfg.SystemSecretFile = tt.file

			keys, err := loadSecretKeys(t.Context(), c, cfg, st)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("loadSecretKeys() succeeded, want an error")
				}
				wantContains(t, "error", err.Error(), tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range keys {
				got = append(got, k.Version)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("key versions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadSecretKeysDevDatabase(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t)
	const devSecret = "Dv4Xq8Mz2Lw6Np0Rk3Tb7Hc9Jf5Gs1Ye4Ua2Io8Mn6Bx3"
	if err := st.SetSetting(ctx, storage.SettingDevSecret, devSecret); err != nil {
		t.Fatal(err)
	}
	c := &cli{getenv: func(string) string { return "" }}

	// A dev secret without the seed marker is not used.
	if _, err := loadSecretKeys(ctx, c, defaultConfig(), st); err == nil {
		t.Fatal("loadSecretKeys() used the dev secret of an unmarked database")
	}

	if err := st.SetSetting(ctx, storage.SettingDevSeed, "1"); err != nil {
		t.Fatal(err)
	}
	keys, err := loadSecretKeys(ctx, c, defaultConfig(), st)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].Version != mustKeyVersion(t, devSecret) {
		t.Errorf("keys = %d with first version %q, want the dev secret's %q",
			len(keys), keys[0].Version, mustKeyVersion(t, devSecret))
	}

	hashKeys := clientHashKeys(keys)
	if len(hashKeys) != 1 || hashKeys[0].Version != keys[0].Version ||
		!bytes.Equal(hashKeys[0].Key, keys[0].ClientSecret) {
		t.Errorf("clientHashKeys() = %+v, want the version and client secret key", hashKeys)
	}
}

func TestLoadAdminTokens(t *testing.T) {
	const tokenA = "aT9xQ2mV7pL4zR8nW6hS1bD5fG0yC3uE"
	const tokenB = "bT9xQ2mV7pL4zR8nW6hS1bD5fG0yC3uE"
	tests := []struct {
		name    string
		env     map[string]string
		file    string
		want    []string
		wantErr []string
	}{
		{name: "none"},
		{
			name: "env with previous",
			env:  map[string]string{"IDP_ADMIN_TOKEN": tokenA, "IDP_ADMIN_TOKEN_PREVIOUS": tokenB},
			want: []string{tokenA, tokenB},
		},
		{
			name: "file with two",
			file: writeFile(t, "two", tokenA+"\n"+tokenB+"\n"),
			want: []string{tokenA, tokenB},
		},
		{
			name:    "file with three",
			file:    writeFile(t, "three", tokenA+"\n"+tokenB+"\n"+tokenA+"x\n"),
			wantErr: []string{"contains 3 tokens", "maximum is two"},
		},
		{
			name:    "short token",
			env:     map[string]string{"IDP_ADMIN_TOKEN": "abc"},
			wantErr: []string{"environment variable IDP_ADMIN_TOKEN", "3 bytes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cli{getenv: func(name string) string { return tt.env[name] }}
			cfg := defaultConfig()
			cfg.AdminTokenFile = tt.file
			got, err := loadAdminTokens(c, cfg)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatal("loadAdminTokens() succeeded, want an error")
				}
				wantContains(t, "error", err.Error(), tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("tokens (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedactDSN(t *testing.T) {
	got := redactDSN("postgres://idp:hunter2@db:5432/idp?sslmode=require")
	if strings.Contains(got, "hunter2") {
		t.Errorf("redactDSN() = %q, still contains the password", got)
	}
	got = redactDSN("postgres://db/idp?password=hunter2")
	if strings.Contains(got, "hunter2") {
		t.Errorf("redactDSN() = %q, still contains the password parameter", got)
	}
	if got := redactDSN("./idp.db"); got != "./idp.db" {
		t.Errorf("redactDSN(./idp.db) = %q", got)
	}
}
