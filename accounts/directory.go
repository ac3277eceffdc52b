package accounts

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/idp/idp/storage"
)

// ErrInvalidCredentials is returned by Authenticate for an unknown
// username, a wrong password, an account without a password and a
// disabled account alike, so that callers cannot tell these apart.
var ErrInvalidCredentials = errors.New("invalid username or password")

// ErrUsernameTaken is wrapped by Create when another user has the
// username.
var ErrUsernameTaken = errors.New("username is already taken")

// UserStore is the part of *storage.Store a Directory uses. Lookups of a
// missing user return an error wrapping storage.ErrNotFound.
type UserStore interface {
	CreateUser(ctx context.Context, u *storage.User) error
	User(ctx context.Context, id string) (*storage.User, error)
	UserByUsername(ctx context.Context, username string) (*storage.User, error)
	ListUsers(ctx context.Context) ([]storage.User, error)
	UpdateUser(ctx context.Context, u *storage.User) error
	EndUserAccess(ctx context.Context, u *storage.User) error
	DeleteUser(ctx context.Context, id string) error
}

var _ UserStore = (*storage.Store)(nil)

// Directory creates, finds, changes and authenticates users.
type Directory struct {
	// Store holds the user records. Required.
	Store UserStore
	// Hasher hashes and verifies passwords. Required.
	Hasher *Hasher
	// Now is the clock for CreatedAt and UpdatedAt. It is time.Now when
	// nil.
	Now func() time.Time
	// Logger receives the errors a Directory handles without returning
	// them. Nothing is logged when it is nil.
	Logger *slog.Logger
}

// NewUser is the input of Directory.Create.
type NewUser struct {
	Username string
	Password string
	// PasswordChangeRequired reports whether the user must choose a new
	// password at the next sign-in, as after an admin set the first one.
	PasswordChangeRequired bool
	// Profile supplies the OpenID Connect claim fields (Name through
	// AddressCountry). Its other fields are ignored.
	Profile storage.User
}

// Create validates n, hashes its password and stores a new user with a
// random ID and a random Subject, each of 128 bits. It returns an error
// wrapping ErrUsernameTaken if the username is in use.
func (d *Directory) Create(ctx context.Context, n NewUser) (*storage.User, error) {
	if err := ValidateUsername(n.Username); err != nil {
		return nil, err
	}
	if err := ValidatePassword(n.Password); err != nil {
		return nil, err
	}

	// Check first so that a taken name costs no hashing. The check after
	// CreateUser catches a concurrent Create of the same name.
	if err := d.checkUsernameFree(ctx, n.Username); err != nil {
		return nil, err
	}
	hash, err := d.Hasher.Hash(ctx, n.Password)
	if err != nil {
		return nil, fmt.Errorf("create user %q: %w", n.Username, err)
	}

	u := copyClaims(n.Profile)
	u.ID = hex.EncodeToString(randomBytes(16))
	u.Subject = base64.RawURLEncoding.EncodeToString(randomBytes(16))
	u.Username = n.Username
	u.PasswordHash = hash
	u.PasswordChangeRequired = n.PasswordChangeRequired
	u.CreatedAt = d.now()
	u.UpdatedAt = u.CreatedAt

	if err := d.Store.CreateUser(ctx, &u); err != nil {
		if conflict := d.checkUsernameFree(ctx, n.Username); errors.Is(conflict, ErrUsernameTaken) {
			return nil, conflict
		}
		return nil, fmt.Errorf("create user %q: %w", n.Username, err)
	}
	return &u, nil
}

// checkUsernameFree returns an error wrapping ErrUsernameTaken if a user
// has username, or the storage error if the lookup failed.
func (d *Directory) checkUsernameFree(ctx context.Context, username string) error {
	_, err := d.Store.UserByUsername(ctx, username)
	switch {
	case err == nil:
		return fmt.Errorf("create user %q: %w, so choose another one", username, ErrUsernameTaken)
	case errors.Is(err, storage.ErrNotFound):
		return nil
	default:
		return fmt.Errorf("create user %q: look up username: %w", username, err)
	}
}

