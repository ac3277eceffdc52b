package main

import (
	"context"
	"fmt"
)

const backupDescription = `Write a consistent copy of the SQLite database to FILE. It is safe while
idp serve runs, and it refuses to overwrite an existing file. A PostgreSQL
database is backed up with pg_dump instead.`

// runBackup copies the SQLite database to a new file.
func runBackup(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "backup", "backup FILE [flags]", backupDescription)
	addConfigFlags(fs, databaseFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return newUsageError("backup", "backup takes one argument, the file to write")
	}
	// backup copies the schema as it finds it, so the copy restores the
	// database as it was. Version 0 is a file no command has set up.
	st, err := openUnmigratedStore(ctx, cfg, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, fs.Arg(0)); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "backed up %s to %s\n", redactDSN(cfg.Database), fs.Arg(0))
	return nil
}
