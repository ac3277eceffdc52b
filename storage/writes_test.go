package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ory/fosite"
)

func TestFositeTransactionWritesAtCommit(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := s.ForFosite()
		client := createTestClient(t, s, "app")
		tests := []struct {
			name   string
			commit bool
		}{
			{"commit", true},
			{"rollback", false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				txCtx, err := f.BeginTX(ctx)
				if err != nil {
					t.Fatalf("BeginTX: %v", err)
				}
				if _, err := f.BeginTX(txCtx); err == nil {
					t.Error("BeginTX inside a fosite transaction = nil, want an error")
				}
				sig := "at-fosite-" + tc.name
				r := newTestRequest(client, "req-fosite-"+tc.name, "sub-1")
				if err := f.CreateAccessTokenSession(txCtx, sig, r); err != nil {
					t.Fatalf("CreateAccessTokenSession: %v", err)
				}
				if n := countRows(t, s, "access_tokens", "signature = ?", sig); n != 0 {
					t.Errorf("access tokens stored before commit = %d, want 0", n)
				}
				if _, err := f.GetAccessTokenSession(txCtx, sig, nil); !errors.Is(err, errReadInFositeTx) {
					t.Errorf("GetAccessTokenSession inside the transaction: got %v, want errReadInFositeTx", err)
				}
				if _, err := f.GetRefreshTokenSession(txCtx, "refresh-unknown", nil); !errors.Is(err, errReadInFositeTx) {
					t.Errorf("GetRefreshTokenSession inside the transaction: got %v, want errReadInFositeTx", err)
				}

				if tc.commit {
					err = f.Commit(txCtx)
				} else {
					err = f.Rollback(txCtx)
				}
				if err != nil {
					t.Fatalf("end transaction: %v", err)
				}
				// fosite rolls back after a failed commit; that must do nothing.
				if err := f.Rollback(txCtx); err != nil {
					t.Errorf("Rollback after the end: %v", err)
				}

				want := int64(0)
				if tc.commit {
					want = 1
				}
				if n := countRows(t, s, "access_tokens", "signature = ?", sig); n != want {
					t.Errorf("access tokens stored after %s = %d, want %d", tc.name, n, want)
				}
				if _, err := f.GetAccessTokenSession(txCtx, sig, nil); tc.commit && err != nil {
					t.Errorf("GetAccessTokenSession with the ended transaction's context: %v", err)
				}
			})
		}
	})
}

func TestFositeTransactionRotationRace(t *testing.T) {
	t.Parallel()
	const workers = 16
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		f := s.ForFosite()
		client := createTestClient(t, s, "app")
		g := seedGrant(t, s, client, "req-race", "sub-1")
		next := newTestRequest(client, g.requestID, "sub-1")

		signatures := make(chan int, workers)
		for i := range workers {
			signatures <- i
		}
		errs := runConcurrently(workers, func() error {
			worker := <-signatures
			txCtx, err := f.BeginTX(ctx)
			if err != nil {
				return err
			}
			access, refresh := fmt.Sprintf("next-access-%d", worker), fmt.Sprintf("next-refresh-%d", worker)
			for _, err := range []error{
				f.RotateRefreshToken(txCtx, g.requestID, g.refresh),
				f.CreateAccessTokenSession(txCtx, access, next),
				f.CreateRefreshTokenSession(txCtx, refresh, access, next),
			} {
				if err != nil {
					_ = f.Rollback(txCtx)
					return err
				}
			}
			return f.Commit(txCtx)
		})
		assertOneWinner(t, "rotation in a fosite transaction", errs)

		if n := countRows(t, s, "access_tokens", "signature LIKE ?", "next-access-%"); n != 1 {
			t.Errorf("new access tokens stored = %d, want 1 (the winner's)", n)
		}
		if n := countRows(t, s, "refresh_tokens", "signature LIKE ?", "next-refresh-%"); n != 1 {
			t.Errorf("new refresh tokens stored = %d, want 1 (the winner's)", n)
		}
		if n := countRows(t, s, "access_tokens", "signature = ?", g.access); n != 0 {
			t.Errorf("access token of the rotated refresh token still stored (%d rows)", n)
		}
	})
}

