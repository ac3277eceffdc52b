package clients

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxRedirectURILength is the longest redirect URI accepted at
// registration, in bytes. The authorization response appends code, state
// and iss to it, so the URL a browser follows is longer still.
const MaxRedirectURILength = 2000

// Loopback hosts in the only spelling accepted for plain-HTTP redirect
// URIs. RFC 8252 section 8.3 recommends IP literals over "localhost"
// because a name can be resolved to another address.
const (
	loopbackIPv4 = "127.0.0.1"
	loopbackIPv6 = "[::1]"
	localhost    = "localhost"
)

// rejectedSchemes are schemes that run code or read local files in a
// browser. They get a message of their own without a hint, because they
// are never an honest mistake.
var rejectedSchemes = map[string]bool{
	"javascript": true,
	"data":       true,
	"file":       true,
	"vbscript":   true,
	"blob":       true,
	"about":      true,
}

// ValidateRedirectURI checks a redirect URI at registration time. It
// accepts https URIs with a host, http URIs on the loopback IP literals
// 127.0.0.1 and [::1], and private-use schemes in reverse-domain form
// such as com.example.app:/callback (RFC 8252 section 7.1). It also
// accepts http on localhost when allowLocalhostHTTP is set, which only
// dev mode does.
//
// Because redirect URIs are compared as exact strings, it also rejects
// spellings that a client or its HTTP library may normalise before sending
// them: an upper-case scheme or host, an explicit default port, a port
// with leading zeros, an empty query, dot segments and malformed percent
// escapes. Registering such a URI would produce a client whose requests
// fail to match for reasons that are hard to see. The error names the
// value and says how to fix it.
func ValidateRedirectURI(raw string, allowLocalhostHTTP bool) error {
	if err := checkURISyntax(raw); err != nil {
		return err
	}

	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a valid URI (%v); write it as an absolute URI such as https://app.example.com/callback", raw, unwrapURLError(err))
	}
	if u.Scheme == "" {
		return fmt.Errorf("%q is a relative URI; write it as an absolute URI such as https://app.example.com/callback", raw)
	}
	// url.Parse lowercases the scheme, so compare against the raw text.
	if !strings.HasPrefix(raw, u.Scheme+":") {
		return fmt.Errorf("%q has an upper-case scheme; write the scheme in lower case, because redirect URIs are compared as exact strings", raw)
	}
	if rejectedSchemes[u.Scheme] {
		return fmt.Errorf("%q uses the %s: scheme, which is not allowed; use an https URI", raw, u.Scheme)
	}

	switch {
	case u.Scheme == "https":
		return checkHTTPSRedirect(raw, u)
	case u.Scheme == "http":
		return checkHTTPRedirect(raw, u, allowLocalhostHTTP)
	case strings.Contains(u.Scheme, "."):
		return checkPrivateUseRedirect(raw, u)
	default:
		return fmt.Errorf("%q uses the scheme %q; use https, http on 127.0.0.1 or [::1] for native apps, or a private-use scheme in reverse-domain form such as com.example.app:/callback", raw, u.Scheme)
	}
}

// checkURISyntax rejects the characters and forms that are invalid in
// every kind of redirect URI.
func checkURISyntax(raw string) error {
	if raw == "" {
		return fmt.Errorf("redirect URI is empty; give an absolute URI such as https://app.example.com/callback")
	}
	if len(raw) > MaxRedirectURILength {
		return fmt.Errorf("redirect URI of %d bytes is too long; keep it at most %d bytes", len(raw), MaxRedirectURILength)
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c <= 0x20 || c >= 0x7f:
			return fmt.Errorf("%q contains a space, control or non-ASCII character at byte %d; percent-encode it", raw, i)
		case c == '\\':
			return fmt.Errorf("%q contains a backslash, which browsers treat as '/'; write '/' or percent-encode it as %%5C", raw)
		}
	}
	if strings.Contains(raw, "*") {
		return fmt.Errorf("%q contains '*'; wildcards are not supported, so register every redirect URI in full", raw)
	}
	if strings.Contains(raw, "#") {
		return fmt.Errorf("%q contains a fragment; remove '#' and everything after it", raw)
	}
	if strings.Contains(raw, "@") {
		return fmt.Errorf("%q contains '@'; remove the userinfo, or percent-encode '@' as %%40 if it belongs to the path or query", raw)
	}
	if err := checkPercentEscapes(raw); err != nil {
		return err
	}
	return nil
}

