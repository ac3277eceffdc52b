package clients

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idp/idp/storage"
)

// Grant types a client may register.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// ResponseTypeCode is the only response type idp supports.
const ResponseTypeCode = "code"

// Token endpoint authentication methods a client may register.
const (
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
	// AuthMethodNone marks a public client, which has no secret.
	AuthMethodNone = "none"
)

// PKCE settings. PKCERequired is the default.
const (
	PKCERequired = "required"
	PKCEOptional = "optional"
)

// ScopeOfflineAccess is the scope that makes fosite issue a refresh
// token.
const ScopeOfflineAccess = "offline_access"

// DefaultIDTokenSigningAlg is the id_token_signed_response_alg of a
// client that registers none.
const DefaultIDTokenSigningAlg = "RS256"

// IDTokenSigningAlgs lists the id_token_signed_response_alg values a
// client may register: the algorithms idp keeps a signing key for. It
// is a variable so that another algorithm can be added once idp can
// sign with it.
var IDTokenSigningAlgs = []string{"RS256", "ES256"}

// MaxClientNameLength is the longest client_name accepted, in characters.
const MaxClientNameLength = 200

// maxClientURILength matches the size of the client_uri column, in bytes.
const maxClientURILength = 2000

// Error codes of RFC 7591 section 3.2.2.
const (
	ErrorInvalidRedirectURI    = "invalid_redirect_uri"
	ErrorInvalidClientMetadata = "invalid_client_metadata"
)

// Metadata is a client's registration as RFC 7591 client metadata. It is
// the JSON body of the admin API and the value the CLI prints.
type Metadata struct {
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"` // only in create/rotate responses
	// ClientIDIssuedAt is the time of registration in Unix seconds.
	ClientIDIssuedAt int64 `json:"client_id_issued_at,omitempty"`
	// ClientSecretExpiresAt is 0 (never expires) whenever ClientSecret is
	// set, and absent otherwise.
	ClientSecretExpiresAt    *int64   `json:"client_secret_expires_at,omitempty"`
	ClientName               string   `json:"client_name"`
	ClientURI                string   `json:"client_uri,omitempty"`
	RedirectURIs             []string `json:"redirect_uris"`
	GrantTypes               []string `json:"grant_types"`
	ResponseTypes            []string `json:"response_types"`
	Scope                    string   `json:"scope"`
	TokenEndpointAuthMethod  string   `json:"token_endpoint_auth_method"`
	IDTokenSignedResponseAlg string   `json:"id_token_signed_response_alg,omitempty"`
	PKCE                     string   `json:"pkce,omitempty"`            // "required" (default) or "optional"
	ResourceServer           bool     `json:"resource_server,omitempty"` // may introspect any token
	AllowedCORSOrigins       []string `json:"allowed_cors_origins,omitempty"`
	// SecretDisabled reports whether the secret stopped working, for
	// example after it was sent over plain HTTP, until the secret is
	// rotated. It is output only; requests that set it change nothing.
	SecretDisabled bool `json:"secret_disabled,omitempty"`
}

// ValidateOptions configures Metadata.Validate.
type ValidateOptions struct {
	// AllowLocalhostHTTP reports whether http://localhost redirect URIs
	// and CORS origins are accepted. Only dev mode sets it.
	AllowLocalhostHTTP bool
	// KnownScope reports whether a scope exists in the catalogue. When
	// nil, every scope is known.
	KnownScope func(name string) bool
}

// FieldError is a metadata value that failed validation.
type FieldError struct {
	// Field is the JSON name of the value, with an index for list
	// elements, such as "redirect_uris[1]".
	Field string
	// Code is ErrorInvalidRedirectURI or ErrorInvalidClientMetadata, the
	// error codes of RFC 7591 section 3.2.2.
	Code string
	// Message states what is wrong and how to fix it.
	Message string
}

// Error returns "<field>: <message>".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func metadataError(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Code: ErrorInvalidClientMetadata, Message: fmt.Sprintf(format, args...)}
}

// IsPublic reports whether the metadata describes a public client, one
// that authenticates with "none" and has no secret.
func (m Metadata) IsPublic() bool {
	return m.TokenEndpointAuthMethod == AuthMethodNone
}

