package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is idp's database: the fosite storage interfaces plus the records
// of clients, users, login sessions, authorization flows, consents and
// signing keys. It is safe for concurrent use by many goroutines and by
// several processes sharing one database.
type Store struct {
	db *gorm.DB
	// dialect is "sqlite" or "postgres".
	dialect string
	// path is the SQLite file, empty for PostgreSQL.
	path string
	fast fastReads
	// sessions memoizes the decoding of access token sessions.
	sessions decodedSessions
	// writers holds one token while a transaction of this process
	// writes to SQLite; nil for PostgreSQL.
	writers chan struct{}
	// writer runs the token writes on SQLite; nil for PostgreSQL.
	writer       *sqliteWriter
	observeQuery func(operation string, d time.Duration)
	closeOnce    sync.Once
	closeErr     error
	// newSession returns an empty fosite session for token rows read
	// without one (fosite's revocation passes nil).
	newSession func() fosite.Session
	now        func() time.Time
}

// Options configures Open.
type Options struct {
	// NewSession returns the empty session type tokens are decoded into
	// when fosite passes a nil session. Required.
	NewSession func() fosite.Session
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ObserveQuery, when set, receives the duration of every statement
	// with its kind (create, query, update, delete, row or raw).
	ObserveQuery func(operation string, d time.Duration)
	// MustExist reports whether Open fails on a missing SQLite file
	// instead of creating it. The error then wraps fs.ErrNotExist.
	// PostgreSQL ignores it.
	MustExist bool
}

// Open connects to the database named by dsn: a postgres:// or
// postgresql:// URL, or otherwise the path of a SQLite file, which is
// created when missing unless opts.MustExist is set. It does not
// migrate; call Migrate.
func Open(dsn string, opts Options) (*Store, error) {
	if opts.NewSession == nil {
		return nil, errors.New("storage: Options.NewSession is required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		// Prepared statements are reused per connection, which saves
		// parsing the same few queries on every request.
		PrepareStmt: true,
		NowFunc:     func() time.Time { return opts.Now().UTC() },
	}

	var (
		db      *gorm.DB
		err     error
		dialect string
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		dialect = "postgres"
		db, err = gorm.Open(postgres.Open(dsn), cfg)
	} else {
		dialect = "sqlite"
		if err := prepareFile(sqlitePath(dsn), opts.MustExist); err != nil {
			return nil, err
		}
		db, err = gorm.Open(sqlite.Open(sqliteDSN(dsn, opts.MustExist)), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}

	if opts.ObserveQuery != nil {
		if err := registerObserver(db, opts.ObserveQuery); err != nil {
			return nil, fmt.Errorf("open %s database: %w", dialect, err)
		}
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	if dialect == "sqlite" {
		// One writer at a time is all SQLite allows; extra connections
		// serve concurrent readers under WAL.
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	} else {
		sqlDB.SetMaxOpenConns(25)
		sqlDB.SetMaxIdleConns(25)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)

	if err := sqlDB.Ping(); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	st := &Store{
		db:           db,
		dialect:      dialect,
		newSession:   opts.NewSession,
		now:          opts.Now,
		observeQuery: opts.ObserveQuery,
	}
	if dialect == "sqlite" {
		st.path = sqlitePath(dsn)
		st.writers = make(chan struct{}, 1)
		st.writer = newSQLiteWriter(st)
	}
	return st, nil
}

// sqlitePath returns the file path of a SQLite DSN.
func sqlitePath(dsn string) string {
	return strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "file:")
}

// prepareFile checks that the SQLite file at path exists when mustExist
// is set, and otherwise creates it if it is missing.
func prepareFile(path string, mustExist bool) error {
	if !mustExist {
		return createPrivateFile(path)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("open database file: %w", err)
	}
	return nil
}

// createPrivateFile creates a missing database file readable by its
// owner only; SQLite gives its -wal and -shm files the same mode. It
// holds password hashes and sealed keys.
func createPrivateFile(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	return f.Close()
}

// sqliteDSN adds the connection settings idp relies on to a file path:
// WAL with synchronous=NORMAL (a committed write survives a process
// crash, not a power cut), a busy timeout instead of immediate
// SQLITE_BUSY errors, foreign keys, and BEGIN IMMEDIATE for every
// transaction so two writers never deadlock upgrading a read lock.
// With mustExist, SQLite's mode=rw keeps it from creating the file if
// it disappears after prepareFile checked it.
func sqliteDSN(path string, mustExist bool) string {
	path = strings.TrimPrefix(path, "sqlite://")
	path = strings.TrimPrefix(path, "file:")
	params := url.Values{}
	params.Set("_journal_mode", "WAL")
	params.Set("_synchronous", "NORMAL")
	params.Set("_busy_timeout", "10000")
	params.Set("_foreign_keys", "on")
	params.Set("_txlock", "immediate")
	if mustExist {
		params.Set("mode", "rw")
	}
	return "file:" + path + "?" + params.Encode()
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Close stops the SQLite writer and closes the connection pool. Writes
// that have not started by then fail.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.writer != nil {
			s.writer.close()
		}
		sqlDB, err := s.db.DB()
		if err != nil {
			s.closeErr = err
			return
		}
		s.closeErr = sqlDB.Close()
	})
	return s.closeErr
}

