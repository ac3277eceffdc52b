package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// newFlagSet returns the FlagSet of a command. Errors are not printed by
// the flag package but returned, and -h prints synopsis, description and
// the flags to stdout. command is the full command, such as
// "clients create".
func newFlagSet(c *cli, command, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { printHelp(c.stdout, fs, synopsis, description) }
	return fs
}

// printHelp writes a command's help: the synopsis, the description, the
// command's own flags and then the settings it reads, each with its
// value kind, its help text and, for settings, its environment variable
// and YAML key.
func printHelp(w io.Writer, fs *flag.FlagSet, synopsis, description string) {
	fmt.Fprintf(w, "Usage: idp %s\n\n%s\n", synopsis, strings.TrimSpace(description))

	var own, settingFlags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(*recordedFlag); ok {
			settingFlags = append(settingFlags, f)
		} else {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		for _, f := range own {
			printFlag(w, f, "")
		}
	}
	if len(settingFlags) > 0 {
		fmt.Fprintf(w, "\nSettings (a flag beats the environment variable, which beats the config file):\n")
		for _, f := range settingFlags {
			s, _ := settingByFlag(f.Name)
			var sources []string
			if s.env != "" {
				sources = append(sources, "env "+s.env)
			}
			if s.key != "" {
				sources = append(sources, "config file key "+s.key)
			}
			printFlag(w, f, strings.Join(sources, ", "))
		}
	}
}

// printFlag writes one flag of the help: its name and value kind, then
// its help text and sources wrapped and indented.
func printFlag(w io.Writer, f *flag.Flag, sources string) {
	kind, usage := flag.UnquoteUsage(f)
	if k, ok := f.Value.(interface{ valueKind() string }); ok && kind == "value" {
		kind = k.valueKind()
	}
	if kind != "" {
		kind = " " + kind
	}
	fmt.Fprintf(w, "  --%s%s\n", f.Name, kind)
	for _, line := range wrapText(usage, helpWidth) {
		fmt.Fprintf(w, "        %s\n", line)
	}
	if sources != "" {
		fmt.Fprintf(w, "        (%s)\n", sources)
	}
}

// helpWidth is the width that help text is wrapped at, in bytes,
// leaving room for the indent on an 80-column terminal.
const helpWidth = 70

// wrapText splits text into lines of at most width bytes, breaking at
// spaces. A word longer than width gets a line of its own.
func wrapText(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// printJSON writes v as indented JSON followed by a newline.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// field is one labelled line of a record printed as text.
type field struct {
	label string
	// values are printed one a line, aligned; none prints "-".
	values []string
}

// one returns a field with a single value.
func one(label, value string) field { return field{label, []string{value}} }

// printFields writes a record as "label:  value" lines with the values
// aligned in one column.
func printFields(w io.Writer, fields []field) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		values := f.values
		if len(values) == 0 || (len(values) == 1 && values[0] == "") {
			values = []string{"-"}
		}
		fmt.Fprintf(tw, "%s:\t%s\n", f.label, values[0])
		for _, v := range values[1:] {
			fmt.Fprintf(tw, "\t%s\n", v)
		}
	}
	return tw.Flush()
}

// printTable writes rows under a header, in aligned columns.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		for i, cell := range row {
			if cell == "" {
				row[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// yesNo returns "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// formatTime returns t in RFC 3339 form in UTC, or "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
