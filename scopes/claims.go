package scopes

import (
	"strings"

	"github.com/idp/idp/storage"
)

// Claims returns the standard claims of u that the granted scopes
// release, typed as OpenID Connect Core 1.0 section 5.1 defines them:
// strings, booleans for email_verified and phone_number_verified, Unix
// seconds for updated_at and an object for address. Claims with an empty
// value are left out, and so are email_verified without an email and
// phone_number_verified without a phone number. The map never contains
// sub, which the caller adds. Unknown and custom scopes release nothing.
func Claims(u *storage.User, granted []string) map[string]any {
	claims := make(map[string]any)
	if u == nil {
		return claims
	}

	for _, scope := range granted {
		switch scope {
		case Profile:
			addProfile(claims, u)
		case Email:
			if u.Email != "" {
				claims["email"] = u.Email
				claims["email_verified"] = u.EmailVerified
			}
		case Address:
			if address := addressClaim(u); address != nil {
				claims["address"] = address
			}
		case Phone:
			if u.PhoneNumber != "" {
				claims["phone_number"] = u.PhoneNumber
				claims["phone_number_verified"] = u.PhoneNumberVerified
			}
		}
	}
	return claims
}

func addProfile(claims map[string]any, u *storage.User) {
	setString(claims, "name", u.Name)
	setString(claims, "family_name", u.FamilyName)
	setString(claims, "given_name", u.GivenName)
	setString(claims, "middle_name", u.MiddleName)
	setString(claims, "nickname", u.Nickname)
	setString(claims, "preferred_username", u.PreferredUsername)
	setString(claims, "profile", u.Profile)
	setString(claims, "picture", u.Picture)
	setString(claims, "website", u.Website)
	setString(claims, "gender", u.Gender)
	setString(claims, "birthdate", u.Birthdate)
	setString(claims, "zoneinfo", u.Zoneinfo)
	setString(claims, "locale", u.Locale)
	if !u.UpdatedAt.IsZero() {
		claims["updated_at"] = u.UpdatedAt.Unix()
	}
}

// addressClaim returns the address object of OpenID Connect Core 1.0
// section 5.1.1 with its non-empty members, or nil when every part is
// empty.
func addressClaim(u *storage.User) map[string]any {
	address := make(map[string]any)
	setString(address, "street_address", u.AddressStreet)
	setString(address, "locality", u.AddressLocality)
	setString(address, "region", u.AddressRegion)
	setString(address, "postal_code", u.AddressPostalCode)
	setString(address, "country", u.AddressCountry)
	if len(address) == 0 {
		return nil
	}
	address["formatted"] = formatAddress(u)
	return address
}

// formatAddress joins the address parts into the "formatted" member:
// the street lines, then locality, region and postal code on one line,
// then the country, separated by "\n" as section 5.1.1 allows.
//
// NOTE: this is one common layout; countries that put the postal code
// first, for example, get it in the wrong place.
func formatAddress(u *storage.User) string {
	var lines []string
	if u.AddressStreet != "" {
		lines = append(lines, u.AddressStreet)
	}
	var cityLine []string
	for _, part := range []string{u.AddressLocality, u.AddressRegion, u.AddressPostalCode} {
		if part != "" {
			cityLine = append(cityLine, part)
		}
	}
	if len(cityLine) > 0 {
		lines = append(lines, strings.Join(cityLine, " "))
	}
	if u.AddressCountry != "" {
		lines = append(lines, u.AddressCountry)
	}
	return strings.Join(lines, "\n")
}

func setString(claims map[string]any, name, value string) {
	if value != "" {
		claims[name] = value
	}
}
