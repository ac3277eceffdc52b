package main

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/storage"
)

const usersUsage = `Usage: idp users <command> [arguments]

Create and manage the accounts people sign in with. Commands that take a
USER accept the user's ID or username.

Commands:
  create             create a user; the password is read from stdin
  list               list the users
  show USER          print one user
  set-password USER  replace a user's password, read from stdin
  disable USER       stop a user from signing in
  enable USER        allow a disabled user to sign in again
  delete USER        delete a user with their sessions, consents and tokens
  revoke-consent USER CLIENT_ID
                     forget what a user approved for a client and revoke
                     the client's tokens for the user

A password is never a flag, because flags show in process listings and
shell history. On a terminal idp prompts for it twice; otherwise it reads
the first line of stdin:
  printf '%s\n' "$PASSWORD" | idp users create --username alice

Run idp users <command> -h for the flags of a command.
`

// userView is the JSON form of a user: the stored record without the
// password hash. Profile fields use the names of the OpenID Connect
// standard claims.
type userView struct {
	ID                     string       `json:"id"`
	Subject                string       `json:"sub"`
	Username               string       `json:"username"`
	Disabled               bool         `json:"disabled"`
	HasPassword            bool         `json:"has_password"`
	PasswordChangeRequired bool         `json:"password_change_required"`
	Name                   string       `json:"name,omitempty"`
	GivenName              string       `json:"given_name,omitempty"`
	FamilyName             string       `json:"family_name,omitempty"`
	MiddleName             string       `json:"middle_name,omitempty"`
	Nickname               string       `json:"nickname,omitempty"`
	PreferredUsername      string       `json:"preferred_username,omitempty"`
	Profile                string       `json:"profile,omitempty"`
	Picture                string       `json:"picture,omitempty"`
	Website                string       `json:"website,omitempty"`
	Email                  string       `json:"email,omitempty"`
	EmailVerified          bool         `json:"email_verified"`
	Gender                 string       `json:"gender,omitempty"`
	Birthdate              string       `json:"birthdate,omitempty"`
	Zoneinfo               string       `json:"zoneinfo,omitempty"`
	Locale                 string       `json:"locale,omitempty"`
	PhoneNumber            string       `json:"phone_number,omitempty"`
	PhoneNumberVerified    bool         `json:"phone_number_verified"`
	Address                *addressView `json:"address,omitempty"`
	CreatedAt              time.Time    `json:"created_at"`
	UpdatedAt              time.Time    `json:"updated_at"`
}

// addressView is the address claim of OpenID Connect Core 1.0 section
// 5.1.1.
type addressView struct {
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// newUserView returns the JSON form of u.
func newUserView(u *storage.User) userView {
	v := userView{
		ID:                     u.ID,
		Subject:                u.Subject,
		Username:               u.Username,
		Disabled:               u.Disabled,
		HasPassword:            u.PasswordHash != "",
		PasswordChangeRequired: u.PasswordChangeRequired,
		Name:                   u.Name,
		GivenName:              u.GivenName,
		FamilyName:             u.FamilyName,
		MiddleName:             u.MiddleName,
		Nickname:               u.Nickname,
		PreferredUsername:      u.PreferredUsername,
		Profile:                u.Profile,
		Picture:                u.Picture,
		Website:                u.Website,
		Email:                  u.Email,
		EmailVerified:          u.EmailVerified,
		Gender:                 u.Gender,
		Birthdate:              u.Birthdate,
		Zoneinfo:               u.Zoneinfo,
		Locale:                 u.Locale,
		PhoneNumber:            u.PhoneNumber,
		PhoneNumberVerified:    u.PhoneNumberVerified,
		CreatedAt:              u.CreatedAt,
		UpdatedAt:              u.UpdatedAt,
	}
	a := addressView{
		StreetAddress: u.AddressStreet,
		Locality:      u.AddressLocality,
		Region:        u.AddressRegion,
		PostalCode:    u.AddressPostalCode,
		Country:       u.AddressCountry,
	}
	if a != (addressView{}) {
		v.Address = &a
	}
	return v
}

// runUsers runs an idp users subcommand.
func runUsers(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return newUsageError("users",
			"missing command: create, list, show, set-password, disable, enable, delete or revoke-consent")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "create":
		return usersCreate(ctx, c, rest)
	case "list":
		return usersList(ctx, c, rest)
	case "show":
		return usersShow(ctx, c, rest)
	case "set-password":
		return usersSetPassword(ctx, c, rest)
	case "disable":
		return usersChange(ctx, c, rest, "disable", "disabled", (*accounts.Directory).Disable)
	case "enable":
		return usersChange(ctx, c, rest, "enable", "enabled", (*accounts.Directory).Enable)
	case "delete":
		return usersChange(ctx, c, rest, "delete", "deleted", (*accounts.Directory).Delete)
	case "revoke-consent":
		return usersRevokeConsent(ctx, c, rest)
	case "help", "-h", "-help", "--help":
		io.WriteString(c.stdout, usersUsage)
		return nil
	default:
		return newUsageError("users", "unknown command %q", name)
	}
}

