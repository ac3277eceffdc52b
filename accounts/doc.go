// Package accounts manages the people who sign in: creating, finding,
// disabling and deleting user records, setting and checking their
// passwords.
//
// Passwords are hashed with argon2id (RFC 9106) and stored as PHC
// strings. A Hasher bounds how many hashes run at once, because each one
// allocates its full memory cost. Directory.Authenticate does the same
// hashing work whether or not the username exists, so the response time
// does not reveal which accounts exist.
package accounts
