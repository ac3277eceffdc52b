package clients

import (
	"strings"
	"testing"
)

func TestValidateRedirectURI(t *testing.T) {
	tests := []struct {
		name      string
		uri       string
		localhost bool
		// wantErr is a substring of the expected error, or "" for none.
		wantErr string
	}{
		{name: "https with path", uri: "https://app.example.com/callback"},
		{name: "https without path", uri: "https://app.example.com"},
		{name: "https trailing slash", uri: "https://app.example.com/"},
		{name: "https with port", uri: "https://app.example.com:8443/cb"},
		{name: "https with query", uri: "https://app.example.com/cb?tenant=a&x=1"},
		{name: "https percent-encoded path", uri: "https://app.example.com/a%20b/%C3%A9"},
		{name: "https percent-encoded at sign", uri: "https://app.example.com/user%40home"},
		{name: "https IPv6 host", uri: "https://[2001:db8::1]/cb"},
		{name: "https loopback", uri: "https://127.0.0.1/cb"},
		{name: "http 127.0.0.1", uri: "http://127.0.0.1/callback"},
		{name: "http 127.0.0.1 with port", uri: "http://127.0.0.1:8080/callback"},
		{name: "http ::1", uri: "http://[::1]/callback"},
		{name: "http ::1 with port", uri: "http://[::1]:51004/callback"},
		{name: "http 127.0.0.1 without path", uri: "http://127.0.0.1"},
		{name: "private-use scheme", uri: "com.example.app:/oauth2redirect"},
		{name: "private-use scheme with host", uri: "com.example.app://callback"},
		{name: "private-use scheme opaque", uri: "com.example.app:callback"},
		{name: "localhost in dev mode", uri: "http://localhost:3000/cb", localhost: true},
		{name: "localhost without port in dev mode", uri: "http://localhost/cb", localhost: true},

		{name: "empty", uri: "", wantErr: "is empty"},
		{name: "relative path", uri: "/callback", wantErr: "relative URI"},
		{name: "scheme-relative", uri: "//app.example.com/cb", wantErr: "relative URI"},
		{name: "host only", uri: "app.example.com/cb", wantErr: "relative URI"},
		{name: "wildcard host", uri: "https://*.example.com/cb", wantErr: "wildcards are not supported"},
		{name: "wildcard path", uri: "https://app.example.com/*", wantErr: "wildcards are not supported"},
		{name: "fragment", uri: "https://app.example.com/cb#frag", wantErr: "fragment"},
		{name: "empty fragment", uri: "https://app.example.com/cb#", wantErr: "fragment"},
		{name: "userinfo", uri: "https://user@app.example.com/cb", wantErr: "'@'"},
		{name: "userinfo with password", uri: "https://user:pw@app.example.com/cb", wantErr: "'@'"},
		{name: "at sign in path", uri: "https://app.example.com/a@b", wantErr: "'@'"},
		{name: "loopback userinfo trick", uri: "http://127.0.0.1:80@evil.example/cb", wantErr: "'@'"},
		{name: "https without host", uri: "https:///cb", wantErr: "no host"},
		{name: "https opaque", uri: "https:app.example.com/cb", wantErr: "no host"},
		{name: "https empty port", uri: "https://app.example.com:/cb", wantErr: "empty port"},
		{name: "https default port", uri: "https://app.example.com:443/cb", wantErr: "default port 443"},
		{name: "https port zero", uri: "https://app.example.com:0/cb", wantErr: "invalid port"},
		{name: "https port too large", uri: "https://app.example.com:65536/cb", wantErr: "invalid port"},
		{name: "https port leading zero", uri: "https://app.example.com:08443/cb", wantErr: "invalid port"},
		{name: "upper-case scheme", uri: "HTTPS://app.example.com/cb", wantErr: "upper-case scheme"},
		{name: "mixed-case scheme", uri: "Https://app.example.com/cb", wantErr: "upper-case scheme"},
		{name: "upper-case host", uri: "https://App.Example.com/cb", wantErr: "upper-case host"},
		{name: "upper-case path allowed", uri: "https://app.example.com/CallBack"},
		{name: "javascript scheme", uri: "javascript:alert(1)", wantErr: "javascript: scheme"},
		{name: "data scheme", uri: "data:text/html,hi", wantErr: "data: scheme"},
		{name: "file scheme", uri: "file:///etc/passwd", wantErr: "file: scheme"},
		{name: "ftp scheme", uri: "ftp://app.example.com/cb", wantErr: `scheme "ftp"`},
		{name: "custom scheme without dot", uri: "myapp:/callback", wantErr: `scheme "myapp"`},
		{name: "private-use empty label", uri: "com..app:/cb", wantErr: "empty label"},
		{name: "private-use trailing dot", uri: "com.example.:/cb", wantErr: "empty label"},
		{name: "private-use nothing after scheme", uri: "com.example.app:", wantErr: "nothing after the scheme"},
		{name: "private-use upper-case", uri: "Com.Example.App:/cb", wantErr: "upper-case scheme"},
		{name: "space", uri: "https://app.example.com/a b", wantErr: "space, control or non-ASCII"},
		{name: "newline", uri: "https://app.example.com/cb\n", wantErr: "space, control or non-ASCII"},
		{name: "non-ASCII host", uri: "https://bücher.example/cb", wantErr: "non-ASCII"},
		{name: "backslash", uri: `https://app.example.com\@evil.example/`, wantErr: "backslash"},
		{name: "bad percent escape in path", uri: "https://app.example.com/%zz", wantErr: "percent escape"},
		{name: "bad percent escape in query", uri: "https://app.example.com/cb?a=%2", wantErr: "percent escape"},
		{name: "dot segment", uri: "https://app.example.com/a/../cb", wantErr: "dot segment"},
		{name: "single dot segment", uri: "https://app.example.com/./cb", wantErr: "dot segment"},
		{name: "encoded dot segment", uri: "https://app.example.com/a/%2E%2e/cb", wantErr: "dot segment"},
		{name: "half-encoded dot segment", uri: "https://app.example.com/a/.%2e/cb", wantErr: "dot segment"},
		{name: "encoded dot in name allowed", uri: "https://app.example.com/a%2Eb/cb"},
		{name: "trailing dot segment", uri: "https://app.example.com/cb/..", wantErr: "dot segment"},
		{name: "empty query", uri: "https://app.example.com/cb?", wantErr: "empty query"},
		{name: "too long", uri: "https://app.example.com/" + strings.Repeat("a", MaxRedirectURILength), wantErr: "too long"},

		{name: "http public host", uri: "http://app.example.com/cb", wantErr: "host other than 127.0.0.1"},
		{name: "http localhost without dev mode", uri: "http://localhost:3000/cb", wantErr: "allowed only in dev mode"},
		{name: "http upper-case localhost in dev mode", uri: "http://LOCALHOST/cb", localhost: true, wantErr: "upper-case host"},
		{name: "http 127.0.0.2", uri: "http://127.0.0.2/cb", wantErr: "host other than 127.0.0.1"},
		{name: "http 0.0.0.0", uri: "http://0.0.0.0/cb", wantErr: "host other than 127.0.0.1"},
		{name: "http IPv4-mapped loopback", uri: "http://[::ffff:127.0.0.1]/cb", wantErr: "host other than 127.0.0.1"},
		{name: "http long-form ::1", uri: "http://[0:0:0:0:0:0:0:1]/cb", wantErr: "host other than 127.0.0.1"},
		{name: "http bracketed IPv4", uri: "http://[127.0.0.1]/cb", wantErr: "not a valid URI"},
		{name: "http unbracketed ::1", uri: "http://::1/cb", wantErr: "not a valid URI"},
		{name: "http loopback with zone", uri: "http://[::1%25lo]/cb", wantErr: "host other than 127.0.0.1"},
		{name: "http 127.1 shorthand", uri: "http://127.1/cb", wantErr: "host other than 127.0.0.1"},
		{name: "http loopback lookalike domain", uri: "http://127.0.0.1.example.com/cb", wantErr: "host other than 127.0.0.1"},
		{name: "http loopback default port", uri: "http://127.0.0.1:80/cb", wantErr: "default port 80"},
		{name: "http loopback empty port", uri: "http://127.0.0.1:/cb", wantErr: "empty port"},
		{name: "http without host", uri: "http:///cb", wantErr: "host other than 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateRedirectURI(tt.uri, tt.localhost)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateRedirectURI(%q) = %v, want nil", tt.uri, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateRedirectURI(%q) = nil, want error containing %q", tt.uri, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ValidateRedirectURI(%q) = %q, want it to contain %q", tt.uri, err, tt.wantErr)
			}
		})
	}
}

