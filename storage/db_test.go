package storage

import (
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenMustExist(t *testing.T) {
	t.Parallel()
	opts := testOptions()
	opts.MustExist = true

	missing := filepath.Join(t.TempDir(), "missing.db")
	s, err := Open(missing, opts)
	if err == nil {
		s.Close()
		t.Fatal("Open of a missing file succeeded, want an error")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open error = %v, want one wrapping fs.ErrNotExist", err)
	}
	if _, err := os.Lstat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open created %s: Lstat error = %v", missing, err)
	}

	existing := newTestDSN(t, "sqlite")
	openTestStore(t, existing).Close()
	s, err = Open(existing, opts)
	if err != nil {
		t.Fatalf("Open of an existing file: %v", err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	s.Close()
}

func TestSQLiteDSNMustExistCreatesNoFile(t *testing.T) {
	t.Parallel()
	// Open checks the file first, so this test connects directly.
	// mode=rw must stop SQLite from creating a file that was removed
	// after that check.
	missing := filepath.Join(t.TempDir(), "removed.db")
	db, err := sql.Open("sqlite3", sqliteDSN(missing, true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err == nil {
		t.Error("Ping of a missing file succeeded, want an error")
	}
	if _, err := os.Lstat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("connecting created %s: Lstat error = %v", missing, err)
	}
}
