package storage

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/google/go-cmp/cmp"
)

func TestMigrateIdempotent(t *testing.T) {
	t.Parallel()
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openTestStore(t, newTestDSN(t, driver))

			v, err := s.SchemaVersion(ctx)
			if err != nil {
				t.Fatalf("SchemaVersion before Migrate: %v", err)
			}
			if v != 0 {
				t.Errorf("SchemaVersion before Migrate = %d, want 0", v)
			}
			if err := s.CheckSchema(ctx); err == nil {
				t.Error("CheckSchema before Migrate = nil, want an error")
			}

			var want []int
			for _, m := range migrations {
				want = append(want, m.version)
			}
			applied, err := s.Migrate(ctx)
			if err != nil {
				t.Fatalf("first Migrate: %v", err)
			}
			if diff := cmp.Diff(want, applied); diff != "" {
				t.Errorf("first Migrate applied (-want +got):\n%s", diff)
			}

			applied, err = s.Migrate(ctx)
			if err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if len(applied) != 0 {
				t.Errorf("second Migrate applied %v, want nothing", applied)
			}

			v, err = s.SchemaVersion(ctx)
			if err != nil {
				t.Fatalf("SchemaVersion: %v", err)
			}
			if v != LatestSchemaVersion() {
				t.Errorf("SchemaVersion = %d, want %d", v, LatestSchemaVersion())
			}
			if err := s.CheckSchema(ctx); err != nil {
				t.Errorf("CheckSchema after Migrate: %v", err)
			}
		})
	}
}

func TestCheckSchemaRejectsNewerVersion(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		newer := LatestSchemaVersion() + 1
		row := &schemaMigration{Version: newer, Name: "from a newer binary"}
		if err := s.db.Create(row).Error; err != nil {
			t.Fatalf("insert schema version %d: %v", newer, err)
		}

		if err := s.CheckSchema(ctx); err == nil {
			t.Errorf("CheckSchema with schema version %d = nil, want an error", newer)
		}
		if applied, err := s.Migrate(ctx); err == nil {
			t.Errorf("Migrate with schema version %d applied %v, want an error", newer, applied)
		}
	})
}

func TestConcurrentMigrate(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			// Several instances start at once on one empty database.
			dsn := newTestDSN(t, driver)
			stores := make([]*Store, 4)
			for i := range stores {
				stores[i] = openTestStore(t, dsn)
			}
			var wg sync.WaitGroup
			errs := make([]error, len(stores))
			applied := make([][]int, len(stores))
			for i, s := range stores {
				wg.Go(func() { applied[i], errs[i] = s.Migrate(context.Background()) })
			}
			wg.Wait()
			total := 0
			for i, err := range errs {
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
				}
				total += len(applied[i])
			}
			if total != LatestSchemaVersion() {
				t.Errorf("migrations applied in total: %d, want each once (%d)", total, LatestSchemaVersion())
			}
		})
	}
}

func TestMigrateBacksUpSQLite(t *testing.T) {
	// Pretend the file is at an older version by adding a step.
	dsn := newTestDSN(t, "sqlite")
	s := openTestStore(t, dsn)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(migrations[:len(migrations):len(migrations)], migration{
		version: LatestSchemaVersion() + 1,
		name:    "test step",
		apply:   func(tx *gorm.DB) error { return tx.Exec("CREATE TABLE test_step (id INTEGER)").Error },
	})
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	backups, _ := filepath.Glob(dsn + ".v*.bak")
	if len(backups) != 1 {
		t.Fatalf("backups: got %v, want one", backups)
	}
	copyStore := openTestStore(t, backups[0])
	if v, err := copyStore.SchemaVersion(context.Background()); err != nil || v != saved[len(saved)-1].version {
		t.Errorf("backup schema version: %d %v", v, err)
	}
}

func TestMigrateStep2UpgradesOldSchema(t *testing.T) {
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		// Turn the database back into what step 1 created before the
		// tables and the column of step 2 existed.
		for _, stmt := range []string{
			"DROP TABLE security_events",
			"DROP TABLE throttles",
			"ALTER TABLE auth_flows DROP COLUMN pending_user_id",
			"DELETE FROM schema_migrations WHERE version = 2",
		} {
			if err := s.db.Exec(stmt).Error; err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		applied, err := s.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 1 || applied[0] != 2 {
			t.Errorf("applied: %v, want [2]", applied)
		}
		if err := s.RecordEvent(ctx, &SecurityEvent{Kind: EventSignInFailed}); err != nil {
			t.Errorf("security events after the upgrade: %v", err)
		}
		if _, err := s.RecordFailure(ctx, "k", time.Now(), time.Hour, func(int) time.Duration { return 0 }); err != nil {
			t.Errorf("throttles after the upgrade: %v", err)
		}
		f := &AuthFlow{SessionID: "s", ClientID: "c", Form: "x=1", PendingUserID: "u", ExpiresAt: time.Now().Add(time.Hour)}
		if err := s.CreateAuthFlow(ctx, f, "flow-id"); err != nil {
			t.Errorf("auth flow with a pending user after the upgrade: %v", err)
		}
	})
}

func TestMigrateCanceled(t *testing.T) {
	t.Parallel()
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			s := openTestStore(t, newTestDSN(t, driver))
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := s.Migrate(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("Migrate with a canceled context: got %v, want context.Canceled", err)
			}
		})
	}
}