func TestValidateRedirectURIErrorNamesValue(t *testing.T) {
	const uri = "https://app.example.com/cb#x"
	err := ValidateRedirectURI(uri, false)
	if err == nil {
		t.Fatal("ValidateRedirectURI returned nil for a URI with a fragment")
	}
	if !strings.Contains(err.Error(), `"`+uri+`"`) {
		t.Errorf("error %q does not quote the URI %q", err, uri)
	}
}

func TestCheckRawRedirectURI(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr string
	}{
		{name: "plain https", raw: "https://app.example.com/cb?x=1"},
		{name: "loopback with port", raw: "http://127.0.0.1:5000/cb"},
		{name: "empty", raw: ""},
		{name: "percent-encoded at sign", raw: "https://app.example.com/a%40b"},
		{name: "userinfo", raw: "http://127.0.0.1:1@evil.example/cb", wantErr: "'@'"},
		{name: "at sign in query", raw: "https://app.example.com/cb?u=a@b", wantErr: "'@'"},
		{name: "fragment", raw: "https://app.example.com/cb#x", wantErr: "'#'"},
		{name: "empty fragment", raw: "https://app.example.com/cb#", wantErr: "'#'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRawRedirectURI(tt.raw)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckRawRedirectURI(%q) = %v, want nil", tt.raw, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckRawRedirectURI(%q) = nil, want error containing %q", tt.raw, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckRawRedirectURI(%q) = %q, want it to contain %q", tt.raw, err, tt.wantErr)
			}
		})
	}
}

