package scopes

// Scope names defined by OpenID Connect Core 1.0.
const (
	// OpenID marks a request as an OpenID Connect request (section 3.1.2.1).
	OpenID = "openid"
	// Profile releases the default profile claims (section 5.4).
	Profile = "profile"
	// Email releases email and email_verified (section 5.4).
	Email = "email"
	// Address releases the address claim (section 5.4).
	Address = "address"
	// Phone releases phone_number and phone_number_verified (section 5.4).
	Phone = "phone"
	// OfflineAccess requests a refresh token that works while the user is
	// not signed in (section 11).
	OfflineAccess = "offline_access"
)

// profileDescription lists the claims of the profile scope in everyday
// words.
const profileDescription = "See your profile: name, nickname, username, " +
	"picture, website, gender, birthdate, time zone and language"

// Scope is one entry of the catalog.
type Scope struct {
	// Name is the scope-token a client sends in the scope parameter.
	Name string
	// Description is the sentence a person reads on the consent page.
	Description string
	// Claims lists the standard claims the scope releases. It is empty
	// for openid (the caller always adds sub), offline_access and every
	// custom scope.
	Claims []string
}

// Builtin returns the scopes of OpenID Connect Core 1.0: openid, the four
// claim scopes of section 5.4 with the claims that section assigns them,
// and offline_access. Each call returns a new slice that the caller may
// modify.
func Builtin() []Scope {
	return []Scope{
		{
			Name:        OpenID,
			Description: "Sign you in and see your account identifier",
		},
		{
			Name:        Profile,
			Description: profileDescription,
			Claims: []string{
				"name", "family_name", "given_name", "middle_name",
				"nickname", "preferred_username", "profile", "picture",
				"website", "gender", "birthdate", "zoneinfo", "locale",
				"updated_at",
			},
		},
		{
			Name:        Email,
			Description: "See your email address and whether it is verified",
			Claims:      []string{"email", "email_verified"},
		},
		{
			Name:        Address,
			Description: "See your postal address",
			Claims:      []string{"address"},
		},
		{
			Name:        Phone,
			Description: "See your phone number and whether it is verified",
			Claims:      []string{"phone_number", "phone_number_verified"},
		},
		{
			Name:        OfflineAccess,
			Description: "Keep access to what you approve here while you are signed out",
		},
	}
}
