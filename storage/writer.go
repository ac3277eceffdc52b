package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"
)

// maxGroup is the largest number of requests' writes one SQLite
// transaction of the writer takes.
const maxGroup = 64

var errStoreClosed = errors.New("storage: the store is closed")

// sqliteWriter runs the token writes of a SQLite store. SQLite lets one
// transaction write at a time, and a commit costs more than the few
// statements of one token request. So one goroutine takes the writes of
// every request waiting at that moment and runs them in one transaction
// with one commit. Each request's writes still succeed or fail alone: a
// request waits until the transaction holding its writes has committed,
// then gets its own result.
//
// The writer keeps one connection with its statements prepared on it,
// and takes a write turn (Store.writeTurn) for each transaction, so it
// alternates with the store's gorm transactions.
type sqliteWriter struct {
	store *Store
	// requests is unbuffered: a send succeeds only when the writer
	// takes it, so no request is left behind when the writer stops.
	requests chan *writeRequest
	stop     chan struct{}
	stopped  chan struct{}

	// Used by the writer's goroutine only.
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
	// onGroup, when set by a test, receives the size of each group.
	onGroup func(n int)
}

// writeRequest is one caller's ops, which run all together or not at all.
type writeRequest struct {
	ops  []writeOp
	err  error
	done chan struct{}
}

func newSQLiteWriter(s *Store) *sqliteWriter {
	w := &sqliteWriter{
		store:    s,
		requests: make(chan *writeRequest),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go w.run()
	return w
}

// write runs ops as one unit and returns when they are committed or have
// failed. Once the writer has taken them it waits for the outcome even if
// ctx ends, because the caller must know whether they were committed.
// The writer in turn waits without a deadline for a gorm transaction
// that holds the write turn, so such a transaction must not call write.
func (w *sqliteWriter) write(ctx context.Context, ops []writeOp) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeRequest{ops: ops, done: make(chan struct{})}
	select {
	case w.requests <- req:
	case <-w.stopped:
		return errStoreClosed
	case <-ctx.Done():
		return fmt.Errorf("wait to write: %w", ctx.Err())
	}
	<-req.done
	return req.err
}

// close stops the writer after the transaction it is running, and
// closes its connection.
func (w *sqliteWriter) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.stopped
}

func (w *sqliteWriter) run() {
	defer close(w.stopped)
	defer w.closeConn()
	var group []*writeRequest
	for {
		select {
		case req := <-w.requests:
			group = append(group[:0], req)
		case <-w.stop:
			return
		}
	collect:
		for len(group) < maxGroup {
			select {
			case req := <-w.requests:
				group = append(group, req)
			default:
				break collect
			}
		}
		if w.onGroup != nil {
			w.onGroup(len(group))
		}
		w.runGroup(group)
		for _, req := range group {
			close(req.done)
		}
		clear(group)
	}
}

// runGroup commits the writes of group, setting each request's err.
func (w *sqliteWriter) runGroup(group []*writeRequest) {
	ctx := context.Background()
	turn, err := w.store.writeTurn(ctx)
	if err != nil {
		for _, req := range group {
			req.err = err
		}
		return
	}
	defer turn.release()

	pending := slices.Clone(group)
	for len(pending) > 0 {
		failed, err := w.try(ctx, pending)
		if err == nil {
			return
		}
		if failed == nil {
			for _, req := range pending {
				req.err = err
			}
			return
		}
		// The transaction was rolled back because of one request.
		// It fails alone, and the others run again without it.
		failed.err = err
		pending = slices.DeleteFunc(pending, func(r *writeRequest) bool { return r == failed })
	}
}

// try runs the requests in pending in one transaction and commits it. A
// request whose first statement is conditional and changes nothing fails
// alone, having changed nothing. Any other failure rolls the transaction
// back. try then returns the request that failed, or nil when the
// transaction as a whole failed to begin or commit.
func (w *sqliteWriter) try(ctx context.Context, pending []*writeRequest) (*writeRequest, error) {
	conn, err := w.connection(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, fmt.Errorf("begin transaction: %w", err)
	}
	for _, req := range pending {
		req.err = nil
		for i, op := range req.ops {
			changed, err := w.execOp(ctx, op)
			if err == nil && op.ifNone != nil && changed == 0 {
				if i == 0 {
					req.err = op.ifNone
					break
				}
				err = op.ifNone
			}
			if err != nil {
				w.rollback(ctx)
				return req, err
			}
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		w.rollback(ctx)
		return nil, fmt.Errorf("commit: %w", err)
	}
	return nil, nil
}

// execOp runs one statement and returns the number of rows it changed.
func (w *sqliteWriter) execOp(ctx context.Context, op writeOp) (int64, error) {
	stmt, ok := w.stmts[op.query]
	if !ok {
		var err error
		stmt, err = w.conn.PrepareContext(ctx, op.query)
		if err != nil {
			return 0, fmt.Errorf("prepare %s: %w", op.kind, err)
		}
		w.stmts[op.query] = stmt
	}
	start := time.Now()
	res, err := stmt.ExecContext(ctx, op.args...)
	w.store.observe(op.kind, time.Since(start))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// rollback ends a failed transaction. SQLite may already have rolled
// it back itself after the error, which makes ROLLBACK fail harmlessly.
// A connection still inside a transaction afterwards is discarded, so
// the next transaction starts clean.
func (w *sqliteWriter) rollback(ctx context.Context) {
	_, _ = w.conn.ExecContext(ctx, "ROLLBACK")
	inTransaction := true
	_ = w.conn.Raw(func(driverConn any) error {
		if c, ok := driverConn.(interface{ AutoCommit() bool }); ok {
			inTransaction = !c.AutoCommit()
		}
		return nil
	})
	if inTransaction {
		w.discardConn()
	}
}

// connection returns the writer's connection, opening it when needed.
func (w *sqliteWriter) connection(ctx context.Context) (*sql.Conn, error) {
	if w.conn != nil {
		return w.conn, nil
	}
	sqlDB, err := w.store.db.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open a connection to write: %w", err)
	}
	w.conn = conn
	w.stmts = map[string]*sql.Stmt{}
	return conn, nil
}

// discardConn closes the writer's connection for good instead of
// returning it to the pool.
func (w *sqliteWriter) discardConn() {
	w.releaseConn(true)
}

// closeConn closes the writer's statements and returns its connection to
// the pool.
func (w *sqliteWriter) closeConn() {
	w.releaseConn(false)
}

func (w *sqliteWriter) releaseConn(discard bool) {
	if w.conn == nil {
		return
	}
	for _, stmt := range w.stmts {
		_ = stmt.Close()
	}
	if discard {
		// database/sql closes a connection whose Raw callback returns
		// driver.ErrBadConn.
		_ = w.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = w.conn.Close()
	w.conn, w.stmts = nil, nil
}