// usersCreate creates a user with a password read from stdin.
func usersCreate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "users create", "users create --username NAME [flags] < password",
		`Create a user. The password is prompted for on a terminal, and otherwise read
from the first line of stdin; it is never a flag.`)
	var profile storage.User
	username := fs.String("username", "", "`name` the user signs in with (required)")
	fs.StringVar(&profile.Name, "name", "", "full `name`, such as \"Alice Example\"")
	fs.StringVar(&profile.GivenName, "given-name", "", "given `name`")
	fs.StringVar(&profile.FamilyName, "family-name", "", "family `name`")
	fs.StringVar(&profile.Nickname, "nickname", "", "casual `name`")
	fs.StringVar(&profile.PreferredUsername, "preferred-username", "",
		"`name` shown to relying parties as preferred_username")
	fs.StringVar(&profile.Email, "email", "", "email `address`")
	fs.BoolVar(&profile.EmailVerified, "email-verified", false, "the email address is known to belong to the user")
	fs.StringVar(&profile.PhoneNumber, "phone", "", "phone `number` in E.164 form, such as +15555550100")
	fs.BoolVar(&profile.PhoneNumberVerified, "phone-verified", false, "the phone number is known to belong to the user")
	fs.StringVar(&profile.Locale, "locale", "", "BCP 47 language `tag`, such as en-US")
	fs.StringVar(&profile.Zoneinfo, "zoneinfo", "", "IANA time `zone`, such as Europe/Paris")
	requireChange := fs.Bool("require-password-change", false,
		"make the user choose a new password at the next sign-in")
	asJSON := fs.Bool("json", false, "print the user as JSON")
	addConfigFlags(fs, userFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newUsageError(fs.Name(), "unexpected argument %q; the password is read from stdin", fs.Arg(0))
	}
	if *username == "" {
		return newUsageError(fs.Name(), "--username is required")
	}

	password, err := readNewPassword(c)
	if err != nil {
		return err
	}
	return withDirectory(ctx, cfg, openStore, func(dir *accounts.Directory) error {
		u, err := dir.Create(ctx, accounts.NewUser{
			Username:               *username,
			Password:               password,
			PasswordChangeRequired: *requireChange,
			Profile:                profile,
		})
		if err != nil {
			return fmt.Errorf("create user %s: %w", *username, err)
		}
		return printUser(c, u, *asJSON)
	})
}

// usersList prints every user.
func usersList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "users list", "users list [--json] [flags]", "List the users, ordered by username.")
	asJSON := fs.Bool("json", false, "print a JSON array of users")
	addConfigFlags(fs, userFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newUsageError(fs.Name(), "unexpected argument %q", fs.Arg(0))
	}

	st, err := openStoreToRead(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	list, err := st.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}

	if *asJSON {
		views := make([]userView, len(list))
		for i := range list {
			views[i] = newUserView(&list[i])
		}
		return printJSON(c.stdout, views)
	}
	rows := make([][]string, len(list))
	for i, u := range list {
		rows[i] = []string{u.ID, u.Username, u.Name, u.Email, userStatus(&u)}
	}
	return printTable(c.stdout, []string{"ID", "USERNAME", "NAME", "EMAIL", "STATUS"}, rows)
}

