package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The types below are the flag.Value of each kind of setting. The same
// Set parses a flag, an environment variable and a YAML value, so all
// three accept the same syntax and fail with the same message.

// stringValue sets a string.
type stringValue struct{ p *string }

func (v stringValue) Set(s string) error { *v.p = s; return nil }

func (v stringValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

// boolValue sets a bool and, as a flag, needs no value.
type boolValue struct{ p *bool }

func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("invalid boolean %q: use true or false", s)
	}
	*v.p = b
	return nil
}

func (v boolValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatBool(*v.p)
}

func (v boolValue) IsBoolFlag() bool { return true }

// intValue sets an int.
type intValue struct{ p *int }

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("invalid number %q: use a whole number such as 4", s)
	}
	*v.p = n
	return nil
}

func (v intValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

// durationValue sets a time.Duration in time.ParseDuration's syntax.
type durationValue struct{ p *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: use a number and a unit, such as 90s, 5m or 12h", s)
	}
	*v.p = d
	return nil
}

// valueKind names the value in the help.
func (v durationValue) valueKind() string { return "duration" }

func (v durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

// prefixListValue appends to a list of IP prefixes. The first Set on a
// value replaces the list, so a source with a higher precedence replaces
// the list of a lower one instead of adding to it.
type prefixListValue struct {
	list    *[]netip.Prefix
	started bool
}

func (v *prefixListValue) Set(s string) error {
	p, err := parseProxyPrefix(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	if !v.started {
		*v.list = nil
		v.started = true
	}
	*v.list = append(*v.list, p)
	return nil
}

func (v *prefixListValue) String() string {
	if v == nil || v.list == nil {
		return ""
	}
	parts := make([]string, len(*v.list))
	for i, p := range *v.list {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// parseProxyPrefix parses a CIDR prefix, or a bare IP address as a
// prefix of that one address (/32 for IPv4, /128 for IPv6).
func parseProxyPrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf(
				"invalid proxy address %q: use an IP address or a CIDR prefix such as 10.0.0.0/8", s)
		}
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}

	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf(
			"invalid proxy prefix %q: use an IP address or a CIDR prefix such as 10.0.0.0/8", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf(
			"invalid proxy prefix %q: it has host bits set; did you mean %s?", s, p.Masked())
	}
	return p, nil
}

// levelValue sets a log level from its lower-case name.
type levelValue struct{ p *slog.Level }

func (v levelValue) Set(s string) error {
	switch strings.ToLower(s) {
	case "debug":
		*v.p = slog.LevelDebug
	case "info":
		*v.p = slog.LevelInfo
	case "warn":
		*v.p = slog.LevelWarn
	case "error":
		*v.p = slog.LevelError
	default:
		return fmt.Errorf("invalid log level %q: use debug, info, warn or error", s)
	}
	return nil
}

func (v levelValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.ToLower(v.p.String())
}

// logFormatValue sets a LogFormat.
type logFormatValue struct{ p *LogFormat }

func (v logFormatValue) Set(s string) error {
	switch f := LogFormat(strings.ToLower(s)); f {
	case LogFormatJSON, LogFormatText:
		*v.p = f
		return nil
	default:
		return fmt.Errorf("invalid log format %q: use json or text", s)
	}
}

func (v logFormatValue) String() string {
	if v.p == nil {
		return ""
	}
	return string(*v.p)
}
