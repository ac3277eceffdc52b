package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const userPassword = "correct horse battery staple"

// decodeUser parses the JSON output of a users command.
func decodeUser(t *testing.T, r result) userView {
	t.Helper()
	var v userView
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("output is not user JSON: %v\n%s", err, r.stdout)
	}
	return v
}

func TestUsersLifecycle(t *testing.T) {
	env := testEnv(t)
	in := invocation{env: env, stdin: userPassword + "\n"}

	r := runIDP(t, in, "users", "create", "--json",
		"--username", "alice",
		"--name", "Alice Example",
		"--email", "alice@example.com",
		"--email-verified",
		"--locale", "en-GB")
	wantCode(t, r, 0)
	created := decodeUser(t, r)
	if created.ID == "" || created.Subject == "" || created.Username != "alice" {
		t.Fatalf("created user = %+v, want an ID, a subject and username alice", created)
	}
	if !created.HasPassword || !created.EmailVerified || created.Name != "Alice Example" {
		t.Errorf("created user = %+v, want a password, a verified email and the name", created)
	}

	// The JSON form never contains the password or its hash.
	r = runIDP(t, invocation{env: env}, "users", "show", "alice", "--json")
	wantCode(t, r, 0)
	for _, secret := range []string{userPassword, "argon2", "password_hash"} {
		if strings.Contains(r.stdout, secret) {
			t.Errorf("show --json contains %q:\n%s", secret, r.stdout)
		}
	}
	if got := decodeUser(t, r).ID; got != created.ID {
		t.Errorf("show by username found ID %q, want %q", got, created.ID)
	}

	r = runIDP(t, invocation{env: env}, "users", "show", created.ID)
	wantCode(t, r, 0)
	wantContains(t, "show", r.stdout, "Username:", "alice", "Status:", "active")

	r = runIDP(t, invocation{env: env}, "users", "disable", "alice")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "disabled user alice")
	r = runIDP(t, invocation{env: env}, "users", "show", "alice", "--json")
	wantCode(t, r, 0)
	if !decodeUser(t, r).Disabled {
		t.Error("user is not disabled after disable")
	}

	r = runIDP(t, invocation{env: env}, "users", "enable", "alice")
	wantCode(t, r, 0)
	r = runIDP(t, invocation{env: env}, "users", "list")
	wantCode(t, r, 0)
	wantContains(t, "list", r.stdout, "USERNAME", "alice", "alice@example.com", "active")

	r = runIDP(t, invocation{env: env, stdin: "another long password\r\n"}, "users", "set-password", "alice")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "set the password of user alice")

	r = runIDP(t, invocation{env: env}, "users", "delete", "alice")
	wantCode(t, r, 0)
	r = runIDP(t, invocation{env: env}, "users", "show", "alice")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, `no user has the ID or username "alice"`)

	r = runIDP(t, invocation{env: env}, "users", "list", "--json")
	wantCode(t, r, 0)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list --json of no users = %q, want []", r.stdout)
	}
}

func TestUsersCreateNeedsNoSystemSecret(t *testing.T) {
	env := testEnv(t)
	delete(env, "IDP_SYSTEM_SECRET")
	r := runIDP(t, invocation{env: env, stdin: userPassword}, "users", "create", "--username", "bob")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "bob")
}

func TestUsersPasswordFromTerminal(t *testing.T) {
	tests := []struct {
		name     string
		lines    []string
		wantCode int
		want     string
	}{
		{name: "matching", lines: []string{userPassword, userPassword}, wantCode: 0},
		{name: "mismatch", lines: []string{userPassword, userPassword + "!"}, wantCode: 1,
			want: "the passwords do not match"},
		{name: "too short", lines: []string{"short"}, wantCode: 1, want: "password is 5 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := invocation{env: testEnv(t), terminal: tt.lines}
			r := runIDP(t, in, "users", "create", "--username", "carol")
			wantCode(t, r, tt.wantCode)
			wantContains(t, "stderr", r.stderr, "New password: ", tt.want)
			if strings.Contains(r.stderr, userPassword) || strings.Contains(r.stdout, userPassword) {
				t.Error("the password was echoed")
			}
		})
	}
}

func TestUsersErrors(t *testing.T) {
	tests := []struct {
		name string
		// migrate makes the database exist before the command runs.
		migrate  bool
		stdin    string
		args     []string
		wantCode int
		want     []string
	}{
		{
			name:     "password flag",
			stdin:    userPassword,
			args:     []string{"users", "create", "--username", "dave", "--password", userPassword},
			wantCode: 2,
			want:     []string{"flag provided but not defined: -password"},
		},
		{
			name:     "empty stdin",
			args:     []string{"users", "create", "--username", "dave"},
			wantCode: 1,
			want:     []string{"no password on stdin"},
		},
		{
			name:     "short password",
			stdin:    "short\n",
			args:     []string{"users", "create", "--username", "dave"},
			wantCode: 1,
			want:     []string{"password is 5 characters long"},
		},
		{
			name:     "missing username",
			stdin:    userPassword,
			args:     []string{"users", "create"},
			wantCode: 2,
			want:     []string{"--username is required"},
		},
		{
			name:     "unknown user",
			migrate:  true,
			stdin:    userPassword,
			args:     []string{"users", "set-password", "nobody"},
			wantCode: 1,
			want:     []string{`no user has the ID or username "nobody"`},
		},
		{
			name:     "disable without user",
			args:     []string{"users", "disable"},
			wantCode: 2,
			want:     []string{"missing user ID or username", "idp users disable -h"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv(t)
			if tt.migrate {
				wantCode(t, runIDP(t, invocation{env: env}, "migrate"), 0)
			}
			r := runIDP(t, invocation{env: env, stdin: tt.stdin}, tt.args...)
			wantCode(t, r, tt.wantCode)
			wantContains(t, "stderr", r.stderr, tt.want...)
		})
	}
}

func TestUsersCreateDuplicate(t *testing.T) {
	env := testEnv(t)
	r := runIDP(t, invocation{env: env, stdin: userPassword}, "users", "create", "--username", "erin")
	wantCode(t, r, 0)
	r = runIDP(t, invocation{env: env, stdin: userPassword}, "users", "create", "--username", "erin")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "already taken")
}

func TestReadFirstLine(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{name: "newline", input: "pass word\nrest\n", want: "pass word"},
		{name: "carriage return", input: "pass word\r\n", want: "pass word"},
		{name: "no newline", input: "pass word", want: "pass word"},
		{name: "spaces kept", input: "  spaced  \n", want: "  spaced  "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readFirstLine(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("readFirstLine(%q) = %q, want %q", tt.input, got, tt.want)
			}
		})
	}
}
