package provider

import (
	"fmt"
	"net/url"
	"slices"
)

// repeatedParameter returns the name of the first parameter, in sorted
// order, that values holds more than once, or "". RFC 6749 sections 3.1
// and 3.2 forbid repeating a parameter. A repeated one is ambiguous:
// fosite reads the first value, while a proxy or a log may read another.
func repeatedParameter(values url.Values) string {
	var repeated []string
	for name, v := range values {
		if len(v) > 1 {
			repeated = append(repeated, name)
		}
	}
	if len(repeated) == 0 {
		return ""
	}
	return slices.Min(repeated)
}

// repeatedParameterHint is the error description for a repeated
// parameter. The name comes from the request, so a long one is cut.
func repeatedParameterHint(name string) string {
	const maxName = 64
	if len(name) > maxName {
		name = name[:maxName] + "..."
	}
	return fmt.Sprintf("The %q parameter appears more than once; send each parameter once.", name)
}
