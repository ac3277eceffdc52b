package storage

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// LoginSession is a browser's session with idp, behind the session
// cookie. It exists before sign-in (UserID empty) so that authorization
// flows can be bound to the browser.
type LoginSession struct {
	// ID is the internal key; it never leaves the server and stays the
	// same when the cookie value is replaced at sign-in.
	ID string `gorm:"primaryKey;size:64"`
	// TokenHash is the SHA-256 of the cookie value.
	TokenHash string `gorm:"uniqueIndex;size:64;not null"`
	// PublicID is the sid claim put in ID tokens; unrelated to the cookie.
	PublicID string `gorm:"uniqueIndex;size:64;not null"`
	UserID   string `gorm:"index;size:64"`
	// AuthTime is when the user last entered their password.
	AuthTime   time.Time
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end of the session.
	ExpiresAt time.Time `gorm:"index"`
}

// AuthFlow is an authorization request in progress between the
// authorization endpoint, the login page and the consent page.
type AuthFlow struct {
	// IDHash is the SHA-256 of the random flow id that travels in URLs.
	IDHash string `gorm:"primaryKey;size:64"`
	// SessionID binds the flow to the browser that started it.
	SessionID string `gorm:"index;size:64;not null"`
	ClientID  string `gorm:"index;size:64;not null"`
	// Form is the authorization request's parameters, URL-encoded.
	Form string `gorm:"type:text;not null"`
	// LoggedInAt is set when the user signed in during this flow.
	LoggedInAt time.Time
	// ConsentedScopes are the scopes approved on the consent page during
	// this flow; ConsentGiven reports whether the person submitted the page.
	ConsentedScopes StringList `gorm:"type:text;not null"`
	ConsentGiven    bool
	// ConsentDenied reports whether the user denied the request.
	ConsentDenied bool
	// PendingUserID is the user who entered a correct password during
	// this flow but must choose a new one before they are signed in.
	PendingUserID string `gorm:"size:64"`
	CreatedAt     time.Time
	ExpiresAt     time.Time `gorm:"index"`
}

