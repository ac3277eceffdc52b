package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/provider"
)

func TestCORS(t *testing.T) {
	p := newTestProvider(t)
	md := p.createClient(clients.Metadata{
		ClientName: "Single-page app", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{},
		Scope: "profile", AllowedCORSOrigins: []string{"https://spa.example.com"},
	})

	send := func(method, path, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, p.issuer+path, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", "POST")
		} else {
			req.SetBasicAuth(md.ClientID, md.ClientSecret)
		}
		resp, err := p.server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	tests := []struct {
		name, method, path, origin string
		wantAllowed                bool
	}{
		{"preflight from listed origin", http.MethodOptions, provider.TokenPath, "https://spa.example.com", true},
		{"preflight from other origin", http.MethodOptions, provider.TokenPath, "https://evil.example.com", false},
		{"preflight from prefix origin", http.MethodOptions, provider.TokenPath, "https://spa.example.com.evil.example", false},
		{"token from listed origin", http.MethodPost, provider.TokenPath, "https://spa.example.com", true},
		{"token from other origin", http.MethodPost, provider.TokenPath, "https://evil.example.com", false},
		{"token from trailing slash origin", http.MethodPost, provider.TokenPath, "https://spa.example.com/", false},
		{"introspection never", http.MethodPost, provider.IntrospectPath, "https://spa.example.com", false},
		{"discovery never", http.MethodGet, provider.DiscoveryPath, "https://spa.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := send(tt.method, tt.path, tt.origin)
			got := resp.Header.Get("Access-Control-Allow-Origin")
			if tt.wantAllowed && got != tt.origin {
				t.Errorf("Access-Control-Allow-Origin: got %q, want %q", got, tt.origin)
			}
			if !tt.wantAllowed && got != "" {
				t.Errorf("Access-Control-Allow-Origin: got %q, want none", got)
			}
			if c := resp.Header.Get("Access-Control-Allow-Credentials"); c != "" {
				t.Errorf("Access-Control-Allow-Credentials: got %q, want none", c)
			}
		})
	}
}
