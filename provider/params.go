package provider

import "fmt"

// repeatedParameterHint is the error description for a repeated
// parameter. The name comes from the request, so a long one is cut.
func repeatedParameterHint(name string) string {
	const maxName = 64
	if len(name) > maxName {
		name = name[:maxName] + "..."
	}
	return fmt.Sprintf("The %q parameter appears more than once; send each parameter once.", name)
}
