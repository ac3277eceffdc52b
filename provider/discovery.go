package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// serverMetadata is the OpenID Connect Discovery 1.0 document, which
// also serves as RFC 8414 authorization server metadata. It lists only
// what idp implements.
type serverMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint,omitempty"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported,omitempty"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported,omitempty"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                            []string `json:"claims_supported,omitempty"`
	PromptValuesSupported                      []string `json:"prompt_values_supported,omitempty"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

func (p *Provider) serverMetadata(oidc bool) serverMetadata {
	base := strings.TrimSuffix(p.cfg.Issuer, "/")
	m := serverMetadata{
		Issuer:                                    p.cfg.Issuer,
		AuthorizationEndpoint:                     base + "/oauth2/authorize",
		TokenEndpoint:                             base + TokenPath,
		JWKSURI:                                   base + JWKSPath,
		RevocationEndpoint:                        base + RevokePath,
		IntrospectionEndpoint:                     base + IntrospectPath,
		ScopesSupported:                           p.cfg.Catalog.Names(),
		ResponseTypesSupported:                    []string{"code"},
		ResponseModesSupported:                    []string{"query"},
		GrantTypesSupported:                       []string{"authorization_code", "refresh_token", "client_credentials"},
		TokenEndpointAuthMethodsSupported:         []string{"client_secret_basic", "client_secret_post", "none"},
		RevocationEndpointAuthMethodsSupported:    []string{"client_secret_basic", "client_secret_post", "none"},
		IntrospectionEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		CodeChallengeMethodsSupported:             []string{"S256"},
		// request_uri_parameter_supported defaults to true when absent,
		// so false is sent explicitly.
		RequestParameterSupported:                  false,
		RequestURIParameterSupported:               false,
		AuthorizationResponseIssParameterSupported: true,
	}
	if oidc {
		m.UserinfoEndpoint = base + UserinfoPath
		m.SubjectTypesSupported = []string{"public"}
		m.IDTokenSigningAlgValuesSupported = slices.Clone(SigningAlgorithms)
		m.ClaimsSupported = p.cfg.Catalog.ClaimsSupported()
		m.PromptValuesSupported = []string{"none", "login", "consent"}
	}
	return m
}

// discovery serves /.well-known/openid-configuration.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeCacheable(w, p.serverMetadata(true), p.cfg.JWKSCacheLifetime)
}

// metadata serves /.well-known/oauth-authorization-server (RFC 8414).
func (p *Provider) metadata(w http.ResponseWriter, r *http.Request) {
	writeCacheable(w, p.serverMetadata(false), p.cfg.JWKSCacheLifetime)
}

// jwks serves the public signing keys: the current key, the next one
// announced by a rotation, and retiring keys whose ID tokens may still
// be valid. Its max-age is the cache lifetime that rotation waits for.
func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := p.cfg.Keys.Published(r.Context())
	if err != nil {
		p.cfg.Logger.ErrorContext(r.Context(), "load published keys failed", "err", err)
		p.writeUnavailable(w)
		return
	}
	writeCacheable(w, set, p.cfg.JWKSCacheLifetime)
}

func writeCacheable(w http.ResponseWriter, v any, maxAge time.Duration) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds())))
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}
