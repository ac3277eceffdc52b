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
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup file %s already exists; choose a new name", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("backup file %s: %w", path, err)
	}
	if err := s.db.WithContext(ctx).Exec("VACUUM INTO ?", path).Error; err != nil {
		return fmt.Errorf("back up database to %s: %w", path, err)
	}
	return nil
}
