package storage

import (
	"context"
	"fmt"
)

// DisableClientSecret marks the secret of client id disabled, so that
// no secret verifies until an admin rotates it. secretHash is the hash
// the caller verified the secret against: when the secret was rotated
// since, nothing changes and the error wraps ErrNotFound.
func (s *Store) DisableClientSecret(ctx context.Context, id, secretHash string) error {
	res := s.conn(ctx).Model(&Client{}).
		Where("id = ? AND secret_hash = ?", id, secretHash).
		Updates(map[string]any{"secret_disabled": true, "updated_at": s.now().UTC()})
	if res.Error != nil {
		return fmt.Errorf("disable secret of client %q: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("client %q with the verified secret: %w", id, ErrNotFound)
	}
	return nil
}

// RevokePassword clears the password of user id and sets
// PasswordChangeRequired, then ends their login sessions and revokes
// their tokens, in one transaction. The user cannot sign in until an
// admin sets a new password. passwordHash is the hash the caller
// verified the password against: when the password was changed since,
// nothing changes and the error wraps ErrNotFound.
func (s *Store) RevokePassword(ctx context.Context, id, passwordHash string) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		res := s.conn(ctx).Model(&User{}).
			Where("id = ? AND password_hash = ?", id, passwordHash).
			Updates(map[string]any{
				"password_hash":            "",
				"password_change_required": true,
				"updated_at":               s.now().UTC(),
			})
		if res.Error != nil {
			return fmt.Errorf("revoke password of user %q: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("user %q with the verified password: %w", id, ErrNotFound)
		}
		u, err := s.User(ctx, id)
		if err != nil {
			return err
		}
		if err := s.EndUserAccess(ctx, u); err != nil {
			return fmt.Errorf("end access of user %q: %w", id, err)
		}
		return nil
	})
}
