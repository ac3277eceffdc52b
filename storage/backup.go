package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ErrBackupUnsupported means the database is not a SQLite file; a
// PostgreSQL database is backed up with its own tools (pg_dump).
var ErrBackupUnsupported = errors.New("backup writes SQLite databases only; back up PostgreSQL with pg_dump")

// Backup writes a consistent copy of a SQLite database to path while it
// is in use (SQLite's VACUUM INTO). It refuses to overwrite a file.
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != "sqlite" {
		return ErrBackupUnsupported
	}
	// Lstat, so that a symbolic link, even a dangling one, counts as an
	// existing file and is never written through.
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("backup file %s already exists; choose a new name", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup file %s: %w", path, err)
	}
	// The copy holds password hashes and sealed keys, so it is created
	// readable by its owner only before SQLite fills it.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create backup file: %w", err)
	}
	f.Close()
	if err := s.db.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		os.Remove(path)
		return fmt.Errorf("back up database to %s: %w", path, err)
	}
	return nil
}