// usersShow prints one user.
func usersShow(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "users show", "users show USER [--json] [flags]",
		"Print a user, found by ID or username. The password hash is never printed.")
	asJSON := fs.Bool("json", false, "print the user as JSON")
	addConfigFlags(fs, userFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	who, err := oneArgument(fs, "user ID or username")
	if err != nil {
		return err
	}

	return withDirectory(ctx, cfg, openStoreToRead, func(dir *accounts.Directory) error {
		u, err := lookupUser(ctx, dir, who)
		if err != nil {
			return err
		}
		return printUser(c, u, *asJSON)
	})
}

// usersSetPassword replaces a user's password with one read from stdin.
func usersSetPassword(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "users set-password", "users set-password USER [flags] < password",
		`Replace a user's password. The password is prompted for on a terminal, and
otherwise read from the first line of stdin; it is never a flag. With
--temporary the user must choose a new password at the next sign-in, as
after the plain-HTTP tripwire revoked their password.`)
	temporary := fs.Bool("temporary", false, "make the user choose a new password at the next sign-in")
	addConfigFlags(fs, userFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	who, err := oneArgument(fs, "user ID or username")
	if err != nil {
		return err
	}

	return withDirectory(ctx, cfg, openExistingStore, func(dir *accounts.Directory) error {
		// Look the user up before asking for the password, so a typing
		// mistake in the name is reported first.
		u, err := lookupUser(ctx, dir, who)
		if err != nil {
			return err
		}
		password, err := readNewPassword(c)
		if err != nil {
			return err
		}
		if err := dir.SetPassword(ctx, u.ID, password); err != nil {
			return fmt.Errorf("set the password of user %s: %w", u.Username, err)
		}
		if *temporary {
			if err := dir.RequirePasswordChange(ctx, u.ID); err != nil {
				return fmt.Errorf("mark the password of user %s temporary: %w", u.Username, err)
			}
			fmt.Fprintf(c.stdout, "set a temporary password for user %s (%s); they choose a new one at the next sign-in\n", u.Username, u.ID)
			return nil
		}
		fmt.Fprintf(c.stdout, "set the password of user %s (%s)\n", u.Username, u.ID)
		return nil
	})
}

// usersChange runs a command that applies one Directory method to a
// user: disable, enable or delete. past is the verb in the past tense
// for the confirmation line.
func usersChange(ctx context.Context, c *cli, args []string, verb, past string,
	change func(*accounts.Directory, context.Context, string) error) error {
	fs := newFlagSet(c, "users "+verb, "users "+verb+" USER [flags]", usersChangeDescription(verb))
	addConfigFlags(fs, userFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	who, err := oneArgument(fs, "user ID or username")
	if err != nil {
		return err
	}

	return withDirectory(ctx, cfg, openExistingStore, func(dir *accounts.Directory) error {
		u, err := lookupUser(ctx, dir, who)
		if err != nil {
			return err
		}
		if err := change(dir, ctx, u.ID); err != nil {
			return fmt.Errorf("%s user %s: %w", verb, u.Username, err)
		}
		fmt.Fprintf(c.stdout, "%s user %s (%s)\n", past, u.Username, u.ID)
		return nil
	})
}

// usersChangeDescription returns the help text of disable, enable and
// delete.
func usersChangeDescription(verb string) string {
	switch verb {
	case "disable":
		return "Stop a user from signing in. Their login sessions and tokens end."
	case "enable":
		return "Allow a disabled user to sign in again."
	default:
		return "Delete a user with their login sessions, consents and tokens."
	}
}

// withDirectory opens the database with open and calls fn with a user
// directory on it.
func withDirectory(ctx context.Context, cfg *Config, open storeOpener,
	fn func(dir *accounts.Directory) error) error {
	st, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	dir := &accounts.Directory{
		Store:  st,
		Hasher: accounts.NewHasher(accounts.DefaultParams, cfg.PasswordHashConcurrency),
		Now:    time.Now,
	}
	return fn(dir)
}

// lookupUser finds a user by ID or username.
func lookupUser(ctx context.Context, dir *accounts.Directory, who string) (*storage.User, error) {
	u, err := dir.Lookup(ctx, who)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("no user has the ID or username %q; idp users list shows them", who)
	}
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", who, err)
	}
	return u, nil
}

