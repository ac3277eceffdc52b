package provider

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestTransportClientIP(t *testing.T) {
	tr := &Transport{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	tests := []struct {
		name   string
		remote string
		xff    string
		want   string
	}{
		{"direct client", "203.0.113.7:5000", "", "203.0.113.7"},
		{"untrusted peer sets header", "203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},
		{"trusted proxy", "10.0.0.5:5000", "198.51.100.1", "198.51.100.1"},
		{"rightmost untrusted wins", "10.0.0.5:5000", "192.0.2.66, 198.51.100.1, 10.0.0.9", "198.51.100.1"},
		{"all hops trusted", "10.0.0.5:5000", "10.0.0.8", "10.0.0.5"},
		{"garbage in header", "10.0.0.5:5000", "not-an-ip", "10.0.0.5"},
		{"mapped IPv4 peer", "[::ffff:10.0.0.5]:5000", "198.51.100.1", "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := tr.ClientIP(r).String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTransportHSTS(t *testing.T) {
	tests := []struct {
		name    string
		remote  string
		proto   string
		tls     bool
		preload bool
		want    string
	}{
		{"TLS", "203.0.113.7:1", "", true, false, HSTSValue},
		{"TLS with preload", "203.0.113.7:1", "", true, true, HSTSValue + "; preload"},
		{"trusted proxy https", "10.0.0.5:1", "https", false, false, HSTSValue},
		{"untrusted peer claims https", "203.0.113.7:1", "https", false, false, ""},
		{"plain HTTP", "10.0.0.5:1", "http", false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Transport{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, HSTSPreload: tt.preload}
			h := tr.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if got := rec.Header().Get("Strict-Transport-Security"); got != tt.want {
				t.Errorf("Strict-Transport-Security: got %q, want %q", got, tt.want)
			}
		})
	}
}
