// Command idp is an OAuth 2.0 and OpenID Connect provider.
//
// One binary serves the provider (idp serve) and administers its
// database: registered clients, user accounts, signing keys and schema
// migrations. Run idp help for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"golang.org/x/term"
)

// cli is the process environment a command runs in. Tests fill it with
// buffers and a fake environment instead of the real process's.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// getenv returns the value of an environment variable, "" when unset.
	getenv func(string) string
	// stdinIsTerminal reports whether stdin is an interactive terminal, in
	// which case passwords are prompted for instead of read as a line.
	stdinIsTerminal bool
	// readPassword reads one line from the terminal without echoing it.
	// It is used only when stdinIsTerminal is true.
	readPassword func() ([]byte, error)
	// warned holds the warnings already printed, so a file read twice
	// is warned about once.
	warned map[string]bool
}

// warnOnce prints a warning to stderr unless it was printed before.
func (c *cli) warnOnce(format string, args ...any) {
	message := fmt.Sprintf(format, args...)
	if c.warned[message] {
		return
	}
	if c.warned == nil {
		c.warned = map[string]bool{}
	}
	c.warned[message] = true
	fmt.Fprintln(c.stderr, "idp: warning: "+message)
}

// version is the release version, set at build time with
// -ldflags "-X main.version=v1.2.3". When it is empty, idp version
// reports the module version and VCS revision recorded by the Go
// toolchain.
var version = ""

const usageText = `idp is an OAuth 2.0 and OpenID Connect provider.

Usage:
  idp <command> [arguments]

Commands:
  serve      run the provider
  clients    register and manage client applications
  users      create and manage user accounts
  keys       list, rotate and withdraw signing keys
  events     list security events: sign-ins, lockouts, client changes
  migrate    apply database schema migrations
  loadtest   measure a provider under load
  janitor    delete expired codes, tokens, sessions and old events now
  backup     write a consistent copy of a SQLite database while idp runs
  version    print the version
  help       print this help, or a command's help: idp help <command>

Settings come from flags, then IDP_* environment variables, then the YAML
file named by --config or IDP_CONFIG, then built-in defaults. Run
idp <command> -h for the settings a command reads.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{
		stdin:           os.Stdin,
		stdout:          os.Stdout,
		stderr:          os.Stderr,
		getenv:          os.Getenv,
		stdinIsTerminal: term.IsTerminal(int(os.Stdin.Fd())),
		readPassword:    func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) },
	}
	code := run(ctx, c, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes the command named by args[0] and returns the process exit
// code: 0 on success, 1 when the command failed, 2 for a usage error.
func run(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, usageText)
		return 2
	}

	name, rest := args[0], args[1:]
	var err error
	switch name {
	case "serve":
		err = runServe(ctx, c, rest)
	case "keys":
		err = runKeys(ctx, c, rest)
	case "clients":
		err = runClients(ctx, c, rest)
	case "users":
		err = runUsers(ctx, c, rest)
	case "migrate":
		err = runMigrate(ctx, c, rest)
	case "events":
		err = runEvents(ctx, c, rest)
	case "loadtest":
		err = runLoadtest(ctx, c, rest)
	case "janitor":
		err = runJanitor(ctx, c, rest)
	case "backup":
		err = runBackup(ctx, c, rest)
	case "version":
		err = runVersion(c, rest)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] != "help" {
			return run(ctx, c, []string{rest[0], "-h"})
		}
		fmt.Fprint(c.stdout, usageText)
		return 0
	default:
		fmt.Fprintf(c.stderr, "idp: unknown command %q\n\n%s", name, usageText)
		return 2
	}
	return exitCode(c, err)
}

// usageError is a mistake in the command line: an unknown flag or
// subcommand, or a missing argument. It exits with status 2.
type usageError struct {
	// command is the command whose help explains the usage, such as
	// "clients create".
	command string
	err     error
}

func (e *usageError) Error() string { return e.err.Error() }

func (e *usageError) Unwrap() error { return e.err }

// newUsageError returns a usageError for command with a formatted message.
func newUsageError(command, format string, args ...any) error {
	return &usageError{command: command, err: fmt.Errorf(format, args...)}
}

// exitCode prints err, if any, and returns the exit code for it.
func exitCode(c *cli, err error) int {
	var usageErr *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usageErr):
		fmt.Fprintf(c.stderr, "idp: %v\nRun 'idp %s -h' for usage.\n", err, usageErr.command)
		return 2
	default:
		fmt.Fprintf(c.stderr, "idp: %v\n", err)
		return 1
	}
}

// runVersion prints the version of the binary.
func runVersion(c *cli, args []string) error {
	if len(args) > 0 {
		return newUsageError("version", "version takes no arguments, got %q", args[0])
	}
	fmt.Fprintln(c.stdout, "idp", buildVersion())
	return nil
}

// buildVersion returns version, or else the module version and VCS
// revision that the Go toolchain recorded in the binary.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v + " " + info.GoVersion
}