// Consent is a remembered approval of scopes by a user for a client.
type Consent struct {
	UserID    string     `gorm:"primaryKey;size:64"`
	ClientID  string     `gorm:"primaryKey;size:64"`
	Scopes    StringList `gorm:"type:text;not null"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CreateLoginSession stores a new session under the hash of token. Its
// times are stored in UTC because SQLite compares times by their text,
// and lookups compare against UTC.
func (s *Store) CreateLoginSession(ctx context.Context, ls *LoginSession, token string) error {
	ls.TokenHash = hashKey(token)
	ls.AuthTime = ls.AuthTime.UTC()
	ls.CreatedAt = ls.CreatedAt.UTC()
	ls.LastSeenAt = ls.LastSeenAt.UTC()
	ls.ExpiresAt = ls.ExpiresAt.UTC()
	return s.write(ctx, func() error { return s.conn(ctx).Create(ls).Error })
}

// LoginSessionByToken loads the session whose cookie value is token and
// that has not expired; otherwise ErrNotFound.
func (s *Store) LoginSessionByToken(ctx context.Context, token string, now time.Time) (*LoginSession, error) {
	var ls LoginSession
	err := s.conn(ctx).Where("token_hash = ? AND expires_at > ?", hashKey(token), now.UTC()).Take(&ls).Error
	if err != nil {
		return nil, fmt.Errorf("login session: %w", notFound(err))
	}
	return &ls, nil
}

// TouchLoginSession records activity on a session.
func (s *Store) TouchLoginSession(ctx context.Context, id string, now time.Time) error {
	return s.conn(ctx).Model(&LoginSession{}).Where("id = ?", id).
		Update("last_seen_at", now.UTC()).Error
}

// SignInLoginSession records a sign-in and replaces the session's cookie
// value, so a value planted before sign-in is worthless afterwards.
func (s *Store) SignInLoginSession(ctx context.Context, id, userID, newToken, publicID string, authTime, expires time.Time) error {
	res := s.conn(ctx).Model(&LoginSession{}).Where("id = ?", id).Updates(map[string]any{
		"token_hash":   hashKey(newToken),
		"public_id":    publicID,
		"user_id":      userID,
		"auth_time":    authTime.UTC(),
		"last_seen_at": authTime.UTC(),
		"expires_at":   expires.UTC(),
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("login session: %w", ErrNotFound)
	}
	return nil
}

// DeleteLoginSession ends a session and its flows.
func (s *Store) DeleteLoginSession(ctx context.Context, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.conn(ctx).Where("session_id = ?", id).Delete(&AuthFlow{}).Error; err != nil {
			return err
		}
		return s.conn(ctx).Where("id = ?", id).Delete(&LoginSession{}).Error
	})
}

// CreateAuthFlow stores a flow under the hash of its id. Its times are
// stored in UTC for the same reason as in CreateLoginSession.
func (s *Store) CreateAuthFlow(ctx context.Context, f *AuthFlow, id string) error {
	f.IDHash = hashKey(id)
	f.LoggedInAt = f.LoggedInAt.UTC()
	f.CreatedAt = f.CreatedAt.UTC()
	f.ExpiresAt = f.ExpiresAt.UTC()
	if f.ConsentedScopes == nil {
		f.ConsentedScopes = StringList{}
	}
	return s.write(ctx, func() error { return s.conn(ctx).Create(f).Error })
}

// AuthFlow loads an unexpired flow bound to sessionID; otherwise
// ErrNotFound.
func (s *Store) AuthFlow(ctx context.Context, id, sessionID string, now time.Time) (*AuthFlow, error) {
	var f AuthFlow
	err := s.conn(ctx).
		Where("id_hash = ? AND session_id = ? AND expires_at > ?", hashKey(id), sessionID, now.UTC()).
		Take(&f).Error
	if err != nil {
		return nil, fmt.Errorf("authorization flow: %w", notFound(err))
	}
	return &f, nil
}

// UpdateAuthFlow saves the login, password change and consent state of
// a flow. It returns ErrNotFound when the flow is gone, for example
// because another tab finished it.
func (s *Store) UpdateAuthFlow(ctx context.Context, f *AuthFlow) error {
	res := s.conn(ctx).Model(&AuthFlow{}).Where("id_hash = ?", f.IDHash).Updates(map[string]any{
		"logged_in_at":     f.LoggedInAt.UTC(),
		"consented_scopes": f.ConsentedScopes,
		"consent_given":    f.ConsentGiven,
		"consent_denied":   f.ConsentDenied,
		"pending_user_id":  f.PendingUserID,
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteAuthFlow removes a flow; exactly one of several concurrent
// callers gets nil, the others ErrAlreadyUsed, which keeps flows single
// use.
func (s *Store) DeleteAuthFlow(ctx context.Context, idHash string) error {
	res := s.conn(ctx).Where("id_hash = ?", idHash).Delete(&AuthFlow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrAlreadyUsed
	}
	return nil
}

// Consent loads a remembered consent; a missing one is ErrNotFound.
func (s *Store) Consent(ctx context.Context, userID, clientID string) (*Consent, error) {
	var c Consent
	err := s.conn(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Take(&c).Error
	if err != nil {
		return nil, fmt.Errorf("consent: %w", notFound(err))
	}
	return &c, nil
}

// SaveConsent creates or replaces a remembered consent.
func (s *Store) SaveConsent(ctx context.Context, c *Consent) error {
	return s.conn(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}, {Name: "client_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"scopes", "updated_at"}),
	}).Create(c).Error
}

// DeleteConsent deletes a remembered consent.
func (s *Store) DeleteConsent(ctx context.Context, userID, clientID string) error {
	return s.conn(ctx).Where("user_id = ? AND client_id = ?", userID, clientID).Delete(&Consent{}).Error
}

// RevokeConsent deletes the consent of a user for a client and revokes
// every token the client holds for the user, in one transaction.
func (s *Store) RevokeConsent(ctx context.Context, userID, subject, clientID string) error {
	if subject == "" {
		return fmt.Errorf("storage: RevokeConsent needs the user's subject")
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		db := s.conn(ctx)
		if err := db.Where("user_id = ? AND client_id = ?", userID, clientID).Delete(&Consent{}).Error; err != nil {
			return err
		}
		if err := db.Where("subject = ? AND client_id = ?", subject, clientID).Delete(&AccessToken{}).Error; err != nil {
			return err
		}
		if err := db.Model(&RefreshToken{}).Where("subject = ? AND client_id = ?", subject, clientID).
			Update("active", false).Error; err != nil {
			return err
		}
		return db.Model(&AuthorizationCode{}).Where("subject = ? AND client_id = ?", subject, clientID).
			Update("active", false).Error
	})
}
