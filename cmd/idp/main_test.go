package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testSystemSecret is a system secret of the accepted length.
const testSystemSecret = "k3Jx9Qm2Vt7Lp4Zr8Nw6Hs1Bd5Fg0Yc2Ue7Ia9Oq3Tl8Xv4M"

// result is what one run of the command line produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// invocation describes one run of the command line in a test.
type invocation struct {
	env   map[string]string
	stdin string
	// terminal, when not nil, makes stdin a terminal whose password
	// prompts return these lines in turn.
	terminal []string
}

// runIDP runs the command line with args and returns its exit code and
// output.
func runIDP(t *testing.T, in invocation, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{
		stdin:  strings.NewReader(in.stdin),
		stdout: &stdout,
		stderr: &stderr,
		getenv: func(name string) string { return in.env[name] },
	}
	if in.terminal != nil {
		lines := in.terminal
		c.stdinIsTerminal = true
		c.readPassword = func() ([]byte, error) {
			if len(lines) == 0 {
				t.Fatal("prompted for more passwords than the test provides")
			}
			line := lines[0]
			lines = lines[1:]
			return []byte(line), nil
		}
	}
	code := run(t.Context(), c, args)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// testEnv returns an environment with a new SQLite database in a
// temporary directory and a system secret.
func testEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{
		"IDP_DATABASE":      filepath.Join(t.TempDir(), "idp.db"),
		"IDP_SYSTEM_SECRET": testSystemSecret,
	}
}

// wantCode fails the test unless r exited with code.
func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// wantContains fails the test unless text contains each of subs.
func wantContains(t *testing.T, what, text string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(text, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, text)
		}
	}
}

func TestRunCommandDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no arguments", args: nil, wantCode: 2, wantStderr: "Commands:"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2,
			wantStderr: `idp: unknown command "frobnicate"`},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: "Commands:"},
		{name: "dash h", args: []string{"-h"}, wantCode: 0, wantStdout: "Commands:"},
		{name: "help of a command", args: []string{"help", "migrate"}, wantCode: 0,
			wantStdout: "--database"},
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: "idp "},
		{name: "version with argument", args: []string{"version", "x"}, wantCode: 2,
			wantStderr: "Run 'idp version -h' for usage."},
		{name: "clients without command", args: []string{"clients"}, wantCode: 2,
			wantStderr: "missing command"},
		{name: "users unknown command", args: []string{"users", "frob"}, wantCode: 2,
			wantStderr: `unknown command "frob"`},
		{name: "clients help", args: []string{"clients", "help"}, wantCode: 0,
			wantStdout: "rotate-secret"},
		{name: "users help", args: []string{"users", "-h"}, wantCode: 0,
			wantStdout: "set-password"},
		{name: "unknown flag", args: []string{"migrate", "--frob"}, wantCode: 2,
			wantStderr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runIDP(t, invocation{env: testEnv(t)}, tt.args...)
			wantCode(t, r, tt.wantCode)
			wantContains(t, "stdout", r.stdout, tt.wantStdout)
			wantContains(t, "stderr", r.stderr, tt.wantStderr)
		})
	}
}

func TestCommandHelpListsSettings(t *testing.T) {
	r := runIDP(t, invocation{env: testEnv(t)}, "clients", "create", "-h")
	wantCode(t, r, 0)
	wantContains(t, "help", r.stdout,
		"Usage: idp clients create",
		"--redirect-uri URI",
		"--system-secret-file file",
		"env IDP_SYSTEM_SECRET_FILE, config file key system_secret_file",
	)
	if strings.Contains(r.stdout, "--password") {
		t.Errorf("help offers a password flag:\n%s", r.stdout)
	}
}

func TestMigrate(t *testing.T) {
	env := testEnv(t)

	r := runIDP(t, invocation{env: env}, "migrate", "--check")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "does not exist", "run idp migrate")

	// An empty file is a database at version 0.
	if err := os.WriteFile(env["IDP_DATABASE"], nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runIDP(t, invocation{env: env}, "migrate", "--check")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "schema is at version 0", "run idp migrate")

	r = runIDP(t, invocation{env: env}, "migrate")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "applied migration 1\n", "schema is at version ")

	r = runIDP(t, invocation{env: env}, "migrate")
	wantCode(t, r, 0)
	if strings.Contains(r.stdout, "applied") {
		t.Errorf("second migrate applied migrations again:\n%s", r.stdout)
	}

	r = runIDP(t, invocation{env: env}, "migrate", "--check")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "no migrations are pending")
}

func TestMigrateRejectsArguments(t *testing.T) {
	r := runIDP(t, invocation{env: testEnv(t)}, "migrate", "now")
	wantCode(t, r, 2)
	wantContains(t, "stderr", r.stderr, `migrate takes no arguments, got "now"`)
}
