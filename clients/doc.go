// Package clients manages registered apps (OAuth 2.0 clients). It owns
// their metadata in the shape of RFC 7591 and its validation, generates
// client ids and secrets and hashes the secrets, matches redirect URIs at
// request time, and serves the admin HTTP API that registers, changes
// and deletes clients.
//
// Registry holds the operations that the CLI and the admin API share, on
// top of a Store that *storage.Store implements. Metadata.Validate
// enforces idp's defaults: the authorization code flow with PKCE,
// redirect URIs that are compared as exact strings (only the port of an
// http loopback URI may vary, as RFC 8252 section 7.3 asks), and secrets
// that the server generates with 256 random bits and stores only as an
// HMAC-SHA256 under a versioned key.
package clients
