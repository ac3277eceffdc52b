package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteText writes a report as aligned text.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	for _, s := range []*Summary{r.Baseline, r.Scenario} {
		if s == nil {
			continue
		}
		fmt.Fprintf(&b, "%s: %d workers, %s\n", s.Name, s.Concurrency, s.Elapsed)
		fmt.Fprintf(&b, "  requests     %d (%d HTTP requests), %d errors\n", s.Requests, s.HTTPRequests, s.Errors)
		fmt.Fprintf(&b, "  rate         %.1f requests/s\n", s.Rate)
		fmt.Fprintf(&b, "  latency      p50 %s  p90 %s  p99 %s  max %s\n", s.P50, s.P90, s.P99, s.Max)
		for _, kind := range slices.Sorted(maps.Keys(s.ErrorsByKind)) {
			fmt.Fprintf(&b, "  error        %s: %d\n", kind, s.ErrorsByKind[kind])
		}
	}
	if r.Baseline != nil && r.Scenario != nil {
		fmt.Fprintf(&b, "%s reached %.2f%% of the baseline rate\n", r.Scenario.Name, 100*r.FractionOfBaseline)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes a report as one indented JSON object.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