// copyClaims returns a User holding only the OpenID Connect claim fields
// of profile.
func copyClaims(profile storage.User) storage.User {
	return storage.User{
		Name:                profile.Name,
		GivenName:           profile.GivenName,
		FamilyName:          profile.FamilyName,
		MiddleName:          profile.MiddleName,
		Nickname:            profile.Nickname,
		PreferredUsername:   profile.PreferredUsername,
		Profile:             profile.Profile,
		Picture:             profile.Picture,
		Website:             profile.Website,
		Email:               profile.Email,
		EmailVerified:       profile.EmailVerified,
		Gender:              profile.Gender,
		Birthdate:           profile.Birthdate,
		Zoneinfo:            profile.Zoneinfo,
		Locale:              profile.Locale,
		PhoneNumber:         profile.PhoneNumber,
		PhoneNumberVerified: profile.PhoneNumberVerified,
		AddressStreet:       profile.AddressStreet,
		AddressLocality:     profile.AddressLocality,
		AddressRegion:       profile.AddressRegion,
		AddressPostalCode:   profile.AddressPostalCode,
		AddressCountry:      profile.AddressCountry,
	}
}

// SetPassword validates and hashes password, stores it for the user with
// the given id, clears PasswordChangeRequired, and then ends the user's
// login sessions and revokes their tokens.
func (d *Directory) SetPassword(ctx context.Context, id, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash, err := d.Hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("set password of user %q: %w", id, err)
	}

	u, err := d.modify(ctx, id, func(u *storage.User) {
		u.PasswordHash = hash
		u.PasswordChangeRequired = false
	})
	if err != nil {
		return fmt.Errorf("set password of user %q: %w", id, err)
	}
	if err := d.Store.EndUserAccess(ctx, u); err != nil {
		return fmt.Errorf(
			"password of user %q changed, but ending their sessions failed, so retry: %w",
			id, err,
		)
	}
	return nil
}

// Disable marks the user with the given id disabled, so Authenticate
// rejects them, and then ends their login sessions and revokes their
// tokens. Disabling a disabled user ends their access again.
func (d *Directory) Disable(ctx context.Context, id string) error {
	u, err := d.modify(ctx, id, func(u *storage.User) { u.Disabled = true })
	if err != nil {
		return fmt.Errorf("disable user %q: %w", id, err)
	}
	if err := d.Store.EndUserAccess(ctx, u); err != nil {
		return fmt.Errorf(
			"user %q disabled, but ending their sessions failed, so retry: %w",
			id, err,
		)
	}
	return nil
}

// Enable clears the disabled mark of the user with the given id.
func (d *Directory) Enable(ctx context.Context, id string) error {
	if _, err := d.modify(ctx, id, func(u *storage.User) { u.Disabled = false }); err != nil {
		return fmt.Errorf("enable user %q: %w", id, err)
	}
	return nil
}

// RequirePasswordChange makes the user choose a new password at the
// next sign-in, as after an admin set a temporary one.
func (d *Directory) RequirePasswordChange(ctx context.Context, id string) error {
	if _, err := d.modify(ctx, id, func(u *storage.User) { u.PasswordChangeRequired = true }); err != nil {
		return fmt.Errorf("require a password change of user %q: %w", id, err)
	}
	return nil
}

// Delete deletes the user with the given id together with their login
// sessions, consents and tokens.
func (d *Directory) Delete(ctx context.Context, id string) error {
	if err := d.Store.DeleteUser(ctx, id); err != nil {
		return fmt.Errorf("delete user %q: %w", id, err)
	}
	return nil
}

// Lookup returns the user whose ID is idOrUsername or, if there is none,
// the user with that username. The error wraps storage.ErrNotFound when
// neither exists.
func (d *Directory) Lookup(ctx context.Context, idOrUsername string) (*storage.User, error) {
	u, err := d.Store.User(ctx, idOrUsername)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("look up user %q: %w", idOrUsername, err)
	}

	u, err = d.Store.UserByUsername(ctx, idOrUsername)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf(
			"no user has the id or username %q: %w",
			idOrUsername, storage.ErrNotFound,
		)
	}
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", idOrUsername, err)
	}
	return u, nil
}

// modify loads the user with the given id, applies change, sets
// UpdatedAt and saves the user.
//
// TODO: storage has no update of single columns, so a change made by
// another request between the load and the save is overwritten.
func (d *Directory) modify(
	ctx context.Context,
	id string,
	change func(*storage.User),
) (*storage.User, error) {
	u, err := d.Store.User(ctx, id)
	if err != nil {
		return nil, err
	}
	change(u)
	u.UpdatedAt = d.now()
	if err := d.Store.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

func (d *Directory) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}
