package storage

import (
	"encoding/json"
	"fmt"
	"sync"

	"github.com/ory/fosite"
)

// SessionCopier is implemented by session types that can deep-copy
// another session of their own type. For such types the store decodes
// each distinct stored access token session once and copies it on later
// reads: resource servers introspect the same token on every call they
// serve, and a copy costs far less than decoding JSON.
type SessionCopier interface {
	// CopyFrom sets the receiver to a deep copy of src and reports
	// whether src had the receiver's type.
	CopyFrom(src fosite.Session) bool
}

// maxDecodedSessions bounds the decoded sessions kept: about 2.5 KB
// each (the JSON key and the decoded copy) for a session of idp.
const maxDecodedSessions = 1024

// decodedSessions maps the stored JSON of a session to its decoded
// form. The key is the exact stored text, so an entry can never be
// stale: a token that is revoked or expires is still read from the
// database first, and only its decoding is skipped.
type decodedSessions struct {
	mu      sync.Mutex
	entries map[string]fosite.Session
}

// decodeSession decodes text, a stored session, into session. With
// memo set it reuses an earlier decoding of the same text when the
// session type implements SessionCopier.
func (s *Store) decodeSession(text string, session fosite.Session, memo bool) error {
	copier, ok := session.(SessionCopier)
	if !memo || !ok {
		return unmarshalSession(text, session)
	}

	s.sessions.mu.Lock()
	decoded := s.sessions.entries[text]
	s.sessions.mu.Unlock()
	if decoded != nil && copier.CopyFrom(decoded) {
		return nil
	}

	if err := unmarshalSession(text, session); err != nil {
		return err
	}
	template := s.newSession()
	if templateCopier, ok := template.(SessionCopier); !ok || !templateCopier.CopyFrom(session) {
		return nil
	}
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	if s.sessions.entries == nil || len(s.sessions.entries) >= maxDecodedSessions {
		// Starting over is simpler than tracking use, and the tokens
		// being introspected now come back after one decoding each.
		s.sessions.entries = make(map[string]fosite.Session)
	}
	s.sessions.entries[text] = template
	return nil
}

func unmarshalSession(text string, session fosite.Session) error {
	if err := json.Unmarshal([]byte(text), session); err != nil {
		return fmt.Errorf("decode session: %w", err)
	}
	return nil
}