// Validate checks the metadata, fills in defaults and normalises lists
// (nil becomes empty, the scope loses extra spaces). It returns a
// *FieldError for the first invalid value. It does not look at the
// server-assigned fields client_id, client_secret, client_id_issued_at
// and client_secret_expires_at.
func (m *Metadata) Validate(opts ValidateOptions) error {
	checks := []func(ValidateOptions) *FieldError{
		m.validateName,
		m.validateClientURI,
		m.validateAuthMethod,
		m.validateGrantTypes,
		m.validateResponseTypes,
		m.validateRedirectURIs,
		m.validateScope,
		m.validateIDTokenAlg,
		m.validatePKCE,
		m.validatePublicClient,
		m.validateCORSOrigins,
	}
	for _, check := range checks {
		if err := check(opts); err != nil {
			return err
		}
	}
	return nil
}

func (m *Metadata) validateName(ValidateOptions) *FieldError {
	m.ClientName = strings.TrimSpace(m.ClientName)
	switch n := utf8.RuneCountInString(m.ClientName); {
	case !utf8.ValidString(m.ClientName):
		return metadataError("client_name", "is not valid UTF-8")
	case n == 0:
		return metadataError("client_name", "is missing; give the name users see on the consent page")
	case n > MaxClientNameLength:
		return metadataError("client_name", "is %d characters long; shorten it to at most %d", n, MaxClientNameLength)
	}
	// Format characters (category Cf) are invisible or reorder text:
	// U+202E RIGHT-TO-LEFT OVERRIDE makes "Bank \u202eelgooG" read
	// "Bank Google" on the consent page, and U+200B makes a blank name.
	for _, r := range m.ClientName {
		if unicode.IsControl(r) {
			return metadataError("client_name", "contains the control character %U; remove it", r)
		}
		if unicode.Is(unicode.Cf, r) {
			return metadataError("client_name", "contains the format character %U, which is invisible or reorders text; remove it", r)
		}
	}
	return nil
}

func (m *Metadata) validateClientURI(ValidateOptions) *FieldError {
	if m.ClientURI == "" {
		return nil
	}
	if err := validateClientURI(m.ClientURI); err != nil {
		return metadataError("client_uri", "%s", err.Error())
	}
	return nil
}

func (m *Metadata) validateAuthMethod(ValidateOptions) *FieldError {
	switch m.TokenEndpointAuthMethod {
	case "":
		m.TokenEndpointAuthMethod = AuthMethodClientSecretBasic
	case AuthMethodClientSecretBasic, AuthMethodClientSecretPost, AuthMethodNone:
	default:
		return metadataError("token_endpoint_auth_method", "%q is not supported; use %s, %s or %s (for a public client)",
			m.TokenEndpointAuthMethod, AuthMethodClientSecretBasic, AuthMethodClientSecretPost, AuthMethodNone)
	}
	return nil
}

func (m *Metadata) validateGrantTypes(ValidateOptions) *FieldError {
	if len(m.GrantTypes) == 0 {
		m.GrantTypes = []string{GrantAuthorizationCode}
	}
	for i, g := range m.GrantTypes {
		field := fmt.Sprintf("grant_types[%d]", i)
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
		default:
			return metadataError(field, "%q is not supported; use %s, %s or %s",
				g, GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials)
		}
		if slices.Index(m.GrantTypes, g) != i {
			return metadataError(field, "%q is listed twice; list it once", g)
		}
	}
	if m.hasGrant(GrantRefreshToken) && !m.hasGrant(GrantAuthorizationCode) {
		return metadataError("grant_types", "%s needs %s, because refresh tokens are issued only with an authorization code; add %s",
			GrantRefreshToken, GrantAuthorizationCode, GrantAuthorizationCode)
	}
	return nil
}

func (m *Metadata) hasGrant(g string) bool { return slices.Contains(m.GrantTypes, g) }

// validateResponseTypes ties response_types to the authorization_code
// grant, the only grant that uses the authorization endpoint.
func (m *Metadata) validateResponseTypes(ValidateOptions) *FieldError {
	if !m.hasGrant(GrantAuthorizationCode) {
		if len(m.ResponseTypes) > 0 {
			return metadataError("response_types", "must be empty without the %s grant; remove it or add %s to grant_types",
				GrantAuthorizationCode, GrantAuthorizationCode)
		}
		m.ResponseTypes = []string{}
		return nil
	}

	if len(m.ResponseTypes) == 0 {
		m.ResponseTypes = []string{ResponseTypeCode}
	}
	for i, rt := range m.ResponseTypes {
		field := fmt.Sprintf("response_types[%d]", i)
		if rt != ResponseTypeCode {
			return metadataError(field, "%q is not supported; use %q, the only response type idp supports", rt, ResponseTypeCode)
		}
		if i > 0 {
			return metadataError(field, "%q is listed twice; list it once", rt)
		}
	}
	return nil
}

