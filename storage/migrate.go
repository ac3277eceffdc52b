package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// schemaMigration records one applied migration.
type schemaMigration struct {
	Version   int `gorm:"primaryKey;autoIncrement:false"`
	Name      string
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// migration is one step of the schema's history. Steps are never edited
// once released; a change is a new step.
type migration struct {
	version int
	name    string
	apply   func(tx *gorm.DB) error
}

// migrations lists every step in order.
var migrations = []migration{
	{1, "initial schema", func(tx *gorm.DB) error {
		// NOTE: this step creates tables from the current model structs.
		// Later steps must use their own frozen structs or SQL, because
		// changing a model must not change what step 1 created.
		return tx.Migrator().AutoMigrate(
			&Client{}, &User{}, &LoginSession{}, &AuthFlow{}, &Consent{},
			&AuthorizationCode{}, &AccessToken{}, &RefreshToken{},
			&PKCERequest{}, &OIDCSession{}, &SigningKey{}, &Setting{},
			&SecurityEvent{}, &Throttle{},
		)
	}},
	{2, "security events, throttle counters, pending password changes", func(tx *gorm.DB) error {
		// A database created by step 1 before these existed lacks them;
		// one created later has them already. Frozen copies of the
		// structs keep this step from changing with the models.
		type securityEventV2 struct {
			ID             uint64    `gorm:"primaryKey;autoIncrement"`
			Time           time.Time `gorm:"index;not null"`
			Kind           string    `gorm:"index;size:40;not null"`
			UserID         string    `gorm:"index;size:64"`
			ClientID       string    `gorm:"index;size:64"`
			RemoteAddr     string    `gorm:"size:64"`
			UserAgent      string    `gorm:"size:300"`
			Method         string    `gorm:"size:10"`
			Path           string    `gorm:"size:300"`
			CredentialKind string    `gorm:"size:40"`
			Detail         string    `gorm:"size:500"`
		}
		type throttleV2 struct {
			KeyHash      string `gorm:"primaryKey;size:64"`
			Failures     int    `gorm:"not null"`
			LastFailure  time.Time
			BlockedUntil time.Time `gorm:"index"`
		}
		type authFlowV2 struct {
			PendingUserID string `gorm:"size:64"`
		}
		m := tx.Migrator()
		if !m.HasTable("security_events") {
			if err := tx.Table("security_events").AutoMigrate(&securityEventV2{}); err != nil {
				return err
			}
		}
		if !m.HasTable("throttles") {
			if err := tx.Table("throttles").AutoMigrate(&throttleV2{}); err != nil {
				return err
			}
		}
		if !m.HasColumn("auth_flows", "pending_user_id") {
			return tx.Table("auth_flows").Migrator().AddColumn(&authFlowV2{}, "PendingUserID")
		}
		return nil
	}},
}

// LatestSchemaVersion returns the version of the newest migration in this binary.
func LatestSchemaVersion() int { return migrations[len(migrations)-1].version }

// SchemaVersion returns the newest applied migration, 0 for an empty
// database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return schemaVersion(s.conn(ctx))
}

func schemaVersion(db *gorm.DB) (int, error) {
	if !db.Migrator().HasTable(&schemaMigration{}) {
		return 0, nil
	}
	var v int
	err := db.Model(&schemaMigration{}).Select("COALESCE(MAX(version), 0)").Scan(&v).Error
	return v, err
}

// Migrate applies every pending migration, each in its own transaction.
// It refuses a database whose schema is newer than this binary supports.
//
// On PostgreSQL an advisory lock makes instances that start at the
// same time take turns: one migrates, the others wait and then find
// nothing pending. SQLite's own write lock does the same for files.
func (s *Store) Migrate(ctx context.Context) (applied []int, err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if s.dialect != "postgres" {
		return s.migrate(ctx)
	}
	err = s.db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("SELECT pg_advisory_lock(?)", migrationLockID).Error; err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		defer conn.Exec("SELECT pg_advisory_unlock(?)", migrationLockID)
		applied, err = s.migrate(ctx)
		return err
	})
	return applied, err
}

// migrationLockID names idp's PostgreSQL advisory lock for migrations.
const migrationLockID = 0x1dc0de

func (s *Store) migrate(ctx context.Context) (applied []int, err error) {
	// gorm's SQLite migrator (v1.6) panics when a query fails, as it does
	// once ctx is canceled, so SQLite migrations run to the end.
	db := s.db.WithContext(s.statementContext(ctx))
	if s.dialect == "sqlite" {
		// Back up an existing file before changing its schema. The copy
		// is taken outside the write transaction, which VACUUM INTO
		// cannot run in.
		current, err := schemaVersion(db)
		if err != nil {
			return nil, fmt.Errorf("read schema version: %w", err)
		}
		if current > 0 && current < LatestSchemaVersion() {
			backup := fmt.Sprintf("%s.v%d-%s.bak", s.path, current, s.now().UTC().Format("20060102T150405.000000000Z"))
			if err := s.Backup(ctx, backup); err != nil {
				return nil, fmt.Errorf("back up before migrating: %w", err)
			}
		}
		// One BEGIN IMMEDIATE transaction holds SQLite's write lock from
		// reading the version to the last step, so processes starting
		// at once take turns.
		err = db.Transaction(func(tx *gorm.DB) error {
			applied, err = s.applyMigrations(tx)
			return err
		})
		if err != nil {
			return nil, err
		}
		return applied, nil
	}
	return s.applyMigrations(db)
}

// applyMigrations runs every step newer than the schema of db, each in
// a transaction of its own (a savepoint when db is a transaction).
func (s *Store) applyMigrations(db *gorm.DB) (applied []int, err error) {
	if err := db.AutoMigrate(&schemaMigration{}); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := schemaVersion(db)
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if current > LatestSchemaVersion() {
		return nil, fmt.Errorf("database schema version %d is newer than this binary supports (%d): upgrade idp",
			current, LatestSchemaVersion())
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := m.apply(tx); err != nil {
				return err
			}
			return tx.Create(&schemaMigration{Version: m.version, Name: m.name, AppliedAt: s.now().UTC()}).Error
		})
		if err != nil {
			return applied, fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

// CheckSchema returns an error unless every migration is applied.
func (s *Store) CheckSchema(ctx context.Context) error {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v != LatestSchemaVersion() {
		return fmt.Errorf("database schema version %d, want %d: run idp migrate", v, LatestSchemaVersion())
	}
	return nil
}
