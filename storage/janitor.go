package storage

import (
	"context"
	"fmt"
	"time"
)

// CleanupOptions configures DeleteExpired.
type CleanupOptions struct {
	// Now is the time rows are compared against.
	Now time.Time
	// SessionIdleTimeout ends login sessions unused for this long.
	SessionIdleTimeout time.Duration
	// ThrottleReset deletes failure counters this long after the last
	// failure.
	ThrottleReset time.Duration
	// EventRetention keeps security events this long; zero keeps them
	// forever.
	EventRetention time.Duration
	// BatchSize is the number of rows one statement deletes (default
	// 500), so cleanup never holds a long write lock.
	BatchSize int
}

// CleanupCounts is the number of rows DeleteExpired removed, by table.
type CleanupCounts map[string]int64

// Total returns the number of rows removed from all tables.
func (c CleanupCounts) Total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// cleanupRule deletes one kind of expired row; where selects the
// primary keys of rows to delete.
type cleanupRule struct {
	table string
	key   string
	where string
	args  func(o CleanupOptions) []any
}

// cleanupRules lists what expires. Rows that detect replay (used codes,
// rotated refresh tokens) stay until the last token of their grant has
// expired: a code stays while any token of its grant exists, and a
// refresh token stays until every refresh token of its family has
// expired. Deleting them earlier would turn a replay into "unknown
// token" and skip the revocation that reuse triggers.
var cleanupRules = []cleanupRule{
	{"access_tokens", "signature", "expires_at < ?", nowArg},
	{"refresh_tokens", "signature",
		"request_id IN (SELECT request_id FROM refresh_tokens GROUP BY request_id HAVING MAX(expires_at) < ?)", nowArg},
	{"authorization_codes", "signature",
		"expires_at < ? AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.request_id = authorization_codes.request_id)" +
			" AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.request_id = authorization_codes.request_id)", nowArg},
	{"pkce_requests", "signature", "expires_at < ?", nowArg},
	{"oidc_sessions", "signature", "expires_at < ?", nowArg},
	{"auth_flows", "id_hash", "expires_at < ?", nowArg},
	{"login_sessions", "id", "expires_at < ? OR last_seen_at < ?", func(o CleanupOptions) []any {
		return []any{o.Now.UTC(), o.Now.Add(-o.SessionIdleTimeout).UTC()}
	}},
	{"throttles", "key_hash", "last_failure < ?", func(o CleanupOptions) []any {
		return []any{o.Now.Add(-o.ThrottleReset).UTC()}
	}},
}

func nowArg(o CleanupOptions) []any { return []any{o.Now.UTC()} }

// DeleteExpired removes expired codes, tokens, sessions, flows,
// throttle counters and, with a retention period, old security events,
// in batches. It stops early when ctx ends.
func (s *Store) DeleteExpired(ctx context.Context, o CleanupOptions) (CleanupCounts, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.SessionIdleTimeout <= 0 {
		o.SessionIdleTimeout = 24 * time.Hour
	}
	if o.ThrottleReset <= 0 {
		o.ThrottleReset = time.Hour
	}
	rules := cleanupRules
	if o.EventRetention > 0 {
		rules = append(rules[:len(rules):len(rules)], cleanupRule{"security_events", "id", "time < ?", func(o CleanupOptions) []any {
			return []any{o.Now.Add(-o.EventRetention).UTC()}
		}})
	}

	counts := CleanupCounts{}
	for _, rule := range rules {
		for {
			if err := ctx.Err(); err != nil {
				return counts, err
			}
			n, err := s.deleteBatch(ctx, rule, o)
			if err != nil {
				return counts, fmt.Errorf("delete expired %s: %w", rule.table, err)
			}
			counts[rule.table] += n
			if n < int64(o.BatchSize) {
				break
			}
		}
	}
	return counts, nil
}

func (s *Store) deleteBatch(ctx context.Context, rule cleanupRule, o CleanupOptions) (int64, error) {
	args := append(rule.args(o), o.BatchSize)
	sql := fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT %s FROM %s WHERE %s LIMIT ?)",
		rule.table, rule.key, rule.key, rule.table, rule.where)
	if rule.table == "login_sessions" {
		// A session's flows go with it.
		var n int64
		err := s.InTx(ctx, func(ctx context.Context) error {
			flows := fmt.Sprintf("DELETE FROM auth_flows WHERE session_id IN (SELECT id FROM login_sessions WHERE %s LIMIT ?)", rule.where)
			if err := s.conn(ctx).Exec(flows, args...).Error; err != nil {
				return err
			}
			res := s.conn(ctx).Exec(sql, args...)
			n = res.RowsAffected
			return res.Error
		})
		return n, err
	}
	res := s.conn(ctx).Exec(sql, args...)
	return res.RowsAffected, res.Error
}
