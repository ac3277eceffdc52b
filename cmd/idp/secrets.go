package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/provider"
	"github.com/idp/idp/storage"
)

// Environment variables that carry secrets. They have no flag and no
// YAML key, so a secret never shows in a process listing or a config
// file.
const (
	envSystemSecret         = "IDP_SYSTEM_SECRET"
	envSystemSecretPrevious = "IDP_SYSTEM_SECRET_PREVIOUS"
	envAdminToken           = "IDP_ADMIN_TOKEN"
	envAdminTokenPrevious   = "IDP_ADMIN_TOKEN_PREVIOUS"
)

// minAdminTokenLength is the shortest admin API token accepted, in bytes.
const minAdminTokenLength = 32

const noSystemSecretMessage = `no system secret is configured. Create one with
    openssl rand -base64 48 > secret && chmod 600 secret
and pass the file with --system-secret-file (system_secret_file in the
config file), or put its contents in the environment variable
IDP_SYSTEM_SECRET. On a --dev database, idp serve --dev generates one.`

// errNoSystemSecret means neither the environment, the configuration
// nor a --dev database supplies a system secret.
var errNoSystemSecret = errors.New(noSystemSecretMessage)

// namedSecret is a secret value and the place it was read from, for
// error messages.
type namedSecret struct {
	value  string
	source string
}

// loadSecretKeys derives the keys of every configured system secret,
// the current one first and then the previous ones that still open older
// data. The secrets come from IDP_SYSTEM_SECRET and
// IDP_SYSTEM_SECRET_PREVIOUS, or from cfg.SystemSecretFile. When neither
// is set and st is a database seeded by --dev, the secret generated for
// that database is used.
func loadSecretKeys(ctx context.Context, c *cli, cfg *Config, st *storage.Store) ([]provider.SecretKeys, error) {
	secrets, err := readSystemSecrets(ctx, c, cfg, st)
	if err != nil {
		return nil, err
	}

	keys := make([]provider.SecretKeys, 0, len(secrets))
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s.value) < provider.MinSystemSecretLength {
			return nil, fmt.Errorf("the system secret from %s is %d bytes; at least %d are required. "+
				"Create one with: openssl rand -base64 48", s.source, len(s.value), provider.MinSystemSecretLength)
		}
		k, err := provider.DeriveKeys([]byte(s.value))
		if err != nil {
			return nil, fmt.Errorf("system secret from %s: %w", s.source, err)
		}
		// A previous secret equal to the current one adds nothing.
		if seen[k.Version] {
			continue
		}
		seen[k.Version] = true
		keys = append(keys, k)
	}
	if st != nil {
		if err := checkSecretMatches(ctx, st, keys); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// checkSecretMatches returns an error when the database has signing
// keys and none is sealed with a configured secret. Such a secret is not
// the one the database was set up with, and a command run with it would
// create keys and client secrets that no server can use.
func checkSecretMatches(ctx context.Context, st *storage.Store, keys []provider.SecretKeys) error {
	stored, err := st.AllSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	if len(stored) == 0 {
		return nil
	}
	storedVersions := map[string]bool{}
	for _, k := range stored {
		storedVersions[k.SecretVersion] = true
	}
	var configured []string
	for _, k := range keys {
		if storedVersions[k.Version] {
			return nil
		}
		configured = append(configured, k.Version)
	}
	var seen []string
	for v := range storedVersions {
		seen = append(seen, v)
	}
	sort.Strings(seen)
	return fmt.Errorf("the system secret does not match this database: its signing keys are sealed with secret version %s, "+
		"but the configured secret has version %s; use the secret the database was set up with "+
		"(to rotate, configure the new secret as current and the old one as previous)",
		strings.Join(seen, ", "), strings.Join(configured, ", "))
}

// readSystemSecrets returns the configured system secrets, current
// first.
func readSystemSecrets(ctx context.Context, c *cli, cfg *Config, st *storage.Store) ([]namedSecret, error) {
	current := strings.TrimSpace(c.getenv(envSystemSecret))
	previous := strings.TrimSpace(c.getenv(envSystemSecretPrevious))

	switch {
	case current != "" && cfg.SystemSecretFile != "":
		return nil, fmt.Errorf("the system secret is set twice, by %s and by --system-secret-file %s (from %s); "+
			"unset one of them", envSystemSecret, cfg.SystemSecretFile, cfg.origin("system-secret-file"))
	case previous != "" && current == "":
		return nil, fmt.Errorf("%s is set but %s is not; set the current secret too "+
			"(a secret file lists previous secrets on the lines after the current one)",
			envSystemSecretPrevious, envSystemSecret)
	case current != "":
		secrets := []namedSecret{{current, "environment variable " + envSystemSecret}}
		if previous != "" {
			secrets = append(secrets, namedSecret{previous, "environment variable " + envSystemSecretPrevious})
		}
		return secrets, nil
	case cfg.SystemSecretFile != "":
		return readSecretFile(c, cfg.SystemSecretFile, "system secret file")
	}

	if st != nil {
		secret, err := devDatabaseSecret(ctx, st)
		if err != nil || secret != "" {
			return []namedSecret{{secret, "the --dev database"}}, err
		}
	}
	return nil, errNoSystemSecret
}

// devDatabaseSecret returns the system secret stored in a database
// seeded by --dev, or "" when the database was not seeded.
func devDatabaseSecret(ctx context.Context, st *storage.Store) (string, error) {
	_, err := st.Setting(ctx, storage.SettingDevSeed)
	if errors.Is(err, storage.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the --dev marker from the database: %w", err)
	}
	secret, err := st.Setting(ctx, storage.SettingDevSecret)
	if err != nil {
		return "", fmt.Errorf("the database is seeded by --dev but its system secret cannot be read: %w", err)
	}
	return secret, nil
}

// readSecretFile returns the non-empty lines of a secret file, with
// surrounding spaces removed. kind names the file in errors. A file that
// other users may read gets a warning on c.stderr, not an error, because
// some secret stores mount files readable by all (Docker secrets use
// mode 0444).
func readSecretFile(c *cli, path, kind string) ([]namedSecret, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", kind, err)
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		c.warnOnce("%s %s can be read by other users (mode %04o); restrict it with chmod 600 %s",
			kind, path, info.Mode().Perm(), path)
	}
	var secrets []namedSecret
	for i, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			secrets = append(secrets, namedSecret{line, fmt.Sprintf("line %d of %s %s", i+1, kind, path)})
		}
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%s %s is empty; write the secret on its first line", kind, path)
	}
	return secrets, nil
}

