package accounts

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Password and username limits.
const (
	// MinPasswordLength is the minimum password length in characters
	// (Unicode code points).
	MinPasswordLength = 8
	// MaxPasswordBytes is the maximum password length in bytes. It bounds
	// the work of hashing a password an attacker chose.
	MaxPasswordBytes = 1024
	// MaxUsernameLength is the maximum username length in characters,
	// the size of the username column.
	MaxUsernameLength = 200
)

// ValidatePassword returns an error unless pw is valid UTF-8 of at least
// MinPasswordLength characters and at most MaxPasswordBytes bytes. Every
// character is allowed, spaces included.
//
// NOTE: passwords are hashed as given, without Unicode normalization, so
// the same text typed in another normalization form does not match.
func ValidatePassword(pw string) error {
	if !utf8.ValidString(pw) {
		return errors.New("password is not valid UTF-8 text")
	}
	if len(pw) > MaxPasswordBytes {
		return fmt.Errorf(
			"password is %d bytes long, the maximum is %d bytes",
			len(pw), MaxPasswordBytes,
		)
	}
	if n := utf8.RuneCountInString(pw); n < MinPasswordLength {
		return fmt.Errorf(
			"password is %d characters long, the minimum is %d characters",
			n, MinPasswordLength,
		)
	}
	return nil
}

// ValidateUsername returns an error unless name is valid UTF-8 of 1 to
// MaxUsernameLength characters without white space at the start or end.
// Control and invisible format characters (Unicode categories Cc and Cf,
// such as U+202E RIGHT-TO-LEFT OVERRIDE) are rejected because they can
// make two usernames look alike. Letters of any script, digits, punctuation,
// symbols and inner spaces are allowed. Usernames are compared exactly,
// so "Alice" and "alice" are two users.
func ValidateUsername(name string) error {
	if !utf8.ValidString(name) {
		return errors.New("username is not valid UTF-8 text")
	}
	n := utf8.RuneCountInString(name)
	if n == 0 {
		return errors.New("username is empty, but it must have 1 to 200 characters")
	}
	if n > MaxUsernameLength {
		return fmt.Errorf(
			"username is %d characters long, the maximum is %d characters",
			n, MaxUsernameLength,
		)
	}
	if i := strings.IndexFunc(name, isControlOrFormat); i >= 0 {
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Errorf(
			"username contains the control or format character %U, but only "+
				"letters, digits, punctuation, symbols and inner spaces are allowed",
			r,
		)
	}
	if strings.TrimSpace(name) != name {
		return errors.New("username starts or ends with white space, which is not allowed")
	}
	return nil
}

func isControlOrFormat(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}
