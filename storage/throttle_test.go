package storage

import (
	"context"
	"testing"
	"time"
)

func TestRecordFailureConcurrent(t *testing.T) {
	t.Parallel()
	const workers = 16
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now()
		noDelay := func(int) time.Duration { return 0 }
		errs := runConcurrently(workers, func() error {
			_, err := s.RecordFailure(ctx, "alice|192.0.2.1", now, time.Hour, noDelay)
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("RecordFailure %d: %v", i, err)
			}
		}
		got, err := s.ThrottleState(ctx, "alice|192.0.2.1")
		if err != nil {
			t.Fatalf("ThrottleState: %v", err)
		}
		if got.Failures != workers {
			t.Errorf("failures after %d concurrent RecordFailure calls = %d, want %d", workers, got.Failures, workers)
		}
	})
}

func TestRecordFailureBackoffAndReset(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		start := time.Now().UTC()
		backoff := func(failures int) time.Duration { return time.Duration(failures) * time.Second }
		for i := 1; i <= 3; i++ {
			got, err := s.RecordFailure(ctx, "bob", start, time.Minute, backoff)
			if err != nil {
				t.Fatalf("RecordFailure %d: %v", i, err)
			}
			if got.Failures != i {
				t.Errorf("failures after %d calls = %d", i, got.Failures)
			}
			if want := start.Add(time.Duration(i) * time.Second); !got.BlockedUntil.Equal(want) {
				t.Errorf("blocked until %v after %d calls, want %v", got.BlockedUntil, i, want)
			}
		}
		later, err := s.RecordFailure(ctx, "bob", start.Add(2*time.Minute), time.Minute, backoff)
		if err != nil {
			t.Fatalf("RecordFailure after the reset period: %v", err)
		}
		if later.Failures != 1 {
			t.Errorf("failures after the reset period = %d, want 1", later.Failures)
		}
	})
}
