package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/loadtest"
)

// loadtestSetup returns a provider with user alice and a client that
// has every grant the scenarios use, and the invocation environment
// that carries the client secret and the password.
func loadtestSetup(t *testing.T) (*testProvider, clients.Metadata, invocation) {
	t.Helper()
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{
		RedirectURIs: []string{loadtest.DefaultRedirectURI},
		GrantTypes:   []string{"authorization_code", "refresh_token", "client_credentials"},
		Scope:        "openid profile offline_access",
	})
	env := invocation{env: map[string]string{
		"IDP_LOADTEST_CLIENT_SECRET": md.ClientSecret,
		"IDP_LOADTEST_PASSWORD":      testPassword,
	}}
	return p, md, env
}

func TestLoadtestScenarios(t *testing.T) {
	p, md, env := loadtestSetup(t)
	tests := []struct {
		name string
		args []string
	}{
		{name: "client_credentials", args: []string{"--scenario", "client_credentials"}},
		{name: "introspect", args: []string{"--scenario", "introspect"}},
		{name: "introspect user token", args: []string{"--scenario", "introspect", "--username", "alice"}},
		{name: "refresh", args: []string{"--scenario", "refresh", "--username", "alice"}},
		{name: "authcode signing in", args: []string{"--scenario", "authcode", "--username", "alice"}},
		{name: "authcode single sign-on", args: []string{"--scenario", "authcode", "--username", "alice", "--reuse-session"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"loadtest",
				"--issuer", p.issuer, "--client-id", md.ClientID, "--insecure-skip-verify",
				"--concurrency", "2", "--requests", "6", "--json"}, tt.args...)
			r := runIDP(t, env, args...)
			wantCode(t, r, 0)
			var report loadtest.Report
			if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
				t.Fatalf("output is not a JSON report: %v\n%s", err, r.stdout)
			}
			if report.Scenario == nil {
				t.Fatalf("report has no scenario:\n%s", r.stdout)
			}
			if report.Scenario.Requests != 6 {
				t.Errorf("requests: got %d, want 6", report.Scenario.Requests)
			}
			if report.Scenario.Errors != 0 {
				t.Errorf("errors: got %v\nserver log:\n%s", report.Scenario.ErrorsByKind, p.logs.String())
			}
		})
	}
}

func TestLoadtestSecretsStayOutOfLogs(t *testing.T) {
	p, md, env := loadtestSetup(t)
	r := runIDP(t, env, "loadtest", "--issuer", p.issuer, "--client-id", md.ClientID, "--insecure-skip-verify",
		"--scenario", "refresh", "--username", "alice", "--concurrency", "1", "--requests", "2")
	wantCode(t, r, 0)
	for _, secret := range []string{md.ClientSecret, testPassword} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("loadtest output contains a secret:\n%s\n%s", r.stdout, r.stderr)
		}
	}
}

func TestLoadtestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no scenario", args: []string{"--issuer", "https://127.0.0.1:1"}, want: "name a scenario"},
		{name: "unknown scenario", args: []string{"--scenario", "implicit", "--issuer", "https://127.0.0.1:1", "--client-id", "a", "--client-secret", "b"}, want: "unknown scenario"},
		{name: "issuer not a URL", args: []string{"--scenario", "introspect", "--issuer", "127.0.0.1:1"}, want: "not an http or https URL"},
		{name: "stray argument", args: []string{"extra"}, want: "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runIDP(t, invocation{}, append([]string{"loadtest"}, tt.args...)...)
			wantCode(t, r, 2)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr: got %q, want it to contain %q", r.stderr, tt.want)
			}
		})
	}
}
