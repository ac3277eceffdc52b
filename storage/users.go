package storage

import (
	"context"
	"fmt"
)

// CreateUser inserts a new user.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	return s.conn(ctx).Create(u).Error
}

// User loads a user by internal id; a missing one is ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (*User, error) {
	return s.findUser(ctx, "id = ?", id)
}

// UserByUsername loads a user by username; a missing one is ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (*User, error) {
	return s.findUser(ctx, "username = ?", username)
}

// UserBySubject loads a user by sub claim; a missing one is ErrNotFound.
func (s *Store) UserBySubject(ctx context.Context, subject string) (*User, error) {
	return s.findUser(ctx, "subject = ?", subject)
}

func (s *Store) findUser(ctx context.Context, where string, arg string) (*User, error) {
	var u User
	if err := s.conn(ctx).Where(where, arg).Take(&u).Error; err != nil {
		return nil, fmt.Errorf("user %q: %w", arg, notFound(err))
	}
	return &u, nil
}

// ListUsers returns every user ordered by username.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var list []User
	err := s.conn(ctx).Order("username").Find(&list).Error
	return list, err
}

// UpdateUser replaces a user's fields; a missing one is ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, u *User) error {
	res := s.conn(ctx).Model(&User{}).Where("id = ?", u.ID).
		Select("*").Omit("id", "subject", "created_at").Updates(u)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("user %q: %w", u.ID, ErrNotFound)
	}
	return nil
}

// EndUserAccess deletes a user's login sessions and revokes every token
// issued for them, in one transaction. It runs after a user is disabled
// or changes password.
func (s *Store) EndUserAccess(ctx context.Context, u *User) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.conn(ctx).Where("user_id = ?", u.ID).Delete(&LoginSession{}).Error; err != nil {
			return err
		}
		return s.RevokeSubjectGrants(ctx, u.Subject)
	})
}

// DeleteUser deletes a user with sessions, consents and tokens; a
// missing one is ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		u, err := s.User(ctx, id)
		if err != nil {
			return err
		}
		if err := s.EndUserAccess(ctx, u); err != nil {
			return err
		}
		db := s.conn(ctx)
		if err := db.Where("user_id = ?", id).Delete(&Consent{}).Error; err != nil {
			return err
		}
		if err := db.Where("subject = ?", u.Subject).Delete(&RefreshToken{}).Error; err != nil {
			return err
		}
		return db.Where("id = ?", id).Delete(&User{}).Error
	})
}
