package clients

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idp/idp/storage"
)

func TestMetadataValidateDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Metadata
		opts ValidateOptions
		want Metadata
	}{
		{
			name: "minimal web app",
			in: Metadata{
				ClientName:   "Web App",
				RedirectURIs: []string{"https://app.example.com/cb"},
				Scope:        "openid profile",
			},
			want: Metadata{
				ClientName:               "Web App",
				RedirectURIs:             []string{"https://app.example.com/cb"},
				GrantTypes:               []string{"authorization_code"},
				ResponseTypes:            []string{"code"},
				Scope:                    "openid profile",
				TokenEndpointAuthMethod:  "client_secret_basic",
				IDTokenSignedResponseAlg: "RS256",
				PKCE:                     "required",
				AllowedCORSOrigins:       []string{},
			},
		},
		{
			name: "service without redirect URIs",
			in: Metadata{
				ClientName: "Batch job",
				GrantTypes: []string{"client_credentials"},
			},
			want: Metadata{
				ClientName:               "Batch job",
				RedirectURIs:             []string{},
				GrantTypes:               []string{"client_credentials"},
				ResponseTypes:            []string{},
				TokenEndpointAuthMethod:  "client_secret_basic",
				IDTokenSignedResponseAlg: "RS256",
				PKCE:                     "required",
				AllowedCORSOrigins:       []string{},
			},
		},
		{
			name: "native app with refresh tokens",
			in: Metadata{
				ClientName:              "  Phone app  ",
				RedirectURIs:            []string{"com.example.app:/cb", "http://127.0.0.1/cb"},
				GrantTypes:              []string{"authorization_code", "refresh_token"},
				Scope:                   "  openid   offline_access ",
				TokenEndpointAuthMethod: "none",
				AllowedCORSOrigins:      []string{"https://app.example.com", "http://[::1]:8080"},
			},
			want: Metadata{
				ClientName:               "Phone app",
				RedirectURIs:             []string{"com.example.app:/cb", "http://127.0.0.1/cb"},
				GrantTypes:               []string{"authorization_code", "refresh_token"},
				ResponseTypes:            []string{"code"},
				Scope:                    "openid offline_access",
				TokenEndpointAuthMethod:  "none",
				IDTokenSignedResponseAlg: "RS256",
				PKCE:                     "required",
				AllowedCORSOrigins:       []string{"https://app.example.com", "http://[::1]:8080"},
			},
		},
		{
			name: "confidential with every option",
			in: Metadata{
				ClientName:               "API gateway",
				ClientURI:                "https://gateway.example.com/about",
				RedirectURIs:             []string{"http://localhost:3000/cb"},
				GrantTypes:               []string{"client_credentials", "authorization_code"},
				ResponseTypes:            []string{"code"},
				Scope:                    "openid",
				TokenEndpointAuthMethod:  "client_secret_post",
				IDTokenSignedResponseAlg: "RS256",
				PKCE:                     "optional",
				ResourceServer:           true,
				AllowedCORSOrigins:       []string{"http://localhost:3000"},
			},
			opts: ValidateOptions{AllowLocalhostHTTP: true},
			want: Metadata{
				ClientName:               "API gateway",
				ClientURI:                "https://gateway.example.com/about",
				RedirectURIs:             []string{"http://localhost:3000/cb"},
				GrantTypes:               []string{"client_credentials", "authorization_code"},
				ResponseTypes:            []string{"code"},
				Scope:                    "openid",
				TokenEndpointAuthMethod:  "client_secret_post",
				IDTokenSignedResponseAlg: "RS256",
				PKCE:                     "optional",
				ResourceServer:           true,
				AllowedCORSOrigins:       []string{"http://localhost:3000"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			if err := got.Validate(tt.opts); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate result mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// validMetadata returns metadata that passes Validate; tests change one
// field at a time.
func validMetadata() Metadata {
	return Metadata{
		ClientName:   "Example",
		RedirectURIs: []string{"https://app.example.com/cb"},
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		Scope:        "openid offline_access",
	}
}

func TestMetadataValidateErrors(t *testing.T) {
	known := map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}
	knownScope := func(s string) bool { return known[s] }

	tests := []struct {
		name      string
		change    func(m *Metadata)
		localhost bool
		wantField string
		wantCode  string
		// wantMessage is a substring of the expected message.
		wantMessage string
	}{
		{name: "name missing", change: func(m *Metadata) { m.ClientName = "" }, wantField: "client_name", wantMessage: "is missing"},
		{name: "name blank", change: func(m *Metadata) { m.ClientName = "   " }, wantField: "client_name", wantMessage: "is missing"},
		{name: "name too long", change: func(m *Metadata) { m.ClientName = strings.Repeat("é", 201) }, wantField: "client_name", wantMessage: "at most 200"},
		{name: "name control character", change: func(m *Metadata) { m.ClientName = "a\x00b" }, wantField: "client_name", wantMessage: "control character"},
		{name: "name newline", change: func(m *Metadata) { m.ClientName = "a\nb" }, wantField: "client_name", wantMessage: "control character"},
		{name: "name right-to-left override", change: func(m *Metadata) { m.ClientName = "Bank \u202eelgooG" }, wantField: "client_name", wantMessage: "U+202E"},
		{name: "name zero-width space only", change: func(m *Metadata) { m.ClientName = "\u200b" }, wantField: "client_name", wantMessage: "U+200B"},
		{name: "name soft hyphen", change: func(m *Metadata) { m.ClientName = "Ap\u00adp" }, wantField: "client_name", wantMessage: "format character"},
		{name: "name invalid UTF-8", change: func(m *Metadata) { m.ClientName = "a\xffb" }, wantField: "client_name", wantMessage: "UTF-8"},
		{name: "client_uri http", change: func(m *Metadata) { m.ClientURI = "http://app.example.com" }, wantField: "client_uri", wantMessage: "not an https URL"},
		{name: "client_uri relative", change: func(m *Metadata) { m.ClientURI = "/about" }, wantField: "client_uri", wantMessage: "not an https URL"},
		{name: "client_uri javascript", change: func(m *Metadata) { m.ClientURI = "javascript:alert(1)" }, wantField: "client_uri", wantMessage: "not an https URL"},
		{name: "client_uri userinfo", change: func(m *Metadata) { m.ClientURI = "https://u@app.example.com" }, wantField: "client_uri", wantMessage: "userinfo"},
		{name: "client_uri too long", change: func(m *Metadata) { m.ClientURI = "https://a.example/" + strings.Repeat("a", 2000) }, wantField: "client_uri", wantMessage: "at most 2000"},
		{name: "auth method unknown", change: func(m *Metadata) { m.TokenEndpointAuthMethod = "private_key_jwt" }, wantField: "token_endpoint_auth_method", wantMessage: "not supported"},
		{name: "grant unknown", change: func(m *Metadata) { m.GrantTypes = []string{"authorization_code", "implicit"} }, wantField: "grant_types[1]", wantMessage: `"implicit" is not supported`},
		{name: "grant password", change: func(m *Metadata) { m.GrantTypes = []string{"password"} }, wantField: "grant_types[0]", wantMessage: "not supported"},
		{name: "grant empty string", change: func(m *Metadata) { m.GrantTypes = []string{""} }, wantField: "grant_types[0]", wantMessage: "not supported"},
		{name: "grant duplicate", change: func(m *Metadata) {
			m.GrantTypes = []string{"authorization_code", "refresh_token", "authorization_code"}
		}, wantField: "grant_types[2]", wantMessage: "listed twice"},
		{name: "refresh without code", change: func(m *Metadata) {
			m.GrantTypes = []string{"refresh_token", "client_credentials"}
			m.RedirectURIs = nil
		}, wantField: "grant_types", wantMessage: "needs authorization_code"},
		{name: "response type token", change: func(m *Metadata) { m.ResponseTypes = []string{"token"} }, wantField: "response_types[0]", wantMessage: `"token" is not supported`},
		{name: "response type hybrid", change: func(m *Metadata) { m.ResponseTypes = []string{"code id_token"} }, wantField: "response_types[0]", wantMessage: "not supported"},
		{name: "response type duplicate", change: func(m *Metadata) { m.ResponseTypes = []string{"code", "code"} }, wantField: "response_types[1]", wantMessage: "listed twice"},
		{name: "response type without code grant", change: func(m *Metadata) {
			m.GrantTypes = []string{"client_credentials"}
			m.RedirectURIs = nil
			m.Scope = ""
			m.ResponseTypes = []string{"code"}
		}, wantField: "response_types", wantMessage: "must be empty"},
		{name: "redirect URIs missing", change: func(m *Metadata) { m.RedirectURIs = nil }, wantField: "redirect_uris", wantCode: ErrorInvalidRedirectURI, wantMessage: "is missing"},
		{name: "redirect URIs without code grant", change: func(m *Metadata) {
			m.GrantTypes = []string{"client_credentials"}
			m.Scope = ""
		}, wantField: "redirect_uris", wantCode: ErrorInvalidRedirectURI, wantMessage: "must be empty"},
		{name: "redirect URI invalid", change: func(m *Metadata) {
			m.RedirectURIs = []string{"https://app.example.com/cb", "http://app.example.com/cb"}
		}, wantField: "redirect_uris[1]", wantCode: ErrorInvalidRedirectURI, wantMessage: `"http://app.example.com/cb" uses http`},
		{name: "redirect URI localhost without dev mode", change: func(m *Metadata) {
			m.RedirectURIs = []string{"http://localhost/cb"}
		}, wantField: "redirect_uris[0]", wantCode: ErrorInvalidRedirectURI, wantMessage: "dev mode"},
		{name: "redirect URI duplicate", change: func(m *Metadata) {
			m.RedirectURIs = []string{"https://app.example.com/cb", "https://app.example.com/cb"}
		}, wantField: "redirect_uris[1]", wantCode: ErrorInvalidRedirectURI, wantMessage: "listed twice"},
		{name: "scope unknown", change: func(m *Metadata) { m.Scope = "openid offline_access admin" }, wantField: "scope", wantMessage: `"admin" is not a known scope`},
		{name: "scope duplicate", change: func(m *Metadata) { m.Scope = "openid offline_access openid" }, wantField: "scope", wantMessage: `"openid" is listed twice`},
		{name: "scope tab", change: func(m *Metadata) { m.Scope = "openid\toffline_access" }, wantField: "scope", wantMessage: "printable ASCII"},
		{name: "scope quote", change: func(m *Metadata) { m.Scope = `openid offline_access "x"` }, wantField: "scope", wantMessage: "printable ASCII"},
		{name: "offline_access without refresh grant", change: func(m *Metadata) {
			m.GrantTypes = []string{"authorization_code"}
		}, wantField: "scope", wantMessage: "add refresh_token to grant_types"},
		{name: "refresh grant without offline_access", change: func(m *Metadata) { m.Scope = "openid" }, wantField: "scope", wantMessage: "a refresh token is issued only when offline_access is granted"},
		{name: "id token alg none", change: func(m *Metadata) { m.IDTokenSignedResponseAlg = "none" }, wantField: "id_token_signed_response_alg", wantMessage: "use one of RS256"},
		{name: "id token alg HS256", change: func(m *Metadata) { m.IDTokenSignedResponseAlg = "HS256" }, wantField: "id_token_signed_response_alg", wantMessage: "not supported"},
		{name: "pkce unknown", change: func(m *Metadata) { m.PKCE = "off" }, wantField: "pkce", wantMessage: `"off" is not supported`},
		{name: "public with client_credentials", change: func(m *Metadata) {
			m.TokenEndpointAuthMethod = "none"
			m.GrantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}
		}, wantField: "grant_types", wantMessage: "client_credentials needs a client secret"},
		{name: "public with pkce optional", change: func(m *Metadata) {
			m.TokenEndpointAuthMethod = "none"
			m.PKCE = "optional"
		}, wantField: "pkce", wantMessage: "must use PKCE"},
		{name: "public resource server", change: func(m *Metadata) {
			m.TokenEndpointAuthMethod = "none"
			m.ResourceServer = true
		}, wantField: "resource_server", wantMessage: "cannot introspect"},
		{name: "origin with path", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://app.example.com/cb"} }, wantField: "allowed_cors_origins[0]", wantMessage: "not an origin"},
		{name: "origin trailing slash", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://app.example.com/"} }, wantField: "allowed_cors_origins[0]", wantMessage: "trailing '/'"},
		{name: "origin wildcard", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"*"} }, wantField: "allowed_cors_origins[0]", wantMessage: "wildcards"},
		{name: "origin wildcard subdomain", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://*.example.com"} }, wantField: "allowed_cors_origins[0]", wantMessage: "wildcards"},
		{name: "origin null", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"null"} }, wantField: "allowed_cors_origins[0]", wantMessage: "not an origin"},
		{name: "origin empty", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{""} }, wantField: "allowed_cors_origins[0]", wantMessage: "is empty"},
		{name: "origin http public", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"http://app.example.com"} }, wantField: "allowed_cors_origins[0]", wantMessage: "use https"},
		{name: "origin http localhost without dev mode", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"http://localhost:3000"} }, wantField: "allowed_cors_origins[0]", wantMessage: "use https"},
		{name: "origin default port", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://app.example.com:443"} }, wantField: "allowed_cors_origins[0]", wantMessage: "default port 443"},
		{name: "origin invalid port", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://app.example.com:99999"} }, wantField: "allowed_cors_origins[0]", wantMessage: "invalid port"},
		{name: "origin upper case", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://App.example.com"} }, wantField: "allowed_cors_origins[0]", wantMessage: "lower case"},
		{name: "origin query", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://app.example.com?x"} }, wantField: "allowed_cors_origins[0]", wantMessage: "not an origin"},
		{name: "origin userinfo", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"https://u@app.example.com"} }, wantField: "allowed_cors_origins[0]", wantMessage: "not an origin"},
		{name: "origin other scheme", change: func(m *Metadata) { m.AllowedCORSOrigins = []string{"chrome-extension://abc"} }, wantField: "allowed_cors_origins[0]", wantMessage: "use https"},
		{name: "origin duplicate", change: func(m *Metadata) {
			m.AllowedCORSOrigins = []string{"https://a.example.com", "https://a.example.com"}
		}, wantField: "allowed_cors_origins[1]", wantMessage: "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMetadata()
			tt.change(&m)
			err := m.Validate(ValidateOptions{AllowLocalhostHTTP: tt.localhost, KnownScope: knownScope})
			if err == nil {
				t.Fatalf("Validate = nil, want an error on %s", tt.wantField)
			}
			var fieldErr *FieldError
			if !errors.As(err, &fieldErr) {
				t.Fatalf("Validate error %T (%v) is not a *FieldError", err, err)
			}
			if fieldErr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (error %q)", fieldErr.Field, tt.wantField, err)
			}
			wantCode := tt.wantCode
			if wantCode == "" {
				wantCode = ErrorInvalidClientMetadata
			}
			if fieldErr.Code != wantCode {
				t.Errorf("Code = %q, want %q", fieldErr.Code, wantCode)
			}
			if !strings.Contains(fieldErr.Message, tt.wantMessage) {
				t.Errorf("Message = %q, want it to contain %q", fieldErr.Message, tt.wantMessage)
			}
			if want := fieldErr.Field + ": " + fieldErr.Message; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestMetadataValidateAcceptsBaseline(t *testing.T) {
	m := validMetadata()
	if err := m.Validate(ValidateOptions{}); err != nil {
		t.Fatalf("Validate of the baseline used by the error tests: %v", err)
	}
}

func TestIDTokenSigningAlgsVariable(t *testing.T) {
	saved := IDTokenSigningAlgs
	t.Cleanup(func() { IDTokenSigningAlgs = saved })

	m := validMetadata()
	m.IDTokenSignedResponseAlg = "PS256"
	if err := m.Validate(ValidateOptions{}); err == nil {
		t.Fatal("Validate accepted PS256 before it was allowed")
	}

	IDTokenSigningAlgs = append([]string{}, saved...)
	IDTokenSigningAlgs = append(IDTokenSigningAlgs, "PS256")
	m = validMetadata()
	m.IDTokenSignedResponseAlg = "PS256"
	if err := m.Validate(ValidateOptions{}); err != nil {
		t.Fatalf("Validate rejected PS256 after it was allowed: %v", err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	created := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		metadata   Metadata
		wantRecord storage.Client
	}{
		{
			name: "public native app",
			metadata: Metadata{
				ClientName:               "Phone",
				RedirectURIs:             []string{"com.example.app:/cb"},
				GrantTypes:               []string{"authorization_code", "refresh_token"},
				ResponseTypes:            []string{"code"},
				Scope:                    "openid offline_access",
				TokenEndpointAuthMethod:  "none",
				IDTokenSignedResponseAlg: "RS256",
				PKCE:                     "required",
				AllowedCORSOrigins:       []string{},
			},
			wantRecord: storage.Client{
				ID:                       "id-1",
				Name:                     "Phone",
				SecretHash:               "kept",
				RedirectURIs:             storage.StringList{"com.example.app:/cb"},
				GrantTypes:               storage.StringList{"authorization_code", "refresh_token"},
				ResponseTypes:            storage.StringList{"code"},
				Scopes:                   storage.StringList{"openid", "offline_access"},
				AllowedCORSOrigins:       storage.StringList{},
				Public:                   true,
				TokenEndpointAuthMethod:  "none",
				IDTokenSignedResponseAlg: "RS256",
				CreatedAt:                created,
			},
		},
		{
			name: "confidential service",
			metadata: Metadata{
				ClientName:               "Service",
				ClientURI:                "https://svc.example.com",
				RedirectURIs:             []string{},
				GrantTypes:               []string{"client_credentials"},
				ResponseTypes:            []string{},
				Scope:                    "",
				TokenEndpointAuthMethod:  "client_secret_post",
				IDTokenSignedResponseAlg: "RS256",
				PKCE:                     "optional",
				ResourceServer:           true,
				AllowedCORSOrigins:       []string{"https://svc.example.com"},
			},
			wantRecord: storage.Client{
				ID:                       "id-1",
				Name:                     "Service",
				URI:                      "https://svc.example.com",
				SecretHash:               "kept",
				RedirectURIs:             storage.StringList{},
				GrantTypes:               storage.StringList{"client_credentials"},
				ResponseTypes:            storage.StringList{},
				Scopes:                   storage.StringList{},
				AllowedCORSOrigins:       storage.StringList{"https://svc.example.com"},
				TokenEndpointAuthMethod:  "client_secret_post",
				PKCEOptional:             true,
				ResourceServer:           true,
				IDTokenSignedResponseAlg: "RS256",
				CreatedAt:                created,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			record := storage.Client{ID: "id-1", SecretHash: "kept", CreatedAt: created}
			tt.metadata.ApplyTo(&record)
			if diff := cmp.Diff(tt.wantRecord, record); diff != "" {
				t.Errorf("ApplyTo record mismatch (-want +got):\n%s", diff)
			}

			want := tt.metadata
			want.ClientID = "id-1"
			want.ClientIDIssuedAt = created.Unix()
			if diff := cmp.Diff(want, FromRecord(&record)); diff != "" {
				t.Errorf("FromRecord mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyToCopiesLists(t *testing.T) {
	m := validMetadata()
	if err := m.Validate(ValidateOptions{}); err != nil {
		t.Fatal(err)
	}
	var record storage.Client
	m.ApplyTo(&record)

	m.RedirectURIs[0] = "https://changed.example.com/cb"
	if record.RedirectURIs[0] != "https://app.example.com/cb" {
		t.Errorf("record shares its redirect URIs with the metadata: %q", record.RedirectURIs[0])
	}
	back := FromRecord(&record)
	back.GrantTypes[0] = "changed"
	if record.GrantTypes[0] != "authorization_code" {
		t.Errorf("metadata shares its grant types with the record: %q", record.GrantTypes[0])
	}
}
