package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Throttle counts recent failures for one key, such as an account
// together with a client IP address. Keys are stored hashed.
type Throttle struct {
	KeyHash  string `gorm:"primaryKey;size:64"`
	Failures int    `gorm:"not null"`
	// LastFailure is when the last failure was recorded.
	LastFailure time.Time
	// BlockedUntil is when the next attempt is allowed.
	BlockedUntil time.Time `gorm:"index"`
}

// ThrottleState returns the counter for key, or a zero one.
func (s *Store) ThrottleState(ctx context.Context, key string) (Throttle, error) {
	var t Throttle
	err := s.conn(ctx).Where("key_hash = ?", hashKey(key)).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Throttle{KeyHash: hashKey(key)}, nil
	}
	if err != nil {
		return Throttle{}, fmt.Errorf("load throttle: %w", err)
	}
	return t, nil
}

// RecordFailure increments the counter for key and sets how long the
// key is blocked; backoff maps the new failure count to that delay. A
// counter whose last failure is older than reset starts again at one.
func (s *Store) RecordFailure(ctx context.Context, key string, now time.Time, reset time.Duration, backoff func(failures int) time.Duration) (Throttle, error) {
	var out Throttle
	err := s.InTx(ctx, func(ctx context.Context) error {
		// Concurrent failures must each count. On SQLite the transaction
		// holds the write lock from its start. On PostgreSQL the row is
		// created first if missing and then read FOR UPDATE, so that
		// transactions recording a failure for the same key take turns.
		db := s.conn(ctx)
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&Throttle{KeyHash: hashKey(key)}).Error; err != nil {
			return fmt.Errorf("create throttle: %w", err)
		}
		query := db.Where("key_hash = ?", hashKey(key))
		if s.dialect == "postgres" {
			query = query.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		var t Throttle
		if err := query.Take(&t).Error; err != nil {
			return fmt.Errorf("load throttle: %w", err)
		}
		if now.Sub(t.LastFailure) > reset {
			t.Failures = 0
		}
		t.Failures++
		t.LastFailure = now.UTC()
		t.BlockedUntil = now.Add(backoff(t.Failures)).UTC()
		out = t
		return db.Save(&t).Error
	})
	return out, err
}

// ClearThrottle deletes the failure counter of key after a success.
func (s *Store) ClearThrottle(ctx context.Context, key string) error {
	return s.conn(ctx).Where("key_hash = ?", hashKey(key)).Delete(&Throttle{}).Error
}