// checkPercentEscapes rejects a '%' that is not followed by two hex
// digits. url.Parse checks the path but leaves the query unchecked.
func checkPercentEscapes(raw string) error {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '%' {
			continue
		}
		if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
			return fmt.Errorf("%q contains '%%' that does not start a percent escape; write '%%' as %%25", raw)
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// checkHTTPSRedirect checks the host, port and path of an https URI.
func checkHTTPSRedirect(raw string, u *url.URL) error {
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q has no host; write it as https://host/path", raw)
	}
	if err := checkHostAndPort(raw, u, "443"); err != nil {
		return err
	}
	return checkPathAndQuery(raw, u)
}

// checkHTTPRedirect allows plain HTTP only on loopback, where the traffic
// never leaves the device (RFC 8252 section 7.3).
func checkHTTPRedirect(raw string, u *url.URL, allowLocalhostHTTP bool) error {
	if err := checkHostAndPort(raw, u, "80"); err != nil {
		return err
	}

	// Compare the host as written, so other spellings of the same address
	// ([0:0:0:0:0:0:0:1], [127.0.0.1], [::1%25lo]) do not pass.
	host := strings.TrimSuffix(u.Host, ":"+u.Port())
	switch {
	case u.Opaque == "" && (host == loopbackIPv4 || host == loopbackIPv6):
	case u.Opaque == "" && host == localhost && allowLocalhostHTTP:
	case host == localhost:
		return fmt.Errorf("%q uses http on localhost, which is allowed only in dev mode; use http://127.0.0.1 or http://[::1] instead (any port matches at request time)", raw)
	default:
		return fmt.Errorf("%q uses http on a host other than 127.0.0.1 or [::1]; use https, or http://127.0.0.1 or http://[::1] for a native app", raw)
	}
	return checkPathAndQuery(raw, u)
}

// checkPrivateUseRedirect checks a native app's private-use scheme. RFC
// 8252 section 7.1 requires a reverse domain name that the app's
// publisher controls, which keeps apps from claiming each other's schemes.
func checkPrivateUseRedirect(raw string, u *url.URL) error {
	for _, label := range strings.Split(u.Scheme, ".") {
		if label == "" {
			return fmt.Errorf("%q has an empty label in its scheme; write the scheme as a reverse domain name such as com.example.app", raw)
		}
	}
	if strings.TrimPrefix(raw, u.Scheme+":") == "" {
		return fmt.Errorf("%q has nothing after the scheme; add a path such as %s:/callback", raw, u.Scheme)
	}
	if u.Host != "" {
		if err := checkHostAndPort(raw, u, ""); err != nil {
			return err
		}
	}
	return checkPathAndQuery(raw, u)
}

// checkHostAndPort rejects an upper-case host, an empty or explicit
// default port, and a port that is out of range or has leading zeros.
// defaultPort is "" for schemes without one.
func checkHostAndPort(raw string, u *url.URL, defaultPort string) error {
	host := u.Hostname()
	if host != strings.ToLower(host) {
		return fmt.Errorf("%q has an upper-case host; write the host in lower case, because redirect URIs are compared as exact strings", raw)
	}
	if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%q has an empty port; remove the ':' after the host", raw)
	}

	port := u.Port()
	if port == "" {
		return nil
	}
	if port == defaultPort {
		return fmt.Errorf("%q names the default port %s; remove ':%s', because many clients drop it and the URIs would no longer match", raw, port, port)
	}
	if !validPort(port) {
		return fmt.Errorf("%q has the invalid port %q; use a number from 1 to 65535 without leading zeros", raw, port)
	}
	return nil
}

// validPort reports whether port is a decimal number from 1 to 65535
// written without leading zeros.
func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535 && port[0] != '0' && port[0] != '+' && port[0] != '-'
}

