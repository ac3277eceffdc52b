package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/idp/idp/storage"
)

// Authenticate returns the user with username if password is theirs.
//
// An unknown username, a user without a password, a wrong password and a
// disabled user all give ErrInvalidCredentials after the same hashing
// work, so neither the error nor the time taken shows which case it was.
// A user who must change their password is still authenticated, because
// the caller decides what to show them. Storage failures, an unreadable
// stored hash and an ended ctx give other errors.
//
// After a successful check, a hash made with weaker Params than the
// Hasher's is replaced by a new one. A failure to save it is logged and
// does not fail the sign-in.
func (d *Directory) Authenticate(
	ctx context.Context,
	username, password string,
) (*storage.User, error) {
	u, err := d.Store.UserByUsername(ctx, username)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, d.rejectAfterDummy(ctx, password)
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: look up username: %w", err)
	}
	if u.PasswordHash == "" {
		return nil, d.rejectAfterDummy(ctx, password)
	}

	ok, err := d.Hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		return nil, fmt.Errorf("authenticate user %q: %w", u.ID, err)
	}
	// A disabled user is rejected only after Verify, so that the response
	// takes as long as for an active one.
	if !ok || u.Disabled {
		return nil, ErrInvalidCredentials
	}

	if d.Hasher.NeedsRehash(u.PasswordHash) {
		d.rehash(ctx, u, password)
	}
	return u, nil
}

// rejectAfterDummy runs VerifyDummy and returns ErrInvalidCredentials, or
// ctx's error if ctx ended, as Verify would for a known user.
func (d *Directory) rejectAfterDummy(ctx context.Context, password string) error {
	d.Hasher.VerifyDummy(ctx, password)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("authenticate: wait to hash password: %w", err)
	}
	return ErrInvalidCredentials
}

// rehash stores a new hash of password for u and sets u.PasswordHash to
// it. It leaves the stored user alone if their hash changed since u was
// loaded, because the password was changed meanwhile.
func (d *Directory) rehash(ctx context.Context, u *storage.User, password string) {
	hash, err := d.Hasher.Hash(ctx, password)
	if err != nil {
		d.logError(ctx, "rehash password failed", u.ID, err)
		return
	}

	// Reload so that the save overwrites nothing that changed during the
	// two hashes. A change between this load and the save is still lost,
	// as in modify.
	fresh, err := d.Store.User(ctx, u.ID)
	if err != nil {
		d.logError(ctx, "rehash password failed", u.ID, err)
		return
	}
	if fresh.PasswordHash != u.PasswordHash {
		return
	}
	fresh.PasswordHash = hash
	if err := d.Store.UpdateUser(ctx, fresh); err != nil {
		d.logError(ctx, "rehash password failed", u.ID, err)
		return
	}
	u.PasswordHash = hash
}

func (d *Directory) logError(ctx context.Context, msg, userID string, err error) {
	if d.Logger != nil {
		d.Logger.ErrorContext(ctx, msg, "user_id", userID, "err", err)
	}
}

// Reject does the hashing work of a failed sign-in and returns
// ErrInvalidCredentials. A throttled attempt calls it instead of
// Authenticate, so that it looks and takes as long as a wrong password.
func (d *Directory) Reject(ctx context.Context, password string) error {
	return d.rejectAfterDummy(ctx, password)
}
