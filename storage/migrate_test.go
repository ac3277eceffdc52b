package storage

import (
	"context"
	"testing"

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
