package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idp/idp/storage"
)

func TestServeRejectsDevDatabase(t *testing.T) {
	env := testEnv(t)
	cfg := defaultConfig()
	cfg.Database = env["IDP_DATABASE"]
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := markDevDatabase(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	st.Close()

	r := runIDP(t, invocation{env: env}, "serve", "--issuer", "https://id.example.com", "--trusted-proxy", "127.0.0.1")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "--dev", "demo credentials")
}

func TestServeRejectsPlainHTTP(t *testing.T) {
	r := runIDP(t, invocation{env: testEnv(t)}, "serve", "--issuer", "https://id.example.com")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "--tls-cert", "--trusted-proxy", "--dev")
}

func TestServeRejectsShortAdminToken(t *testing.T) {
	env := testEnv(t)
	env["IDP_ADMIN_TOKEN"] = "too-short"
	r := runIDP(t, invocation{env: env}, "serve", "--issuer", "https://id.example.com", "--trusted-proxy", "127.0.0.1", "--listen", "127.0.0.1:0")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "IDP_ADMIN_TOKEN")
}

func TestDevSeedIsIdempotent(t *testing.T) {
	p := newTestProvider(t, func(c *Config) { c.Dev = true })
	ctx := context.Background()
	if err := markDevDatabase(ctx, p.app.store); err != nil {
		t.Fatal(err)
	}
	first, err := ensureDemo(ctx, p.app.cfg, p.app)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ensureDemo(ctx, p.app.cfg, p.app)
	if err != nil {
		t.Fatal(err)
	}
	if *first != *second {
		t.Errorf("second start changed the demo account: %+v then %+v", first, second)
	}
	if _, err := p.app.users.Authenticate(ctx, demoUsername, first.password); err != nil {
		t.Errorf("demo user cannot sign in with the printed password: %v", err)
	}
	if _, err := p.app.store.Setting(ctx, storage.SettingDevSeed); err != nil {
		t.Errorf("dev marker: %v", err)
	}
}

func TestServeLogsStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	env := testEnv(t)
	c := &cli{
		stdin:  strings.NewReader(""),
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(name string) string { return env[name] },
	}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, c, []string{"serve", "--issuer", "https://id.example.com", "--trusted-proxy", "127.0.0.1",
			"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "admin listener started") {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start within 10s; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	cancel()
	if code := <-exit; code != 0 {
		t.Fatalf("serve exited with %d, want 0; stderr:\n%s", code, stderr.String())
	}
	wantContains(t, "stderr", stderr.String(), "shutting down", `"msg":"stopped"`)
}

func TestSecretFileModeWarning(t *testing.T) {
	tests := []struct {
		name     string
		mode     os.FileMode
		wantWarn bool
	}{
		{"owner only", 0o600, false},
		{"readable by all", 0o644, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv(t)
			delete(env, "IDP_SYSTEM_SECRET")
			path := filepath.Join(t.TempDir(), "secret")
			if err := os.WriteFile(path, []byte(testSystemSecret+"\n"), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			r := runIDP(t, invocation{env: env}, "clients", "create", "--name", "App",
				"--redirect-uri", "https://app.example.com/callback", "--system-secret-file", path)
			wantCode(t, r, 0)
			if got := strings.Contains(r.stderr, "can be read by other users"); got != tt.wantWarn {
				t.Errorf("warning printed = %v, want %v; stderr:\n%s", got, tt.wantWarn, r.stderr)
			}
		})
	}
}

func TestServePortInUse(t *testing.T) {
	tests := []struct {
		name     string
		flag     string
		listener string
	}{
		{name: "public", flag: "--listen", listener: "public"},
		{name: "admin", flag: "--admin-listen", listener: "admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			occupied, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { occupied.Close() })
			addr := occupied.Addr().String()

			args := map[string]string{"--listen": "127.0.0.1:0", "--admin-listen": "127.0.0.1:0"}
			args[tt.flag] = addr
			r := runIDP(t, invocation{env: testEnv(t)}, "serve",
				"--issuer", "https://id.example.com", "--trusted-proxy", "127.0.0.1",
				"--listen", args["--listen"], "--admin-listen", args["--admin-listen"])
			wantCode(t, r, 1)
			wantContains(t, "stderr", r.stderr, tt.listener+" listener: bind "+addr+" failed", tt.flag)
			if strings.Contains(r.stderr, tt.listener+" listener started") {
				t.Errorf("stderr logs the %s listener as started:\n%s", tt.listener, r.stderr)
			}
			// Every address is bound before any server starts, so no
			// listener reports a start when one bind fails.
			if strings.Contains(r.stderr, "listener started") {
				t.Errorf("stderr logs a listener as started:\n%s", r.stderr)
			}
		})
	}
}
