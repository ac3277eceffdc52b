package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The writes behind fosite's storage interfaces (issuing, redeeming,
// rotating and revoking tokens) are writeOps run by exec. One path for
// them lets a transaction of fosite's token endpoint collect its writes
// and run them only at commit (see FositeStore), and lets the SQLite
// writer run the writes of many requests in one transaction. Admin
// operations and the janitor change token tables in gorm transactions.

// writeOp is one SQL statement that changes rows.
type writeOp struct {
	// kind is create, update or delete: the operation reported to
	// Options.ObserveQuery.
	kind string
	// query has ? placeholders. It is a constant string, so it also
	// keys the writer's prepared statements.
	query string
	args  []any
	// ifNone, when set, is the error the statement fails with when it
	// changes no row: a conditional update that another request won.
	ifNone error
}

// exec runs ops as one unit: all of them or none. Inside a fosite
// transaction they are recorded to run at its commit; inside a gorm
// transaction they run in it. Otherwise they run at once, through the
// writer on SQLite.
func (s *Store) exec(ctx context.Context, ops ...writeOp) error {
	if d := pendingWrites(ctx); d != nil {
		return d.add(ops)
	}
	return s.execNow(ctx, ops)
}

// execNow runs ops now, ignoring a fosite transaction in ctx.
func (s *Store) execNow(ctx context.Context, ops []writeOp) error {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return s.execGorm(tx.WithContext(s.statementContext(ctx)), ops)
	}
	if s.writer != nil {
		return s.writer.write(ctx, ops)
	}
	if len(ops) == 1 {
		return s.execGorm(s.db.WithContext(s.statementContext(ctx)), ops)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		return s.execGorm(s.conn(ctx), ops)
	})
}

// execGorm runs ops one after another on db, which is a transaction
// when there are several.
func (s *Store) execGorm(db *gorm.DB, ops []writeOp) error {
	for _, op := range ops {
		start := time.Now()
		res := db.Exec(op.query, op.args...)
		s.observe(op.kind, time.Since(start))
		if res.Error != nil {
			return res.Error
		}
		if op.ifNone != nil && res.RowsAffected == 0 {
			return op.ifNone
		}
	}
	return nil
}

// observe reports one statement's duration to Options.ObserveQuery.
func (s *Store) observe(kind string, d time.Duration) {
	if s.observeQuery != nil {
		s.observeQuery(kind, d)
	}
}

// FositeStore is the Store as fosite's token endpoint uses it. fosite
// opens a transaction (storage.Transactional) around the writes that
// redeem a code or rotate a refresh token, and computes the response in
// between. Here BeginTX only starts recording: the token writes are kept
// in the context, and Commit runs them in one database transaction, so
// the database's write lock is held for the statements alone.
//
// Only writes may happen inside such a transaction, and fosite 0.49
// reads nothing between BeginTX and Commit. A read there that reaches
// the database, or a write that does not go through exec, fails with
// errReadInFositeTx instead of seeing stale rows. A client that the
// request memo already contains is still returned, because no token
// write changes a client.
//
// Commit returns the error of a conditional write that lost a race, such
// as ErrAlreadyUsed. fosite handles it as it handles the same error
// returned by the write itself.
type FositeStore struct {
	*Store
}

// ForFosite returns the store to give fosite's handlers.
func (s *Store) ForFosite() *FositeStore {
	return &FositeStore{Store: s}
}

var errReadInFositeTx = errors.New("storage: only token writes may run inside a fosite transaction; " +
	"its writes run at commit, so a read there would miss them")

// recordedWrites is an open fosite transaction: the writes it will run
// at commit.
type recordedWrites struct {
	ops   []writeOp
	ended bool
}

type recordedWritesKey struct{}

// pendingWrites returns the open fosite transaction ctx carries, if any.
func pendingWrites(ctx context.Context) *recordedWrites {
	d, ok := ctx.Value(recordedWritesKey{}).(*recordedWrites)
	if !ok || d.ended {
		return nil
	}
	return d
}

func (d *recordedWrites) add(ops []writeOp) error {
	d.ops = append(d.ops, ops...)
	return nil
}

// BeginTX starts recording writes in the returned context.
func (f *FositeStore) BeginTX(ctx context.Context) (context.Context, error) {
	if pendingWrites(ctx) != nil || inTx(ctx) {
		return ctx, errors.New("storage: transaction already started")
	}
	return context.WithValue(ctx, recordedWritesKey{}, &recordedWrites{}), nil
}

// Commit runs the recorded writes in one transaction.
func (f *FositeStore) Commit(ctx context.Context) error {
	d := pendingWrites(ctx)
	if d == nil {
		return errors.New("storage: commit without a transaction")
	}
	d.ended = true
	if len(d.ops) == 0 {
		return nil
	}
	err := f.execNow(ctx, d.ops)
	d.ops = nil
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Rollback discards the recorded writes. After Commit, which fosite
// follows with Rollback when it fails, there is nothing left to discard.
func (f *FositeStore) Rollback(ctx context.Context) error {
	d, ok := ctx.Value(recordedWritesKey{}).(*recordedWrites)
	if !ok {
		return errors.New("storage: rollback without a transaction")
	}
	d.ended = true
	d.ops = nil
	return nil
}