// clientHashKeys returns the keys for hashing client secrets, one per
// system secret, in the same order.
func clientHashKeys(keys []provider.SecretKeys) []clients.HashKey {
	out := make([]clients.HashKey, len(keys))
	for i, k := range keys {
		out[i] = clients.HashKey{Version: k.Version, Key: k.ClientSecret}
	}
	return out
}

// loadAdminTokens returns the bearer tokens the admin API accepts, the
// current one first. They come from IDP_ADMIN_TOKEN and
// IDP_ADMIN_TOKEN_PREVIOUS, or from cfg.AdminTokenFile. It returns no
// tokens and no error when none is configured.
func loadAdminTokens(c *cli, cfg *Config) ([]string, error) {
	current := strings.TrimSpace(c.getenv(envAdminToken))
	previous := strings.TrimSpace(c.getenv(envAdminTokenPrevious))

	var tokens []namedSecret
	switch {
	case current != "" && cfg.AdminTokenFile != "":
		return nil, fmt.Errorf("the admin token is set twice, by %s and by --admin-token-file %s (from %s); "+
			"unset one of them", envAdminToken, cfg.AdminTokenFile, cfg.origin("admin-token-file"))
	case previous != "" && current == "":
		return nil, fmt.Errorf("%s is set but %s is not; set the current token too",
			envAdminTokenPrevious, envAdminToken)
	case current != "":
		tokens = append(tokens, namedSecret{current, "environment variable " + envAdminToken})
		if previous != "" {
			tokens = append(tokens, namedSecret{previous, "environment variable " + envAdminTokenPrevious})
		}
	case cfg.AdminTokenFile != "":
		var err error
		if tokens, err = readSecretFile(c, cfg.AdminTokenFile, "admin token file"); err != nil {
			return nil, err
		}
		if len(tokens) > 2 {
			return nil, fmt.Errorf("admin token file %s contains %d tokens, but the maximum is two: "+
				"the current one and the previous one while clients switch", cfg.AdminTokenFile, len(tokens))
		}
	default:
		return nil, nil
	}

	out := make([]string, len(tokens))
	for i, t := range tokens {
		if len(t.value) < minAdminTokenLength {
			return nil, fmt.Errorf("the admin token from %s is %d bytes; at least %d are required. "+
				"Create one with: openssl rand -base64 32", t.source, len(t.value), minAdminTokenLength)
		}
		out[i] = t.value
	}
	return out, nil
}

// redactDSN hides the password of a postgres:// URL, in the user
// information or in a password parameter, so the database can be named
// in messages.
func redactDSN(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable database URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
