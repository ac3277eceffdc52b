// Package scopes is idp's scope catalog and the claims each scope
// releases.
//
// The catalog holds the scopes of OpenID Connect Core 1.0 section 5.4
// (openid, profile, email, address and phone), offline_access from
// section 11, and the custom scopes an operator configures. Each scope
// has the description shown on the consent page. Custom scopes release
// no claims: they exist for the APIs that read them from access tokens.
//
// Missing decides which requested scopes still need the user's consent,
// and Claims turns a user record into the standard claims of the scopes
// that were granted, for the ID token and the userinfo response.
package scopes
