package storage

import "errors"

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// ErrAlreadyUsed is returned when a single-use credential (an
// authorization code or a refresh token) was redeemed by a concurrent
// request first. Callers treat it as reuse.
var ErrAlreadyUsed = errors.New("credential already used")
