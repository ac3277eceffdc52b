package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/idp/idp/storage"
)

const janitorDescription = `Delete expired authorization codes, tokens, login sessions, authorization
flows, throttle counters and security events older than --event-retention,
once. idp serve does the same in the background every --janitor-interval.
Rows that detect the replay of a code or refresh token are kept until the
last token of their grant has expired.`

// runJanitor deletes expired rows once and prints what it removed.
func runJanitor(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "janitor", "janitor [flags]", janitorDescription)
	addConfigFlags(fs, append(databaseFlags, "login-session-idle-timeout", "event-retention")...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newUsageError("janitor", "janitor takes no arguments, got %q", fs.Arg(0))
	}
	st, err := openExistingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	counts, err := st.DeleteExpired(ctx, cleanupOptions(cfg, time.Now()))
	if err != nil {
		return err
	}
	tables := make([]string, 0, len(counts))
	for table := range counts {
		tables = append(tables, table)
	}
	sort.Strings(tables)
	for _, table := range tables {
		fmt.Fprintf(c.stdout, "%-20s %d deleted\n", table, counts[table])
	}
	return nil
}

func cleanupOptions(cfg *Config, now time.Time) storage.CleanupOptions {
	return storage.CleanupOptions{
		Now:                now,
		SessionIdleTimeout: cfg.LoginSessionIdleTimeout,
		EventRetention:     cfg.EventRetention,
	}
}

// runBackgroundJanitor deletes expired rows every cfg.JanitorInterval
// until ctx ends. Several instances may run it at once: each batch is
// a small delete that the others simply find already done.
func runBackgroundJanitor(ctx context.Context, cfg *Config, st *storage.Store, logger *slog.Logger) {
	ticker := time.NewTicker(cfg.JanitorInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			counts, err := st.DeleteExpired(ctx, cleanupOptions(cfg, now))
			if err != nil && ctx.Err() == nil {
				logger.ErrorContext(ctx, "delete expired rows failed", "err", err)
				continue
			}
			if n := counts.Total(); n > 0 {
				logger.InfoContext(ctx, "deleted expired rows", "rows", n)
			}
		}
	}
}
