package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/oauth2"
)

// postgresDSNEnv names the PostgreSQL database the multi-instance
// tests use.
const postgresDSNEnv = "IDP_TEST_POSTGRES_DSN"

// newPostgresDatabase returns the DSN of a new, empty schema in the
// database named by IDP_TEST_POSTGRES_DSN, dropped when the test ends,
// or skips the test when the variable is unset.
func newPostgresDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresDSNEnv)
	if base == "" {
		t.Skipf("set %s (for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL test", postgresDSNEnv)
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// instance is one idp serve process.
type instance struct {
	base string
}

// startInstance runs the built binary as idp serve on a port of its own,
// with the shared issuer, database and secret in env.
func startInstance(t *testing.T, bin string, env []string, issuer, certFile, keyFile string) instance {
	t.Helper()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--issuer", issuer, "--listen", addr,
		"--admin-listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		"--tls-cert", certFile, "--tls-key", keyFile, "--janitor-interval", "1s")
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	logFile, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			logs, _ := os.ReadFile(logFile.Name())
			t.Logf("log of %s:\n%s", addr, logs)
		}
	})
	waitListening(t, port)
	return instance{base: "https://" + addr}
}

// TestTwoInstancesOnPostgres runs two idp processes on one PostgreSQL
// database, as behind a load balancer without sticky sessions.
func TestTwoInstancesOnPostgres(t *testing.T) {
	dsn := newPostgresDatabase(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 11)
	env := append(os.Environ(), "IDP_DATABASE="+dsn, "IDP_SYSTEM_SECRET="+testSystemSecret, "IDP_CONFIG=")

	cli := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("idp %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	cli(testPassword+"\n", "users", "create", "--username", "alice", "--email", "alice@example.com")
	var md struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(cli("", "clients", "create", "--name", "App",
		"--redirect-uri", "https://app.example.com/callback", "--scope", "openid offline_access",
		"--grant-type", "authorization_code,refresh_token", "--json")), &md); err != nil {
		t.Fatal(err)
	}

	issuer := "https://idp.example.test"
	a := startInstance(t, bin, env, issuer, certFile, keyFile)
	b := startInstance(t, bin, env, issuer, certFile, keyFile)

	// Cookies for 127.0.0.1 go to every port, as they would to every
	// instance behind one host name.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	fetch := func(method, u string, form url.Values) (int, string, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, u, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			origin, _ := url.Parse(u)
			req.Header.Set("Origin", origin.Scheme+"://"+origin.Host)
		}
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(out)
	}

	// Sign-in starts on one instance and finishes on the other.
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"response_type": {"code"}, "client_id": {md.ClientID}, "redirect_uri": {"https://app.example.com/callback"},
		"scope": {"openid offline_access"}, "state": {"state-0123456789"}, "nonce": {"nonce-0123456789"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
	_, loginPath, _ := fetch(http.MethodGet, a.base+"/oauth2/authorize?"+q.Encode(), nil)
	_, _, loginPage := fetch(http.MethodGet, b.base+loginPath, nil)
	_, next, _ := fetch(http.MethodPost, b.base+loginPath, url.Values{
		"csrf_token": {hiddenField(t, loginPage, "csrf_token")}, "username": {"alice"}, "password": {testPassword},
	})
	_, consentPath, _ := fetch(http.MethodGet, a.base+next, nil)
	_, _, consentPage := fetch(http.MethodGet, a.base+consentPath, nil)
	_, next, _ = fetch(http.MethodPost, b.base+consentPath, url.Values{
		"csrf_token": {hiddenField(t, consentPage, "csrf_token")}, "decision": {"approve"},
	})
	_, appURL, _ := fetch(http.MethodGet, a.base+next, nil)
	back, err := url.Parse(appURL)
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("sign-in across instances ended at %q", appURL)
	}

	rp := func(inst instance, path string, form url.Values) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, inst.base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(md.ClientID, md.ClientSecret)
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{"status": float64(resp.StatusCode)}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	tok := rp(b, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {"https://app.example.com/callback"}, "code_verifier": {verifier}})
	access, _ := tok["access_token"].(string)
	refresh, _ := tok["refresh_token"].(string)
	if access == "" || refresh == "" {
		t.Fatalf("code exchange on the other instance: %v", tok)
	}

	// A token issued by one is introspected and revoked through the other.
	if got := rp(a, "/oauth2/introspect", url.Values{"token": {access}}); got["active"] != true {
		t.Errorf("introspection on the other instance: %v", got)
	}
	if got := rp(a, "/oauth2/revoke", url.Values{"token": {access}}); got["status"] != float64(200) {
		t.Errorf("revocation: %v", got)
	}
	for _, inst := range []instance{a, b} {
		if got := rp(inst, "/oauth2/introspect", url.Values{"token": {access}}); got["active"] != false {
			t.Errorf("revoked token on %s: %v", inst.base, got)
		}
	}

	// A key rotated with the CLI is served by both without a restart.
	cli("", "keys", "rotate", "--delay", "0")
	var listed []struct {
		KID   string `json:"kid"`
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(cli("", "keys", "list", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	newest := listed[0].KID
	for _, inst := range []instance{a, b} {
		_, _, jwks := fetch(http.MethodGet, inst.base+"/.well-known/jwks.json", nil)
		if !strings.Contains(jwks, newest) {
			t.Errorf("JWKS of %s lacks the rotated key %s", inst.base, newest)
		}
	}

	// A fresh grant: its refresh token is sent to both instances at once.
	// The browser is signed in; offline_access shows the consent page again.
	_, consentPath, _ = fetch(http.MethodGet, a.base+"/oauth2/authorize?"+q.Encode(), nil)
	if !strings.HasPrefix(consentPath, "/consent?") {
		t.Fatalf("second authorization: redirected to %q, want the consent page", consentPath)
	}
	_, _, consentPage = fetch(http.MethodGet, a.base+consentPath, nil)
	_, next, _ = fetch(http.MethodPost, a.base+consentPath, url.Values{
		"csrf_token": {hiddenField(t, consentPage, "csrf_token")}, "decision": {"approve"},
	})
	_, appURL, _ = fetch(http.MethodGet, a.base+next, nil)
	back, _ = url.Parse(appURL)
	tok = rp(a, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {"https://app.example.com/callback"}, "code_verifier": {verifier}})
	refresh, _ = tok["refresh_token"].(string)
	if refresh == "" {
		t.Fatalf("second grant: %v", tok)
	}
	var wg sync.WaitGroup
	results := make([]map[string]any, 8)
	for i := range results {
		inst := []instance{a, b}[i%2]
		wg.Go(func() {
			results[i] = rp(inst, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		})
	}
	wg.Wait()
	wins := 0
	for _, r := range results {
		switch {
		case r["status"] == float64(200):
			wins++
		case r["error"] != "invalid_grant":
			t.Errorf("concurrent refresh: %v", r)
		}
	}
	if wins > 1 {
		t.Errorf("%d concurrent refreshes across instances succeeded, want at most one", wins)
	}
}