func (m *Metadata) validateRedirectURIs(opts ValidateOptions) *FieldError {
	if !m.hasGrant(GrantAuthorizationCode) {
		if len(m.RedirectURIs) > 0 {
			return &FieldError{
				Field:   "redirect_uris",
				Code:    ErrorInvalidRedirectURI,
				Message: fmt.Sprintf("must be empty without the %s grant; remove them or add %s to grant_types", GrantAuthorizationCode, GrantAuthorizationCode),
			}
		}
		m.RedirectURIs = []string{}
		return nil
	}

	if len(m.RedirectURIs) == 0 {
		return &FieldError{
			Field:   "redirect_uris",
			Code:    ErrorInvalidRedirectURI,
			Message: fmt.Sprintf("is missing; the %s grant needs at least one redirect URI such as https://app.example.com/callback", GrantAuthorizationCode),
		}
	}
	for i, uri := range m.RedirectURIs {
		field := fmt.Sprintf("redirect_uris[%d]", i)
		if err := ValidateRedirectURI(uri, opts.AllowLocalhostHTTP); err != nil {
			return &FieldError{Field: field, Code: ErrorInvalidRedirectURI, Message: err.Error()}
		}
		if slices.Index(m.RedirectURIs, uri) != i {
			return &FieldError{Field: field, Code: ErrorInvalidRedirectURI, Message: fmt.Sprintf("%q is listed twice; list it once", uri)}
		}
	}
	return nil
}

// validateScope checks the space-separated scope and ties offline_access
// to the refresh_token grant. fosite v0.49 issues a refresh token only to
// a client with that grant and only when offline_access (or offline) is
// granted, so either one alone does nothing and hides a mistake.
func (m *Metadata) validateScope(opts ValidateOptions) *FieldError {
	scopes := splitScope(m.Scope)
	for _, s := range scopes {
		if r, ok := invalidScopeChar(s); ok {
			return metadataError("scope", "%q contains the character %q; scope names use printable ASCII without spaces, '\"' or '\\'", s, r)
		}
		if opts.KnownScope != nil && !opts.KnownScope(s) {
			return metadataError("scope", "%q is not a known scope; remove it or add it to the scope catalogue", s)
		}
	}
	for i, s := range scopes {
		if slices.Index(scopes, s) != i {
			return metadataError("scope", "%q is listed twice; list it once", s)
		}
	}

	offline := slices.Contains(scopes, ScopeOfflineAccess)
	refresh := m.hasGrant(GrantRefreshToken)
	if offline && !refresh {
		return metadataError("scope", "%s needs the %s grant, because refresh tokens are issued only with that grant; add %s to grant_types or remove %s",
			ScopeOfflineAccess, GrantRefreshToken, GrantRefreshToken, ScopeOfflineAccess)
	}
	if refresh && !offline {
		return metadataError("scope", "the %s grant needs the %s scope, because a refresh token is issued only when %s is granted; add %s to scope or remove %s from grant_types",
			GrantRefreshToken, ScopeOfflineAccess, ScopeOfflineAccess, ScopeOfflineAccess, GrantRefreshToken)
	}

	m.Scope = strings.Join(scopes, " ")
	return nil
}

// splitScope splits a space-separated scope value, ignoring extra
// spaces.
func splitScope(scope string) []string {
	var out []string
	for s := range strings.SplitSeq(scope, " ") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// invalidScopeChar returns the first character of s that RFC 6749
// section 3.3 does not allow in a scope token.
func invalidScopeChar(s string) (rune, bool) {
	for _, r := range s {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return r, true
		}
	}
	return 0, false
}

func (m *Metadata) validateIDTokenAlg(ValidateOptions) *FieldError {
	if m.IDTokenSignedResponseAlg == "" {
		m.IDTokenSignedResponseAlg = DefaultIDTokenSigningAlg
	}
	if !slices.Contains(IDTokenSigningAlgs, m.IDTokenSignedResponseAlg) {
		return metadataError("id_token_signed_response_alg", "%q is not supported; use one of %s",
			m.IDTokenSignedResponseAlg, strings.Join(IDTokenSigningAlgs, ", "))
	}
	return nil
}

