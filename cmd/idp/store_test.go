package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/idp/idp/storage"
)

// readCommands lists a run of every command that only reads the
// database, with the arguments it needs besides --database. backup
// writes its copy to copyPath.
func readCommands(copyPath string) []struct {
	name string
	args []string
} {
	return []struct {
		name string
		args []string
	}{
		{"users list", []string{"users", "list"}},
		{"users show", []string{"users", "show", "alice"}},
		{"clients list", []string{"clients", "list"}},
		{"clients show", []string{"clients", "show", "client-1"}},
		{"keys list", []string{"keys", "list"}},
		{"events", []string{"events"}},
		{"backup", []string{"backup", copyPath}},
		{"migrate check", []string{"migrate", "--check"}},
	}
}

// wantFiles fails the test unless dir contains exactly names.
func wantFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range entries {
		got[e.Name()] = true
	}
	for _, name := range names {
		if !got[name] {
			t.Errorf("%s does not contain %s", dir, name)
		}
		delete(got, name)
	}
	for name := range got {
		t.Errorf("%s contains %s, which the command should not have written", dir, name)
	}
}

func TestReadCommandsRejectMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "typo.db")
	for _, tt := range readCommands(filepath.Join(dir, "copy.db")) {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args[:len(tt.args):len(tt.args)], "--database", path)

			r := runIDP(t, invocation{env: testEnv(t)}, args...)
			wantCode(t, r, 1)
			wantContains(t, "stderr", r.stderr,
				"database file "+path+" (from flag --database) does not exist",
				"Check --database",
				"run idp migrate or idp serve to create a new database")
			wantFiles(t, dir)
		})
	}
}

func TestChangeCommandsRejectMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "typo.db")
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{name: "users set-password", args: []string{"users", "set-password", "alice"},
			stdin: "correct horse battery staple\n"},
		{name: "users disable", args: []string{"users", "disable", "alice"}},
		{name: "users enable", args: []string{"users", "enable", "alice"}},
		{name: "users delete", args: []string{"users", "delete", "alice"}},
		{name: "users revoke-consent", args: []string{"users", "revoke-consent", "alice", "client-1"}},
		{name: "clients update", args: []string{"clients", "update", "client-1", "--name", "Renamed"}},
		{name: "clients rotate-secret", args: []string{"clients", "rotate-secret", "client-1"}},
		{name: "clients delete", args: []string{"clients", "delete", "client-1"}},
		{name: "keys withdraw", args: []string{"keys", "withdraw", "kid-1"}},
		{name: "janitor", args: []string{"janitor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(tt.args[:len(tt.args):len(tt.args)], "--database", path)

			r := runIDP(t, invocation{env: testEnv(t), stdin: tt.stdin}, args...)
			wantCode(t, r, 1)
			wantContains(t, "stderr", r.stderr, "database file "+path+" (from flag --database) does not exist")
			wantFiles(t, dir)
		})
	}
}

func TestCreateCommandsCreateMissingDatabase(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
	}{
		{name: "migrate", args: []string{"migrate"}},
		{name: "users create", args: []string{"users", "create", "--username", "alice"},
			stdin: "correct horse battery staple\n"},
		{name: "clients create", args: []string{"clients", "create", "--name", "Example App",
			"--redirect-uri", "https://app.example.com/callback"}},
		{name: "keys rotate", args: []string{"keys", "rotate", "--delay", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "new.db")
			args := append(tt.args[:len(tt.args):len(tt.args)], "--database", path)

			r := runIDP(t, invocation{env: testEnv(t), stdin: tt.stdin}, args...)
			wantCode(t, r, 0)
			if got := sqliteSchemaVersion(t, path); got != storage.LatestSchemaVersion() {
				t.Errorf("schema version = %d, want %d", got, storage.LatestSchemaVersion())
			}
		})
	}
}

func TestReadCommandsKeepOlderSchema(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(t)
	env["IDP_DATABASE"] = filepath.Join(dir, "idp.db")
	wantCode(t, runIDP(t, invocation{env: env}, "migrate"), 0)
	older := storage.LatestSchemaVersion() - 1
	execSQLite(t, env["IDP_DATABASE"], "DELETE FROM schema_migrations WHERE version > ?", older)

	copyPath := filepath.Join(dir, "copy.db")
	wantStderr := fmt.Sprintf("has schema version %d, but this command needs version %d",
		older, storage.LatestSchemaVersion())
	for _, tt := range readCommands(copyPath) {
		t.Run(tt.name, func(t *testing.T) {
			r := runIDP(t, invocation{env: env}, tt.args...)
			switch tt.name {
			case "backup":
				// A copy keeps the schema it was taken from.
				wantCode(t, r, 0)
				if got := sqliteSchemaVersion(t, copyPath); got != older {
					t.Errorf("schema version of the copy = %d, want %d", got, older)
				}
				if err := os.Remove(copyPath); err != nil {
					t.Fatal(err)
				}
			case "migrate check":
				wantCode(t, r, 1)
				wantContains(t, "stderr", r.stderr, "run idp migrate")
			default:
				wantCode(t, r, 1)
				wantContains(t, "stderr", r.stderr, wantStderr, "run idp migrate")
			}

			if got := sqliteSchemaVersion(t, env["IDP_DATABASE"]); got != older {
				t.Errorf("schema version after the command = %d, want %d", got, older)
			}
			wantFiles(t, dir, "idp.db")
		})
	}
}

func TestReadCommandsRejectNewerSchema(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(t)
	env["IDP_DATABASE"] = filepath.Join(dir, "idp.db")
	wantCode(t, runIDP(t, invocation{env: env}, "migrate"), 0)
	newer := storage.LatestSchemaVersion() + 1
	execSQLite(t, env["IDP_DATABASE"],
		"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from a newer idp', CURRENT_TIMESTAMP)",
		newer)

	for _, args := range [][]string{
		{"users", "list"},
		{"backup", filepath.Join(dir, "copy.db")},
	} {
		r := runIDP(t, invocation{env: env}, args...)
		wantCode(t, r, 1)
		wantContains(t, "stderr", r.stderr, "newer than this binary supports", "upgrade idp")
		wantFiles(t, dir, "idp.db")
	}
}

func TestReadCommandsOnPostgresLeaveSchema(t *testing.T) {
	env := testEnv(t)
	env["IDP_DATABASE"] = newPostgresDatabase(t)

	r := runIDP(t, invocation{env: env}, "users", "list")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "has schema version 0", "run idp migrate")

	r = runIDP(t, invocation{env: env}, "migrate", "--check")
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "schema is at version 0")

	wantCode(t, runIDP(t, invocation{env: env}, "migrate"), 0)
	r = runIDP(t, invocation{env: env}, "users", "list")
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "USERNAME")
}

// sqliteSchemaVersion returns the newest migration recorded in the
// SQLite file at path.
func sqliteSchemaVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.QueryRow("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		t.Fatalf("read the schema version of %s: %v", path, err)
	}
	return version
}

// execSQLite runs one statement on the SQLite file at path.
func execSQLite(t *testing.T, path, statement string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(statement, args...); err != nil {
		t.Fatalf("%s: %v", statement, err)
	}
}
