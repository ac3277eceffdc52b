package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/idp/idp/provider"
	"github.com/idp/idp/storage"
)

// storeOpener opens the database of cfg for one kind of command.
type storeOpener func(ctx context.Context, cfg *Config) (*storage.Store, error)

// openStore opens the database of cfg, creating a missing SQLite file,
// and applies pending migrations, which does nothing when the schema is
// current. Commands that create data use it, so that they work on a new
// machine before idp serve has run.
func openStore(ctx context.Context, cfg *Config) (*storage.Store, error) {
	return openObservedStore(ctx, cfg, nil)
}

// openObservedStore is openStore with observe receiving the duration of
// every database statement.
func openObservedStore(ctx context.Context, cfg *Config, observe func(string, time.Duration)) (*storage.Store, error) {
	st, err := openDatabase(cfg, storage.Options{ObserveQuery: observe})
	if err != nil {
		return nil, err
	}
	return migrateStore(ctx, cfg, st)
}

// openExistingStore opens the database of cfg for a command that
// changes records which must already exist, such as disabling a user.
// It fails on a missing SQLite file and applies pending migrations.
func openExistingStore(ctx context.Context, cfg *Config) (*storage.Store, error) {
	st, err := openDatabase(cfg, storage.Options{MustExist: true})
	if err != nil {
		return nil, err
	}
	return migrateStore(ctx, cfg, st)
}

// openStoreToRead opens the database of cfg for a command that only
// reads records. It fails on a missing SQLite file, never changes the
// schema, and requires the latest schema version, because the record
// types of this binary describe that version only.
func openStoreToRead(ctx context.Context, cfg *Config) (*storage.Store, error) {
	return openUnmigratedStore(ctx, cfg, storage.LatestSchemaVersion())
}

// openUnmigratedStore opens the database of cfg without creating a
// missing SQLite file or changing the schema. It fails unless the schema
// version is between oldest and the latest version this binary supports.
func openUnmigratedStore(ctx context.Context, cfg *Config, oldest int) (*storage.Store, error) {
	st, err := openDatabase(cfg, storage.Options{MustExist: true})
	if err != nil {
		return nil, err
	}
	if err := checkReadableSchema(ctx, cfg, st, oldest); err != nil {
		_ = st.Close()
		return nil, err
	}
	return st, nil
}

// openDatabase opens the database of cfg with opts and the session type
// of the provider.
func openDatabase(cfg *Config, opts storage.Options) (*storage.Store, error) {
	opts.NewSession = provider.NewFositeSession
	st, err := storage.Open(cfg.Database, opts)
	if opts.MustExist && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database file %s (from %s) does not exist. Check --database, "+
			"or run idp migrate or idp serve to create a new database",
			cfg.Database, cfg.origin("database"))
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactDSN(cfg.Database), err)
	}
	return st, nil
}

// migrateStore applies the pending migrations of st and closes it when
// they fail.
func migrateStore(ctx context.Context, cfg *Config, st *storage.Store) (*storage.Store, error) {
	if _, err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("migrate database %s: %w", redactDSN(cfg.Database), err)
	}
	return st, nil
}

// checkReadableSchema returns an error unless the schema version of st
// is between oldest and storage.LatestSchemaVersion.
func checkReadableSchema(ctx context.Context, cfg *Config, st *storage.Store, oldest int) error {
	version, err := st.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read the schema version of database %s: %w", redactDSN(cfg.Database), err)
	}
	latest := storage.LatestSchemaVersion()
	switch {
	case version > latest:
		return fmt.Errorf("database %s has schema version %d, newer than this binary supports (%d): upgrade idp",
			redactDSN(cfg.Database), version, latest)
	case version < oldest:
		return fmt.Errorf("database %s has schema version %d, but this command needs version %d: "+
			"run idp migrate first",
			redactDSN(cfg.Database), version, oldest)
	}
	return nil
}
