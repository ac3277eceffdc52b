package clients

import (
	"fmt"
	"net/url"
	"strings"
)

// validateOrigin checks one allowed_cors_origins entry. Browsers send
// the Origin header as scheme://host[:port] with a lower-case scheme and
// host and without a default port, and idp compares it as an exact
// string, so an entry must be written the same way to ever match.
func validateOrigin(raw string, allowLocalhostHTTP bool) error {
	const example = "https://app.example.com"
	if raw == "" {
		return fmt.Errorf("is empty; give an origin such as %s", example)
	}
	if strings.Contains(raw, "*") {
		return fmt.Errorf("%q contains '*'; wildcards are not supported, so list every origin in full", raw)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= 0x20 || raw[i] >= 0x7f {
			return fmt.Errorf("%q contains a space, control or non-ASCII character; write the host in its ASCII (punycode) form", raw)
		}
	}

	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.Host == "" {
		return fmt.Errorf("%q is not an origin; write it as scheme://host[:port], such as %s", raw, example)
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q is not an origin; remove everything after the host and port, including a trailing '/'", raw)
	}
	if raw != strings.ToLower(raw) {
		return fmt.Errorf("%q contains upper-case letters; write it in lower case, as browsers send it", raw)
	}
	if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%q has an empty port; remove the ':' after the host", raw)
	}

	if port := u.Port(); port != "" && !validPort(port) {
		return fmt.Errorf("%q has the invalid port %q; use a number from 1 to 65535 without leading zeros", raw, port)
	}

	host := strings.TrimSuffix(u.Host, ":"+u.Port())
	switch u.Scheme {
	case "https":
		if u.Port() == "443" {
			return fmt.Errorf("%q names the default port 443; remove ':443', because browsers leave it out of the Origin header", raw)
		}
	case "http":
		if u.Port() == "80" {
			return fmt.Errorf("%q names the default port 80; remove ':80', because browsers leave it out of the Origin header", raw)
		}
		loopback := host == loopbackIPv4 || host == loopbackIPv6 || (allowLocalhostHTTP && host == localhost)
		if !loopback {
			return fmt.Errorf("%q uses http on a host other than 127.0.0.1 or [::1]; use https", raw)
		}
	default:
		return fmt.Errorf("%q uses the scheme %q; use https", raw, u.Scheme)
	}
	return nil
}

// validateClientURI checks client_uri, the home page linked from the
// consent page. It must be https so the link cannot be changed in
// transit.
func validateClientURI(raw string) error {
	if len(raw) > maxClientURILength {
		return fmt.Errorf("is %d bytes long; keep it at most %d bytes", len(raw), maxClientURILength)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= 0x20 || raw[i] >= 0x7f {
			return fmt.Errorf("%q contains a space, control or non-ASCII character at byte %d; percent-encode it", raw, i)
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.Hostname() == "" {
		return fmt.Errorf("%q is not an https URL; write it as https://host/path", raw)
	}
	if u.User != nil {
		return fmt.Errorf("%q contains userinfo; remove the part before '@'", raw)
	}
	return nil
}