// readNewPassword reads a new password: prompted twice without echo on
// a terminal, otherwise the first line of stdin. It checks the password
// with accounts.ValidatePassword before the second prompt.
func readNewPassword(c *cli) (string, error) {
	if !c.stdinIsTerminal {
		password, err := readFirstLine(c.stdin)
		if err != nil {
			return "", err
		}
		return password, accounts.ValidatePassword(password)
	}

	if c.readPassword == nil {
		return "", errors.New("cannot read a password from this terminal; pipe it to stdin instead")
	}
	first, err := promptPassword(c, "New password: ")
	if err != nil {
		return "", err
	}
	if err := accounts.ValidatePassword(first); err != nil {
		return "", err
	}
	second, err := promptPassword(c, "Repeat the password: ")
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(first), []byte(second)) != 1 {
		return "", errors.New("the passwords do not match; nothing was changed")
	}
	return first, nil
}

// promptPassword writes prompt to stderr and reads a line without echo.
func promptPassword(c *cli, prompt string) (string, error) {
	fmt.Fprint(c.stderr, prompt)
	b, err := c.readPassword()
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}

// readFirstLine returns the first line of r without its line ending.
// Spaces are kept, because they may be part of the password.
func readFirstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", errors.New("no password on stdin: write it as the first line, " +
			`for example printf '%s\n' "$PASSWORD" | idp users create ...; ` +
			"on a terminal idp prompts for it")
	}
	return line, nil
}

// printUser prints a user as JSON or as aligned text, never with the
// password hash.
func printUser(c *cli, u *storage.User, asJSON bool) error {
	if asJSON {
		return printJSON(c.stdout, newUserView(u))
	}
	return printFields(c.stdout, []field{
		one("ID", u.ID),
		one("Subject", u.Subject),
		one("Username", u.Username),
		one("Status", userStatus(u)),
		one("Name", u.Name),
		one("Given name", u.GivenName),
		one("Family name", u.FamilyName),
		one("Nickname", u.Nickname),
		one("Preferred username", u.PreferredUsername),
		one("Email", u.Email),
		one("Email verified", yesNo(u.EmailVerified)),
		one("Phone", u.PhoneNumber),
		one("Phone verified", yesNo(u.PhoneNumberVerified)),
		one("Locale", u.Locale),
		one("Time zone", u.Zoneinfo),
		one("Created", formatTime(u.CreatedAt)),
		one("Updated", formatTime(u.UpdatedAt)),
	})
}

// userStatus describes whether a user can sign in.
func userStatus(u *storage.User) string {
	switch {
	case u.Disabled:
		return "disabled"
	case u.PasswordHash == "":
		return "no password"
	case u.PasswordChangeRequired:
		return "must change password"
	default:
		return "active"
	}
}

// usersRevokeConsent deletes a user's remembered consent for a client
// and revokes every token the client holds for the user.
func usersRevokeConsent(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "users revoke-consent", "users revoke-consent USER CLIENT_ID [flags]",
		`Forget the scopes a user approved for a client and revoke every token the
client holds for the user. The next sign-in to that client asks for consent
again.`)
	addConfigFlags(fs, userFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return newUsageError("users revoke-consent", "users revoke-consent takes a user and a client id")
	}
	who, clientID := fs.Arg(0), fs.Arg(1)

	st, err := openExistingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	dir := &accounts.Directory{Store: st, Hasher: accounts.NewHasher(accounts.DefaultParams, 1), Now: time.Now}
	u, err := lookupUser(ctx, dir, who)
	if err != nil {
		return err
	}
	if _, err := st.Client(ctx, clientID); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no client has id %q; run idp clients list", clientID)
	} else if err != nil {
		return err
	}
	if err := st.RevokeConsent(ctx, u.ID, u.Subject, clientID); err != nil {
		return fmt.Errorf("revoke the consent of user %s for client %s: %w", u.Username, clientID, err)
	}
	if err := st.RecordEvent(ctx, &storage.SecurityEvent{
		Kind: storage.EventConsentRevoked, UserID: u.ID, ClientID: clientID, Detail: "via command line",
	}); err != nil {
		fmt.Fprintf(c.stderr, "idp: warning: record the security event: %v\n", err)
	}
	fmt.Fprintf(c.stdout, "revoked the consent of user %s for client %s and the client's tokens for the user\n", u.Username, clientID)
	return nil
}
