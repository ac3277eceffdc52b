// Package storage is idp's database layer and the only package that
// imports gorm. It implements fosite's storage interfaces (codes, tokens,
// PKCE, OpenID Connect sessions, clients, transactions) and stores
// users, login sessions, authorization flows, consents, signing keys and
// settings, on SQLite by default and on PostgreSQL.
//
// Secret values that travel (tokens, codes, session and flow ids) are
// stored only as signatures or SHA-256 hashes.
package storage
