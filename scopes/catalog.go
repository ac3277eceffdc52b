package scopes

import (
	"fmt"
	"slices"
	"strings"
)

// MaxNameLength is the maximum length of a custom scope name, in bytes.
// Scope names are ASCII, so bytes and characters are the same here.
const MaxNameLength = 100

// offlineAlias is the scope fosite v0.49.0 treats like offline_access when
// it decides whether to issue a refresh token (its default
// RefreshTokenScopes). A custom scope of that name would hand out refresh
// tokens without the explicit approval offline_access gets.
const offlineAlias = "offline"

// baseClaims are the claims an ID token or userinfo response may carry
// whatever the scopes: the ID token claims of OpenID Connect Core 1.0
// section 2 and at_hash (section 3.1.3.6), and sid from OpenID Connect
// Front-Channel Logout 1.0.
var baseClaims = []string{
	"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
	"azp", "sid",
}

// Catalog is the set of scopes idp accepts: the builtin ones followed by
// the custom ones an operator configured. It is immutable and safe for
// concurrent use.
type Catalog struct {
	// scopes holds the builtin scopes first, then the custom ones in
	// configuration order.
	scopes []Scope
	byName map[string]int
}

// NewCatalog returns a catalog of the builtin scopes and custom. It
// returns an error naming the first invalid custom scope. A custom name
// must be a scope-token of RFC 6749 section 3.3 of at most MaxNameLength
// bytes, and must not repeat a builtin name, another custom name or
// "offline". A custom scope needs a description and has no claims.
func NewCatalog(custom []Scope) (*Catalog, error) {
	builtin := Builtin()
	c := &Catalog{
		scopes: make([]Scope, 0, len(builtin)+len(custom)),
		byName: make(map[string]int, len(builtin)+len(custom)),
	}
	for _, s := range builtin {
		c.add(s)
	}

	for _, s := range custom {
		if err := validateCustom(s); err != nil {
			return nil, err
		}
		if _, ok := c.byName[s.Name]; ok {
			if isBuiltin(s.Name) {
				return nil, fmt.Errorf(
					"custom scope %q: name is a builtin scope, which cannot be redefined",
					s.Name,
				)
			}
			return nil, fmt.Errorf("custom scope %q: defined more than once", s.Name)
		}
		c.add(Scope{Name: s.Name, Description: strings.TrimSpace(s.Description)})
	}
	return c, nil
}

func (c *Catalog) add(s Scope) {
	c.byName[s.Name] = len(c.scopes)
	c.scopes = append(c.scopes, s)
}

func validateCustom(s Scope) error {
	if s.Name == "" {
		return fmt.Errorf("custom scope name is empty")
	}
	if len(s.Name) > MaxNameLength {
		return fmt.Errorf(
			"custom scope %q: name is %d bytes, the maximum is %d",
			s.Name, len(s.Name), MaxNameLength,
		)
	}
	if i := strings.IndexFunc(s.Name, isNotScopeTokenChar); i >= 0 {
		return fmt.Errorf(
			"custom scope %q: character %q is not allowed, only printable ASCII "+
				"except space, '\"' and '\\'",
			s.Name, rune(s.Name[i]),
		)
	}
	if s.Name == offlineAlias {
		return fmt.Errorf(
			"custom scope %q: name is reserved because fosite issues refresh "+
				"tokens for it like offline_access",
			s.Name,
		)
	}
	if strings.TrimSpace(s.Description) == "" {
		return fmt.Errorf(
			"custom scope %q: description is missing, but the consent page needs one",
			s.Name,
		)
	}
	if len(s.Claims) > 0 {
		return fmt.Errorf(
			"custom scope %q: claims %q are not allowed because only the "+
				"OpenID Connect scopes release claims",
			s.Name, s.Claims,
		)
	}
	return nil
}

// isNotScopeTokenChar reports whether r falls outside the scope-token
// grammar of RFC 6749 section 3.3: %x21 / %x23-5B / %x5D-7E.
func isNotScopeTokenChar(r rune) bool {
	return r < 0x21 || r > 0x7e || r == '"' || r == '\\'
}

func isBuiltin(name string) bool {
	for _, s := range Builtin() {
		if s.Name == name {
			return true
		}
	}
	return false
}

// Lookup returns the scope called name and whether it exists. The
// returned Claims slice is a copy.
func (c *Catalog) Lookup(name string) (Scope, bool) {
	i, ok := c.byName[name]
	if !ok {
		return Scope{}, false
	}
	return clone(c.scopes[i]), true
}

// Known reports whether name is a scope of the catalog.
func (c *Catalog) Known(name string) bool {
	_, ok := c.byName[name]
	return ok
}

// Names returns every scope name, builtin ones first, for the
// scopes_supported member of the discovery document.
func (c *Catalog) Names() []string {
	names := make([]string, len(c.scopes))
	for i, s := range c.scopes {
		names[i] = s.Name
	}
	return names
}

// ClaimsSupported returns the sorted claim names for the claims_supported
// member of the discovery document: the ID token claims every response
// may carry and the claims of every scope.
func (c *Catalog) ClaimsSupported() []string {
	claims := slices.Clone(baseClaims)
	for _, s := range c.scopes {
		claims = append(claims, s.Claims...)
	}
	slices.Sort(claims)
	return slices.Compact(claims)
}

// Describe returns the scopes called names, in the order given, for the
// consent page. It skips unknown names and repeats.
func (c *Catalog) Describe(names []string) []Scope {
	described := make([]Scope, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		s, ok := c.Lookup(name)
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		described = append(described, s)
	}
	return described
}

func clone(s Scope) Scope {
	s.Claims = slices.Clone(s.Claims)
	return s
}
