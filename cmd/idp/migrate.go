package main

import (
	"context"
	"fmt"

	"github.com/idp/idp/storage"
)

const migrateDescription = `Apply the database schema migrations that are pending. It is safe to run
while idp serve is running and when nothing is pending. With --check it
changes nothing and exits with status 1 when migrations are pending.`

// runMigrate applies pending migrations, or with --check reports
// whether any are pending.
func runMigrate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "migrate", "migrate [--check] [flags]", migrateDescription)
	check := fs.Bool("check", false, "change nothing; exit with status 1 when migrations are pending")
	addConfigFlags(fs, databaseFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newUsageError("migrate", "migrate takes no arguments, got %q", fs.Arg(0))
	}

	// --check changes nothing, so it does not create a missing file.
	st, err := openDatabase(cfg, storage.Options{MustExist: *check})
	if err != nil {
		return err
	}
	defer st.Close()

	if *check {
		return checkSchema(ctx, c, st)
	}

	applied, err := st.Migrate(ctx)
	for _, v := range applied {
		fmt.Fprintf(c.stdout, "applied migration %d\n", v)
	}
	if err != nil {
		return fmt.Errorf("migrate database %s: %w", redactDSN(cfg.Database), err)
	}
	version, err := st.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	fmt.Fprintf(c.stdout, "schema is at version %d\n", version)
	return nil
}

// checkSchema prints the schema version and returns an error when it is
// not the one this binary expects.
func checkSchema(ctx context.Context, c *cli, st *storage.Store) error {
	version, err := st.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	latest := storage.LatestSchemaVersion()
	switch {
	case version < latest:
		return fmt.Errorf("schema is at version %d; migrations %d to %d are pending: run idp migrate",
			version, version+1, latest)
	case version > latest:
		return fmt.Errorf("schema is at version %d, newer than this binary's %d: upgrade idp",
			version, latest)
	}
	fmt.Fprintf(c.stdout, "schema is at version %d; no migrations are pending\n", version)
	return nil
}