func (m *Metadata) validatePKCE(ValidateOptions) *FieldError {
	switch m.PKCE {
	case "":
		m.PKCE = PKCERequired
	case PKCERequired, PKCEOptional:
	default:
		return metadataError("pkce", "%q is not supported; use %q (the default) or %q", m.PKCE, PKCERequired, PKCEOptional)
	}
	return nil
}

// validatePublicClient rejects what a client without a secret must not
// have: a grant that authenticates with nothing but the client itself, a
// way around PKCE, and access to other clients' tokens.
func (m *Metadata) validatePublicClient(ValidateOptions) *FieldError {
	if !m.IsPublic() {
		return nil
	}
	if m.hasGrant(GrantClientCredentials) {
		return metadataError("grant_types", "%s needs a client secret, but token_endpoint_auth_method is %q; remove %s or use %s",
			GrantClientCredentials, AuthMethodNone, GrantClientCredentials, AuthMethodClientSecretBasic)
	}
	if m.PKCE == PKCEOptional {
		return metadataError("pkce", "a public client (token_endpoint_auth_method %q) must use PKCE; set pkce to %q",
			AuthMethodNone, PKCERequired)
	}
	if m.ResourceServer {
		return metadataError("resource_server", "a public client (token_endpoint_auth_method %q) cannot introspect tokens; set it to false or use %s",
			AuthMethodNone, AuthMethodClientSecretBasic)
	}
	return nil
}

func (m *Metadata) validateCORSOrigins(opts ValidateOptions) *FieldError {
	for i, origin := range m.AllowedCORSOrigins {
		field := fmt.Sprintf("allowed_cors_origins[%d]", i)
		if err := validateOrigin(origin, opts.AllowLocalhostHTTP); err != nil {
			return metadataError(field, "%s", err.Error())
		}
		if slices.Index(m.AllowedCORSOrigins, origin) != i {
			return metadataError(field, "%q is listed twice; list it once", origin)
		}
	}
	if m.AllowedCORSOrigins == nil {
		m.AllowedCORSOrigins = []string{}
	}
	return nil
}

// FromRecord returns the metadata of a stored client. It never sets
// ClientSecret or ClientSecretExpiresAt, because only the hash is stored.
func FromRecord(c *storage.Client) Metadata {
	m := Metadata{
		ClientID:                 c.ID,
		ClientName:               c.Name,
		ClientURI:                c.URI,
		RedirectURIs:             cloneList(c.RedirectURIs),
		GrantTypes:               cloneList(c.GrantTypes),
		ResponseTypes:            cloneList(c.ResponseTypes),
		Scope:                    strings.Join(c.Scopes, " "),
		TokenEndpointAuthMethod:  c.TokenEndpointAuthMethod,
		IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg,
		PKCE:                     PKCERequired,
		ResourceServer:           c.ResourceServer,
		AllowedCORSOrigins:       cloneList(c.AllowedCORSOrigins),
		SecretDisabled:           c.SecretDisabled,
	}
	if !c.CreatedAt.IsZero() {
		m.ClientIDIssuedAt = c.CreatedAt.Unix()
	}
	if c.PKCEOptional {
		m.PKCE = PKCEOptional
	}
	return m
}

// ApplyTo copies the metadata onto a client record. It leaves the id,
// the secret hash, SecretDisabled and the timestamps alone. Call Validate
// first, because ApplyTo derives Public and PKCEOptional from the
// validated values.
func (m Metadata) ApplyTo(c *storage.Client) {
	c.Name = m.ClientName
	c.URI = m.ClientURI
	c.RedirectURIs = cloneList(m.RedirectURIs)
	c.GrantTypes = cloneList(m.GrantTypes)
	c.ResponseTypes = cloneList(m.ResponseTypes)
	c.Scopes = storage.StringList(splitScope(m.Scope))
	if c.Scopes == nil {
		c.Scopes = storage.StringList{}
	}
	c.AllowedCORSOrigins = cloneList(m.AllowedCORSOrigins)
	c.Public = m.IsPublic()
	c.TokenEndpointAuthMethod = m.TokenEndpointAuthMethod
	c.PKCEOptional = m.PKCE == PKCEOptional
	c.ResourceServer = m.ResourceServer
	c.IDTokenSignedResponseAlg = m.IDTokenSignedResponseAlg
}

// cloneList copies a list so that the record and the metadata never
// share a backing array. A nil list becomes an empty one, which encodes
// as [] in JSON.
func cloneList(list []string) []string {
	out := make([]string, len(list))
	copy(out, list)
	return out
}