func TestWritesFailAlone(t *testing.T) {
	t.Parallel()
	const workers = 24
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		client := createTestClient(t, s, "app")
		stored := newTestRequest(client, "req-taken", "sub-1")
		if err := s.CreateAccessTokenSession(ctx, "taken", stored); err != nil {
			t.Fatalf("CreateAccessTokenSession: %v", err)
		}
		errLost := errors.New("lost")

		// A third of the workers insert a token and then make a
		// conditional update that changes nothing, so their insert must
		// be undone. Another third reuse the stored signature. The rest
		// succeed.
		ids := make(chan int, workers)
		for i := range workers {
			ids <- i
		}
		// On SQLite, hold the write turn while the workers queue up, so
		// that the writer takes most of them in one transaction.
		largestGroup := 0
		if s.writer != nil {
			s.writer.onGroup = func(n int) { largestGroup = max(largestGroup, n) }
			s.writers <- struct{}{}
			go func() {
				time.Sleep(200 * time.Millisecond)
				<-s.writers
			}()
		}
		errs := make([]error, workers)
		runConcurrently(workers, func() error {
			i := <-ids
			r := newTestRequest(client, fmt.Sprintf("req-%d", i), "sub-1")
			insert := s.insertOp(insertAccess, mustRow(t, fmt.Sprintf("at-%d", i), r))
			switch i % 3 {
			case 0:
				errs[i] = s.exec(ctx, insert, writeOp{
					kind:   "update",
					query:  "UPDATE access_tokens SET active = ? WHERE signature = ?",
					args:   []any{false, "no-such-token"},
					ifNone: errLost,
				})
			case 1:
				errs[i] = s.exec(ctx, s.insertOp(insertAccess, mustRow(t, "taken", r)))
			default:
				errs[i] = s.exec(ctx, insert)
			}
			return nil
		})

		if s.writer != nil && largestGroup < 2 {
			t.Errorf("largest group of the SQLite writer = %d, want several requests in one transaction", largestGroup)
		}
		for i, err := range errs {
			switch i % 3 {
			case 0:
				if !errors.Is(err, errLost) {
					t.Errorf("worker %d: got %v, want its conditional update's error", i, err)
				}
			case 1:
				if err == nil {
					t.Errorf("worker %d: inserting a stored signature succeeded, want a constraint error", i)
				}
			default:
				if err != nil {
					t.Errorf("worker %d: %v", i, err)
				}
			}
		}
		for i := range workers {
			sig := fmt.Sprintf("at-%d", i)
			want := int64(0)
			if i%3 == 2 {
				want = 1
			}
			if n := countRows(t, s, "access_tokens", "signature = ?", sig); n != want {
				t.Errorf("rows with signature %s = %d, want %d", sig, n, want)
			}
		}
		if n := countRows(t, s, "access_tokens", "signature = ? AND request_id = ?", "taken", "req-taken"); n != 1 {
			t.Errorf("the stored token was changed (%d rows left of 1)", n)
		}
	})
}

func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	s := newTestStore(t, "sqlite")
	client := createTestClient(t, s, "app")
	r := newTestRequest(client, "req-1", "sub-1")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.CreateAccessTokenSession(context.Background(), "at-1", r) }()
	select {
	case err := <-done:
		if !errors.Is(err, errStoreClosed) {
			t.Errorf("CreateAccessTokenSession after Close: got %v, want errStoreClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CreateAccessTokenSession after Close did not return")
	}
}

// mustRow builds the access token row of r under signature.
func mustRow(t *testing.T, signature string, r *fosite.Request) TokenRow {
	t.Helper()
	row, err := newRow(signature, r, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatalf("newRow: %v", err)
	}
	return row
}

func TestPreparedReadsReuseStatements(t *testing.T) {
	t.Parallel()
	forEachDriver(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		first, err := s.prepared(ctx, selectAccessToken)
		if err != nil {
			t.Fatalf("prepared: %v", err)
		}
		second, err := s.prepared(ctx, selectAccessToken)
		if err != nil {
			t.Fatalf("prepared again: %v", err)
		}
		if first != second {
			t.Error("the second call prepared the statement again, want the first one reused")
		}
		if n := len(s.fast.stmts); n != 1 {
			t.Errorf("statements kept = %d, want 1", n)
		}
	})
}
