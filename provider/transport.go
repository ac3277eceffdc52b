package provider

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// HSTSValue is the Strict-Transport-Security header of every HTTPS
// response: two years, subdomains included. Preloading is not added by
// default because it commits the whole registered domain.
const HSTSValue = "max-age=63072000; includeSubDomains"

// Transport describes the path of requests to idp: direct, or through
// reverse proxies that terminate TLS.
type Transport struct {
	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed. Empty: none are.
	TrustedProxies []netip.Prefix
	// HSTSPreload adds "; preload" to the HSTS header.
	HSTSPreload bool
	// RequireHTTPS rejects requests that did not arrive over HTTPS, such
	// as a client reaching a proxied instance directly. Only --dev turns
	// it off.
	RequireHTTPS bool
	Logger       *slog.Logger
	// Metrics counts requests by route and status; nil counts nothing.
	Metrics *Metrics
}

// trusted reports whether addr belongs to a trusted proxy.
func (t *Transport) trusted(addr netip.Addr) bool {
	for _, p := range t.TrustedProxies {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// remoteAddr returns the address of the direct peer.
func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, _ := netip.ParseAddr(host)
	return addr.Unmap()
}

// ClientIP returns the address of the client: the direct peer, or,
// when the peer is a trusted proxy, the rightmost X-Forwarded-For entry
// that is not itself a trusted proxy. Entries left of that one could
// have been written by anyone.
func (t *Transport) ClientIP(r *http.Request) netip.Addr {
	peer := remoteAddr(r)
	if !t.trusted(peer) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		if !t.trusted(addr) {
			return addr.Unmap()
		}
	}
	return peer
}

// IsHTTPS reports whether the client reached idp over HTTPS: TLS on
// this connection, or X-Forwarded-Proto: https from a trusted proxy.
func (t *Transport) IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !t.trusted(remoteAddr(r)) {
		return false
	}
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// Wrap adds HSTS to HTTPS responses, rejects plain HTTP when
// RequireHTTPS is set (health checks excepted, so a load balancer can
// probe over HTTP), counts the request and writes one access log line.
// The log records the path without its query string, which can hold
// codes and tokens.
func (t *Transport) Wrap(next http.Handler) http.Handler {
	hsts := HSTSValue
	if t.HSTSPreload {
		hsts += "; preload"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		switch {
		case t.IsHTTPS(r):
			w.Header().Set("Strict-Transport-Security", hsts)
			next.ServeHTTP(rec, r)
		case t.RequireHTTPS && r.URL.Path != HealthPath && r.URL.Path != ReadyPath:
			writeJSON(rec, http.StatusBadRequest, map[string]string{
				"error":             "invalid_request",
				"error_description": "HTTPS is required; send the request to the https:// issuer URL.",
			})
		default:
			next.ServeHTTP(rec, r)
		}
		elapsed := time.Since(start)
		t.Metrics.observeRequest(routeLabel(r), rec.status, elapsed)
		if t.Logger != nil {
			t.Logger.InfoContext(r.Context(), "request",
				"method", r.Method,
				"path", RedactPath(r.URL.Path),
				"status", rec.status,
				"duration_ms", float64(elapsed.Microseconds())/1000,
				"client_id", info.clientID,
				"remote_addr", t.ClientIP(r).String())
		}
	})
}

// requestInfo collects facts a handler learns for the access log line.
// It is the one value idp passes down through a request's context,
// because the log line is written outside the handler that learns them.
type requestInfo struct {
	clientID string
}

type requestInfoKey struct{}

// noteClientID records the client a request acted for.
func noteClientID(r *http.Request, clientID string) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok && clientID != "" {
		info.clientID = clientID
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status = code
		s.wroteHeader = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// tokenInPath matches an idp token in a URL path.
var tokenInPath = regexp.MustCompile(`idp_(at|rt|ac)_[A-Za-z0-9._~%-]+`)

// RedactPath replaces idp tokens in a URL path, so a token that a client
// put in a path never reaches a log or an event.
func RedactPath(path string) string {
	if !strings.Contains(path, "idp_") {
		return path
	}
	return tokenInPath.ReplaceAllString(path, "idp_${1}_REDACTED")
}