// Ping checks that the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

type txKey struct{}

// conn returns the transaction carried by ctx, if any, or the pool.
// fosite's storage.Transactional interface passes transactions through
// the context, so this is the one place idp reads a value from one.
func (s *Store) conn(ctx context.Context) *gorm.DB {
	if pendingWrites(ctx) != nil {
		db := s.db.WithContext(ctx)
		_ = db.AddError(errReadInFositeTx)
		return db
	}
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.WithContext(s.statementContext(ctx))
	}
	return s.db.WithContext(s.statementContext(ctx))
}

// statementContext returns the context to run a statement with. For
// each statement and each row fetched under a context that can be
// canceled, go-sqlite3 (v1.14) starts a goroutine that interrupts SQLite
// on cancellation, and database/sql starts one for each such transaction.
// That costs more than the short statements idp runs on SQLite, so there
// they ignore cancellation; the values of ctx are kept.
func (s *Store) statementContext(ctx context.Context) context.Context {
	if s.dialect == "sqlite" {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// BeginTX starts a transaction and returns a context that carries it.
func (s *Store) BeginTX(ctx context.Context) (context.Context, error) {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return ctx, errors.New("storage: transaction already started")
	}
	turn, err := s.writeTurn(ctx)
	if err != nil {
		return ctx, err
	}
	tx := s.db.WithContext(s.statementContext(ctx)).Begin()
	if tx.Error != nil {
		turn.release()
		return ctx, fmt.Errorf("begin transaction: %w", tx.Error)
	}
	ctx = context.WithValue(ctx, txKey{}, tx)
	return context.WithValue(ctx, writeTurnKey{}, turn), nil
}

// writeTurn is one transaction's hold on the SQLite write lock.
type writeTurn struct {
	once    sync.Once
	release func()
}

type writeTurnKey struct{}

// writeTurn waits until no other transaction of this process writes
// to SQLite. SQLite lets one writer in at a time. A writer that finds
// the lock taken sleeps in growing steps of up to 100 ms before it tries
// again, so taking turns in Go hands the lock over at once instead.
// Other processes on the same file still meet the busy timeout.
// PostgreSQL needs no turns.
func (s *Store) writeTurn(ctx context.Context) (*writeTurn, error) {
	if s.writers == nil {
		return &writeTurn{release: func() {}}, nil
	}
	select {
	case s.writers <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait to write: %w", ctx.Err())
	}
	t := &writeTurn{}
	t.release = func() { t.once.Do(func() { <-s.writers }) }
	return t, nil
}

// write runs one write statement. Outside a transaction it takes a
// write turn first, so it does not collide with this process's
// transactions in SQLite's busy handler. Inside a transaction the turn
// is already held.
func (s *Store) write(ctx context.Context, fn func() error) error {
	if inTx(ctx) {
		return fn()
	}
	turn, err := s.writeTurn(ctx)
	if err != nil {
		return err
	}
	defer turn.release()
	return fn()
}

// endTurn releases the write turn ctx carries, if any.
func endTurn(ctx context.Context) {
	if t, ok := ctx.Value(writeTurnKey{}).(*writeTurn); ok {
		t.release()
	}
}

// Commit commits the transaction carried by ctx.
func (s *Store) Commit(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return errors.New("storage: commit without a transaction")
	}
	defer endTurn(ctx)
	return tx.Commit().Error
}

// Rollback rolls back the transaction carried by ctx.
func (s *Store) Rollback(ctx context.Context) error {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return errors.New("storage: rollback without a transaction")
	}
	defer endTurn(ctx)
	err := tx.Rollback().Error
	if errors.Is(err, gorm.ErrInvalidTransaction) {
		return nil
	}
	return err
}

// InTx runs fn in a transaction, committing when fn returns nil. When
// ctx already carries a transaction, fn joins it and the outer caller
// commits or rolls back. When fn panics, the transaction is rolled back
// before the panic goes on, so its write turn is not held forever.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	txCtx, err := s.BeginTX(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = s.Rollback(txCtx)
			panic(p)
		}
	}()
	if err := fn(txCtx); err != nil {
		_ = s.Rollback(txCtx)
		return err
	}
	return s.Commit(txCtx)
}

// notFound turns gorm's not-found error into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}
