package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/storage"
)

// defaultEventLimit is the number of events idp events prints without
// --limit.
const defaultEventLimit = 100

// runEvents prints stored security events, newest first.
func runEvents(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "events",
		"events [--user USER] [--client ID] [--kind KIND] [--limit N] [--json] [flags]",
		eventsDescription())
	user := fs.String("user", "",
		"show only the events of the user with this `ID or username`; a value that matches "+
			"no user is taken as the ID of a deleted user")
	clientID := fs.String("client", "", "show only the events of the client with this `ID`")
	kind := fs.String("kind", "", "show only the events of this `kind`, such as sign_in.failed")
	limit := fs.Int("limit", defaultEventLimit,
		fmt.Sprintf("print at most this `number` of events (default %d)", defaultEventLimit))
	asJSON := fs.Bool("json", false, "print a JSON array of events")
	addConfigFlags(fs, databaseFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newUsageError(fs.Name(), "unexpected argument %q; every filter is a flag", fs.Arg(0))
	}

	if *limit < 1 {
		return newUsageError(fs.Name(), "invalid --limit %d: it must be at least 1", *limit)
	}
	filter := storage.EventFilter{ClientID: *clientID, Limit: *limit}
	if *kind != "" {
		filter.Kind = storage.EventKind(*kind)
		if !slices.Contains(storage.EventKinds, filter.Kind) {
			return newUsageError(fs.Name(), "unknown event kind %q; valid kinds are %s",
				*kind, strings.Join(eventKindNames(), ", "))
		}
	}

	st, err := openStoreToRead(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	if *user != "" {
		if filter.UserID, err = eventUserID(ctx, c, st, *user); err != nil {
			return err
		}
	}
	events, err := st.ListEvents(ctx, filter)
	if err != nil {
		return fmt.Errorf("list security events: %w", err)
	}
	if *asJSON {
		if events == nil {
			events = []storage.SecurityEvent{}
		}
		return printJSON(c.stdout, events)
	}
	return printEvents(c, events)
}

// eventsDescription returns the help text of idp events, which lists
// every event kind.
func eventsDescription() string {
	var b strings.Builder
	b.WriteString("List security events, newest first: sign-ins, lockouts, consents, token reuse,\n" +
		"credentials caught on plain HTTP, and changes to clients. Events never contain a\n" +
		"credential, only its kind.\n\nEvent kinds:\n")
	for _, name := range eventKindNames() {
		fmt.Fprintf(&b, "  %s\n", name)
	}
	return b.String()
}

// eventKindNames returns the names of every event kind.
func eventKindNames() []string {
	names := make([]string, len(storage.EventKinds))
	for i, k := range storage.EventKinds {
		names[i] = string(k)
	}
	return names
}

// eventUserID returns the ID of the user whose ID or username is
// idOrUsername. When no user matches, it returns idOrUsername as it is,
// so that the events of a deleted user can still be listed, and writes
// a note saying so to stderr.
func eventUserID(ctx context.Context, c *cli, st *storage.Store,
	idOrUsername string) (string, error) {
	dir := &accounts.Directory{Store: st}
	u, err := dir.Lookup(ctx, idOrUsername)
	if errors.Is(err, storage.ErrNotFound) {
		fmt.Fprintf(c.stderr,
			"idp: no user has the ID or username %q; listing the events recorded for user ID %q\n",
			idOrUsername, idOrUsername)
		return idOrUsername, nil
	}
	if err != nil {
		return "", fmt.Errorf("look up user %q: %w", idOrUsername, err)
	}
	return u.ID, nil
}

// printEvents prints events as an aligned table.
func printEvents(c *cli, events []storage.SecurityEvent) error {
	rows := make([][]string, len(events))
	for i, e := range events {
		rows[i] = []string{
			formatTime(e.Time),
			string(e.Kind),
			e.UserID,
			e.ClientID,
			e.RemoteAddr,
			e.CredentialKind,
			e.Detail,
		}
		for j := range rows[i] {
			rows[i][j] = printableCell(rows[i][j])
		}
	}
	header := []string{"TIME", "KIND", "USER", "CLIENT", "REMOTE ADDRESS", "CREDENTIAL", "DETAIL"}
	return printTable(c.stdout, header, rows)
}

// printableCell replaces the characters of s that a terminal would
// interpret or that would break the table's columns, such as tabs,
// newlines and escape sequences, with "?". Some fields, such as the
// detail, may contain text that a client or user sent.
func printableCell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
}
