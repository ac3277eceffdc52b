package storage

import (
	"context"
	"fmt"
	"time"
)

// EventKind names what a security event records.
type EventKind string

// Security event kinds.
const (
	EventSignInSucceeded    EventKind = "sign_in.succeeded"
	EventSignInFailed       EventKind = "sign_in.failed"
	EventSignInLockedOut    EventKind = "sign_in.locked_out"
	EventClientAuthLocked   EventKind = "client_auth.locked_out"
	EventConsentGranted     EventKind = "consent.granted"
	EventConsentDenied      EventKind = "consent.denied"
	EventConsentRevoked     EventKind = "consent.revoked"
	EventTokenReuse         EventKind = "token.reuse_detected"
	EventTripwireCaught     EventKind = "tripwire.caught"
	EventClientCreated      EventKind = "client.created"
	EventClientUpdated      EventKind = "client.updated"
	EventClientDeleted      EventKind = "client.deleted"
	EventClientSecretRotate EventKind = "client.secret_rotated"
)

// EventKinds lists every kind, for validating filters.
var EventKinds = []EventKind{
	EventSignInSucceeded, EventSignInFailed, EventSignInLockedOut, EventClientAuthLocked,
	EventConsentGranted, EventConsentDenied, EventConsentRevoked, EventTokenReuse,
	EventTripwireCaught, EventClientCreated, EventClientUpdated, EventClientDeleted,
	EventClientSecretRotate,
}

// SecurityEvent is one stored security event. It never holds a
// credential, only what kind of credential was involved.
type SecurityEvent struct {
	ID       uint64    `gorm:"primaryKey;autoIncrement" json:"id"`
	Time     time.Time `gorm:"index;not null" json:"time"`
	Kind     EventKind `gorm:"index;size:40;not null" json:"kind"`
	UserID   string    `gorm:"index;size:64" json:"user_id,omitempty"`
	ClientID string    `gorm:"index;size:64" json:"client_id,omitempty"`
	// RemoteAddr is the client IP address as idp determined it.
	RemoteAddr string `gorm:"size:64" json:"remote_addr,omitempty"`
	UserAgent  string `gorm:"size:300" json:"user_agent,omitempty"`
	Method     string `gorm:"size:10" json:"method,omitempty"`
	// Path is the request path without its query string.
	Path string `gorm:"size:300" json:"path,omitempty"`
	// CredentialKind is the kind of credential involved, such as
	// access_token or password; never the credential.
	CredentialKind string `gorm:"size:40" json:"credential_kind,omitempty"`
	// Detail is a short human-readable note.
	Detail string `gorm:"size:500" json:"detail,omitempty"`
}

// RecordEvent stores an event; a zero Time is set to now. Long
// attacker-controlled fields are truncated to fit.
func (s *Store) RecordEvent(ctx context.Context, e *SecurityEvent) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Time = e.Time.UTC()
	e.UserAgent = truncate(e.UserAgent, 300)
	e.Path = truncate(e.Path, 300)
	e.Detail = truncate(e.Detail, 500)
	if err := s.conn(ctx).Create(e).Error; err != nil {
		return fmt.Errorf("record security event %s: %w", e.Kind, err)
	}
	return nil
}

// EventFilter selects events; zero fields match everything.
type EventFilter struct {
	UserID   string
	ClientID string
	Kind     EventKind
	// Limit caps the number of events returned (default 100).
	Limit int
}

// ListEvents returns matching events, newest first.
func (s *Store) ListEvents(ctx context.Context, f EventFilter) ([]SecurityEvent, error) {
	q := s.conn(ctx).Model(&SecurityEvent{})
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.ClientID != "" {
		q = q.Where("client_id = ?", f.ClientID)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []SecurityEvent
	err := q.Order("time DESC, id DESC").Limit(limit).Find(&out).Error
	return out, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut at a rune boundary.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
