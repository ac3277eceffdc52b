package storage

import (
	"time"
)

// Client is a registered application. It is the plain record that the
// clients package validates and that fosite reads through the methods in
// client.go.
type Client struct {
	// ID is the public client_id, a random string chosen by the server.
	ID string `gorm:"primaryKey;size:64"`
	// Name is the client_name shown on the consent page.
	Name string `gorm:"size:200;not null"`
	// URI is an optional client_uri linked from the consent page.
	URI string `gorm:"size:2000"`
	// SecretHash is the keyed hash of the client secret, empty for public
	// clients.
	SecretHash string `gorm:"size:200"`
	// SecretDisabled reports whether the secret was revoked (for example
	// after it was seen on a plain-HTTP request) until an admin rotates it.
	SecretDisabled bool
	// RedirectURIs, GrantTypes, ResponseTypes and Scopes are stored as
	// JSON arrays.
	RedirectURIs  StringList `gorm:"type:text;not null"`
	GrantTypes    StringList `gorm:"type:text;not null"`
	ResponseTypes StringList `gorm:"type:text;not null"`
	Scopes        StringList `gorm:"type:text;not null"`
	// AllowedCORSOrigins lists exact origins that may call the token,
	// userinfo and revocation endpoints from a browser.
	AllowedCORSOrigins StringList `gorm:"type:text;not null"`
	// Public reports whether the client cannot keep a secret (native and
	// browser apps). Public clients authenticate with "none".
	Public bool
	// TokenEndpointAuthMethod is client_secret_basic, client_secret_post
	// or none.
	TokenEndpointAuthMethod string `gorm:"size:40;not null"`
	// PKCEOptional reports whether an admin let this confidential client
	// skip PKCE. Public clients never may.
	PKCEOptional bool
	// ResourceServer reports whether the client may introspect tokens
	// issued to other clients.
	ResourceServer bool
	// IDTokenSignedResponseAlg is the JWS algorithm for ID tokens (RS256).
	IDTokenSignedResponseAlg string `gorm:"size:10;not null"`
	CreatedAt                time.Time
	UpdatedAt                time.Time
}

// User is a person who signs in.
type User struct {
	// ID is the internal primary key.
	ID string `gorm:"primaryKey;size:64"`
	// Subject is the stable, opaque sub claim. It never changes and is
	// unrelated to the username.
	Subject  string `gorm:"uniqueIndex;size:64;not null"`
	Username string `gorm:"uniqueIndex;size:200;not null"`
	// PasswordHash is an argon2id hash in PHC string format.
	PasswordHash string `gorm:"size:300"`
	Disabled     bool
	// PasswordChangeRequired reports whether the user must choose a new
	// password at the next sign-in.
	PasswordChangeRequired bool

	Name                string `gorm:"size:300"`
	GivenName           string `gorm:"size:200"`
	FamilyName          string `gorm:"size:200"`
	MiddleName          string `gorm:"size:200"`
	Nickname            string `gorm:"size:200"`
	PreferredUsername   string `gorm:"size:200"`
	Profile             string `gorm:"size:2000"`
	Picture             string `gorm:"size:2000"`
	Website             string `gorm:"size:2000"`
	Email               string `gorm:"size:320"`
	EmailVerified       bool
	Gender              string `gorm:"size:50"`
	Birthdate           string `gorm:"size:10"`
	Zoneinfo            string `gorm:"size:100"`
	Locale              string `gorm:"size:35"`
	PhoneNumber         string `gorm:"size:50"`
	PhoneNumberVerified bool
	// Address fields follow the OpenID Connect address claim.
	AddressStreet     string `gorm:"size:500"`
	AddressLocality   string `gorm:"size:200"`
	AddressRegion     string `gorm:"size:200"`
	AddressPostalCode string `gorm:"size:50"`
	AddressCountry    string `gorm:"size:100"`

	CreatedAt time.Time
	UpdatedAt time.Time
}