// checkPathAndQuery rejects dot segments, which browsers resolve before
// following the redirect, and a '?' with nothing after it, which many
// clients drop. Browsers that follow the WHATWG URL standard also treat
// "%2e" as a dot, so it counts as one here.
func checkPathAndQuery(raw string, u *url.URL) error {
	path := u.EscapedPath()
	if u.Opaque != "" {
		path = u.Opaque
	}
	for _, segment := range strings.Split(path, "/") {
		dots := strings.ReplaceAll(strings.ToLower(segment), "%2e", ".")
		if dots == "." || dots == ".." {
			return fmt.Errorf("%q contains the dot segment %q; write the path without '.' and '..' segments", raw, segment)
		}
	}
	if u.ForceQuery && u.RawQuery == "" {
		return fmt.Errorf("%q ends with an empty query; remove the trailing '?'", raw)
	}
	return nil
}

// unwrapURLError drops the "parse <uri>:" prefix of a *url.Error,
// because the callers name the URI themselves.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// CheckRawRedirectURI checks the redirect_uri parameter of an
// authorization request before fosite parses it. raw is the parameter
// value after form decoding. It rejects '@' and '#' anywhere in the value
// because fosite's loopback matcher compares parsed URIs and ignores
// userinfo, so a value such as http://127.0.0.1:1@evil.example/ could
// otherwise be taken for a registered loopback URI. An empty value is
// accepted, because the parameter is optional when one URI is registered.
func CheckRawRedirectURI(raw string) error {
	if i := strings.IndexByte(raw, '@'); i >= 0 {
		return fmt.Errorf("redirect_uri contains '@' at byte %d; redirect URIs with userinfo are not accepted", i)
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		return fmt.Errorf("redirect_uri contains '#' at byte %d; redirect URIs with a fragment are not accepted", i)
	}
	return nil
}

// MatchRedirectURI reports whether the redirect_uri of a request matches
// one of the registered URIs. The comparison is by exact string, so case,
// a trailing slash, an explicit default port and percent-encoding all
// count. The one exception is RFC 8252 section 7.3: when a registered URI
// is http on 127.0.0.1 or [::1], a request may use any port, or none, as
// long as everything else is byte for byte the same.
func MatchRedirectURI(requested string, registered []string) bool {
	if requested == "" {
		return false
	}
	for _, candidate := range registered {
		if requested == candidate {
			return true
		}
		if matchLoopbackIgnoringPort(requested, candidate) {
			return true
		}
	}
	return false
}

// matchLoopbackIgnoringPort compares two URIs as text after removing the
// port from both. It works on the raw strings rather than on url.Parse
// output so that no normalisation can make two different strings equal.
func matchLoopbackIgnoringPort(requested, registered string) bool {
	for _, prefix := range []string{"http://" + loopbackIPv4, "http://" + loopbackIPv6} {
		if !strings.HasPrefix(registered, prefix) || !strings.HasPrefix(requested, prefix) {
			continue
		}
		registeredRest, ok := stripPort(registered[len(prefix):])
		if !ok {
			return false
		}
		requestedRest, ok := stripPort(requested[len(prefix):])
		if !ok {
			return false
		}
		return registeredRest == requestedRest
	}
	return false
}

// stripPort removes a leading ":port" from what follows the host and
// returns the path, query and anything after it. It reports false when
// the text after the host does not continue with a valid port, '/', '?'
// or the end of the string, as in http://127.0.0.1.example.com/ or
// http://127.0.0.1:80@example.com/.
func stripPort(afterHost string) (string, bool) {
	rest := afterHost
	if strings.HasPrefix(rest, ":") {
		end := 1
		for end < len(rest) && '0' <= rest[end] && rest[end] <= '9' {
			end++
		}
		if !validPort(rest[1:end]) {
			return "", false
		}
		rest = rest[end:]
	}
	if rest != "" && rest[0] != '/' && rest[0] != '?' {
		return "", false
	}
	if strings.ContainsAny(rest, "@#") {
		return "", false
	}
	return rest, true
}