func TestMatchRedirectURI(t *testing.T) {
	tests := []struct {
		name       string
		requested  string
		registered []string
		want       bool
	}{
		{name: "exact https", requested: "https://app.example.com/cb", registered: []string{"https://app.example.com/cb"}, want: true},
		{name: "second of several", requested: "https://b.example.com/cb", registered: []string{"https://a.example.com/cb", "https://b.example.com/cb"}, want: true},
		{name: "none registered", requested: "https://app.example.com/cb", registered: nil},
		{name: "empty request", requested: "", registered: []string{""}},
		{name: "upper-case scheme", requested: "HTTPS://app.example.com/cb", registered: []string{"https://app.example.com/cb"}},
		{name: "upper-case host", requested: "https://APP.example.com/cb", registered: []string{"https://app.example.com/cb"}},
		{name: "upper-case path", requested: "https://app.example.com/CB", registered: []string{"https://app.example.com/cb"}},
		{name: "extra trailing slash", requested: "https://app.example.com/cb/", registered: []string{"https://app.example.com/cb"}},
		{name: "missing trailing slash", requested: "https://app.example.com", registered: []string{"https://app.example.com/"}},
		{name: "explicit default port", requested: "https://app.example.com:443/cb", registered: []string{"https://app.example.com/cb"}},
		{name: "dropped default port", requested: "https://app.example.com/cb", registered: []string{"https://app.example.com:443/cb"}},
		{name: "other https port", requested: "https://app.example.com:8443/cb", registered: []string{"https://app.example.com/cb"}},
		{name: "fragment added", requested: "https://app.example.com/cb#x", registered: []string{"https://app.example.com/cb"}},
		{name: "userinfo added", requested: "https://user@app.example.com/cb", registered: []string{"https://app.example.com/cb"}},
		{name: "query added", requested: "https://app.example.com/cb?x=1", registered: []string{"https://app.example.com/cb"}},
		{name: "query differs", requested: "https://app.example.com/cb?x=2", registered: []string{"https://app.example.com/cb?x=1"}},
		{name: "query order differs", requested: "https://app.example.com/cb?b=2&a=1", registered: []string{"https://app.example.com/cb?a=1&b=2"}},
		{name: "percent-encoded vs plain", requested: "https://app.example.com/%63b", registered: []string{"https://app.example.com/cb"}},
		{name: "percent-encoded slash", requested: "https://app.example.com/a%2Fb", registered: []string{"https://app.example.com/a/b"}},
		{name: "percent-encoding case", requested: "https://app.example.com/a%2fb", registered: []string{"https://app.example.com/a%2Fb"}},
		{name: "percent-encoded exact", requested: "https://app.example.com/a%20b", registered: []string{"https://app.example.com/a%20b"}, want: true},
		{name: "private-use scheme exact", requested: "com.example.app:/cb", registered: []string{"com.example.app:/cb"}, want: true},
		{name: "private-use scheme slashes", requested: "com.example.app://cb", registered: []string{"com.example.app:/cb"}},

		{name: "127.0.0.1 same port", requested: "http://127.0.0.1:8080/cb", registered: []string{"http://127.0.0.1:8080/cb"}, want: true},
		{name: "127.0.0.1 port added", requested: "http://127.0.0.1:51004/cb", registered: []string{"http://127.0.0.1/cb"}, want: true},
		{name: "127.0.0.1 port changed", requested: "http://127.0.0.1:51004/cb", registered: []string{"http://127.0.0.1:8080/cb"}, want: true},
		{name: "127.0.0.1 port dropped", requested: "http://127.0.0.1/cb", registered: []string{"http://127.0.0.1:8080/cb"}, want: true},
		{name: "127.0.0.1 no path any port", requested: "http://127.0.0.1:9000", registered: []string{"http://127.0.0.1"}, want: true},
		{name: "127.0.0.1 query kept", requested: "http://127.0.0.1:9000/cb?a=1", registered: []string{"http://127.0.0.1/cb?a=1"}, want: true},
		{name: "127.0.0.1 query without path", requested: "http://127.0.0.1:9000?a=1", registered: []string{"http://127.0.0.1?a=1"}, want: true},
		{name: "127.0.0.1 path differs", requested: "http://127.0.0.1:9000/other", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 trailing slash", requested: "http://127.0.0.1:9000/cb/", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 query differs", requested: "http://127.0.0.1:9000/cb?a=2", registered: []string{"http://127.0.0.1/cb?a=1"}},
		{name: "127.0.0.1 query added", requested: "http://127.0.0.1:9000/cb?a=1", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 upper-case scheme", requested: "HTTP://127.0.0.1:9000/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 https requested", requested: "https://127.0.0.1:9000/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 empty port", requested: "http://127.0.0.1:/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 port zero", requested: "http://127.0.0.1:0/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 port too large", requested: "http://127.0.0.1:65536/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 port leading zero", requested: "http://127.0.0.1:08080/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 signed port", requested: "http://127.0.0.1:+80/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 userinfo trick", requested: "http://127.0.0.1:80@evil.example/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 userinfo before host", requested: "http://evil@127.0.0.1:80/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 lookalike domain", requested: "http://127.0.0.1.evil.example/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 fragment", requested: "http://127.0.0.1:9000/cb#x", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 at sign in path", requested: "http://127.0.0.1:9000/cb@x", registered: []string{"http://127.0.0.1/cb@x"}},
		{name: "127.0.0.2", requested: "http://127.0.0.2:9000/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "0.0.0.0", requested: "http://0.0.0.0:9000/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "localhost for 127.0.0.1", requested: "http://localhost:9000/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "::1 for 127.0.0.1", requested: "http://[::1]:9000/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "::1 port added", requested: "http://[::1]:51004/cb", registered: []string{"http://[::1]/cb"}, want: true},
		{name: "::1 port changed", requested: "http://[::1]:51004/cb", registered: []string{"http://[::1]:8080/cb"}, want: true},
		{name: "::1 port dropped", requested: "http://[::1]/cb", registered: []string{"http://[::1]:8080/cb"}, want: true},
		{name: "::1 path differs", requested: "http://[::1]:51004/other", registered: []string{"http://[::1]/cb"}},
		{name: "::1 long form", requested: "http://[0:0:0:0:0:0:0:1]:9000/cb", registered: []string{"http://[::1]/cb"}},
		{name: "::1 with zone", requested: "http://[::1%25lo]:9000/cb", registered: []string{"http://[::1]/cb"}},
		{name: "IPv4-mapped for 127.0.0.1", requested: "http://[::ffff:127.0.0.1]:9000/cb", registered: []string{"http://127.0.0.1/cb"}},
		{name: "127.0.0.1 for ::1", requested: "http://127.0.0.1:9000/cb", registered: []string{"http://[::1]/cb"}},
		{name: "localhost exact", requested: "http://localhost:3000/cb", registered: []string{"http://localhost:3000/cb"}, want: true},
		{name: "localhost port changed", requested: "http://localhost:3001/cb", registered: []string{"http://localhost:3000/cb"}},
		{name: "https loopback port changed", requested: "https://127.0.0.1:9000/cb", registered: []string{"https://127.0.0.1/cb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchRedirectURI(tt.requested, tt.registered); got != tt.want {
				t.Errorf("MatchRedirectURI(%q, %q) = %v, want %v", tt.requested, tt.registered, got, tt.want)
			}
		})
	}
}
