package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/scopes"
	"github.com/idp/idp/storage"
)

const clientsUsage = `Usage: idp clients <command> [arguments]

Register and manage the client applications that sign users in with idp.

Commands:
  create          register a client and print its secret
  list            list the registered clients
  show ID         print one client
  update ID       change the settings given as flags
  rotate-secret ID
                  replace a client's secret and print the new one
  delete ID       delete a client with its tokens and consents

Run idp clients <command> -h for the flags of a command.
`

const secretNotice = "Store the client secret now: idp keeps only a hash of it and cannot show it again."

// clientFieldFlags maps the RFC 7591 field names in clients.FieldError
// to the flags that set them.
var clientFieldFlags = map[string]string{
	"client_name":                  "--name",
	"client_uri":                   "--client-uri",
	"redirect_uris":                "--redirect-uri",
	"grant_types":                  "--grant-type",
	"scope":                        "--scope",
	"token_endpoint_auth_method":   "--token-endpoint-auth-method",
	"pkce":                         "--pkce",
	"resource_server":              "--resource-server",
	"allowed_cors_origins":         "--cors-origin",
	"id_token_signed_response_alg": "--id-token-signed-response-alg",
}

// runClients runs an idp clients subcommand.
func runClients(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return newUsageError("clients", "missing command: create, list, show, update, rotate-secret or delete")
	}
	name, rest := args[0], args[1:]
	switch name {
	case "create":
		return clientsCreate(ctx, c, rest)
	case "list":
		return clientsList(ctx, c, rest)
	case "show":
		return clientsShow(ctx, c, rest)
	case "update":
		return clientsUpdate(ctx, c, rest)
	case "rotate-secret":
		return clientsRotateSecret(ctx, c, rest)
	case "delete":
		return clientsDelete(ctx, c, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, clientsUsage)
		return nil
	default:
		return newUsageError("clients", "unknown command %q", name)
	}
}

// clientMetadataFlags are the flags that set a client's metadata, shared by
// create and update.
type clientMetadataFlags struct {
	name         string
	clientURI    string
	redirectURIs stringsFlag
	grantTypes   stringsFlag
	scope        stringsFlag
	public       bool
	pkce         string
	authMethod   string
	idTokenAlg   string
	resource     bool
	corsOrigins  stringsFlag
}

// register adds the metadata flags to fs.
func (f *clientMetadataFlags) register(fs *flag.FlagSet) {
	f.grantTypes.separator = ","
	f.scope.separator = " "
	fs.StringVar(&f.name, "name", "", "client `name` shown to users on the consent page")
	fs.StringVar(&f.clientURI, "client-uri", "", "`URL` of the client's home page, linked from the consent page")
	fs.Var(&f.redirectURIs, "redirect-uri",
		"redirect `URI`, compared as an exact string; repeat the flag for several")
	fs.Var(&f.grantTypes, "grant-type",
		"grant `types`, comma-separated or repeated: authorization_code (the default), "+
			"refresh_token, client_credentials")
	fs.Var(&f.scope, "scope", "space-separated `scopes` the client may request, such as \"openid profile\"")
	fs.BoolVar(&f.public, "public", false,
		"the client cannot keep a secret (a native or browser app): no secret, PKCE always required")
	fs.StringVar(&f.pkce, "pkce", "",
		"PKCE `mode`: required (the default) or optional; only a confidential client may make PKCE optional")
	fs.StringVar(&f.authMethod, "token-endpoint-auth-method", "",
		"`method` the client authenticates with at the token endpoint: client_secret_basic "+
			"(the default), client_secret_post, or none for a public client")
	fs.StringVar(&f.idTokenAlg, "id-token-signed-response-alg", "", "JWS `algorithm` of the client's ID tokens")
	fs.BoolVar(&f.resource, "resource-server", false, "the client may introspect tokens issued to other clients")
	fs.Var(&f.corsOrigins, "cors-origin",
		"`origin` allowed to call the token, userinfo and revocation endpoints from a browser; "+
			"repeat the flag for several")
}

// apply copies the flags that were given on the command line into m.
func (f *clientMetadataFlags) apply(fs *flag.FlagSet, m *clients.Metadata) error {
	given := givenFlags(fs)
	if given["public"] && given["token-endpoint-auth-method"] && f.public != (f.authMethod == "none") {
		return newUsageError(fs.Name(), "--public contradicts --token-endpoint-auth-method %s", f.authMethod)
	}

	if given["name"] {
		m.ClientName = f.name
	}
	if given["client-uri"] {
		m.ClientURI = f.clientURI
	}
	if given["redirect-uri"] {
		m.RedirectURIs = f.redirectURIs.values
	}
	if given["grant-type"] {
		m.GrantTypes = f.grantTypes.values
		// The registry derives response_types from the grant types
		// when they are empty; the old ones may not fit the new grants.
		m.ResponseTypes = nil
	}
	if given["scope"] {
		m.Scope = strings.Join(f.scope.values, " ")
	}
	if given["public"] {
		switch {
		case f.public:
			m.TokenEndpointAuthMethod = "none"
		case m.TokenEndpointAuthMethod == "none":
			return newUsageError(fs.Name(),
				"--public=false needs --token-endpoint-auth-method to say how the client authenticates")
		}
	}
	if given["token-endpoint-auth-method"] {
		m.TokenEndpointAuthMethod = f.authMethod
	}
	if given["pkce"] {
		m.PKCE = f.pkce
	}
	if given["id-token-signed-response-alg"] {
		m.IDTokenSignedResponseAlg = f.idTokenAlg
	}
	if given["resource-server"] {
		m.ResourceServer = f.resource
	}
	if given["cors-origin"] {
		m.AllowedCORSOrigins = f.corsOrigins.values
	}
	return nil
}

// clientsCreate registers a client and prints it with its secret.
func clientsCreate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "clients create", "clients create --name NAME [flags]",
		`Register a client. A confidential client's secret is printed once; idp keeps
only a hash of it.`)
	var meta clientMetadataFlags
	meta.register(fs)
	asJSON := fs.Bool("json", false, "print the client as RFC 7591 JSON")
	addConfigFlags(fs, clientFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newUsageError(fs.Name(), "unexpected argument %q; every setting is a flag", fs.Arg(0))
	}

	var m clients.Metadata
	if err := meta.apply(fs, &m); err != nil {
		return err
	}
	return withClientRegistry(ctx, c, cfg, openStore, true, func(reg *clients.Registry) error {
		created, err := reg.Create(ctx, m)
		if err != nil {
			return describeClientError("register client", err)
		}
		return printClient(c, created, *asJSON)
	})
}

// clientsList prints every registered client.
func clientsList(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "clients list", "clients list [--json] [flags]", "List the registered clients.")
	asJSON := fs.Bool("json", false, "print a JSON array of RFC 7591 client metadata")
	addConfigFlags(fs, clientFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newUsageError(fs.Name(), "unexpected argument %q", fs.Arg(0))
	}

	return withClientRegistry(ctx, c, cfg, openStoreToRead, false, func(reg *clients.Registry) error {
		list, err := reg.List(ctx)
		if err != nil {
			return fmt.Errorf("list clients: %w", err)
		}
		if *asJSON {
			if list == nil {
				list = []clients.Metadata{}
			}
			return printJSON(c.stdout, list)
		}
		rows := make([][]string, len(list))
		for i, m := range list {
			rows[i] = []string{
				m.ClientID, m.ClientName, clientType(m),
				strings.Join(m.GrantTypes, ","), strings.Join(m.RedirectURIs, " "),
			}
		}
		return printTable(c.stdout, []string{"CLIENT ID", "NAME", "TYPE", "GRANT TYPES", "REDIRECT URIS"}, rows)
	})
}

// clientsShow prints one client.
func clientsShow(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "clients show", "clients show ID [--json] [flags]", "Print a registered client.")
	asJSON := fs.Bool("json", false, "print the client as RFC 7591 JSON")
	addConfigFlags(fs, clientFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	id, err := oneArgument(fs, "client ID")
	if err != nil {
		return err
	}

	return withClientRegistry(ctx, c, cfg, openStoreToRead, false, func(reg *clients.Registry) error {
		m, err := reg.Get(ctx, id)
		if err != nil {
			return clientLookupError(id, err)
		}
		return printClient(c, m, *asJSON)
	})
}

// clientsUpdate changes the metadata given as flags and keeps the rest.
func clientsUpdate(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "clients update", "clients update ID [flags]",
		`Change a client's settings. Only the flags given change; --redirect-uri and
--cors-origin replace the whole list, the --add- and --remove- flags edit it.`)
	var meta clientMetadataFlags
	meta.register(fs)
	var addRedirect, removeRedirect, addOrigin, removeOrigin stringsFlag
	fs.Var(&addRedirect, "add-redirect-uri", "add a redirect `URI`; repeat the flag for several")
	fs.Var(&removeRedirect, "remove-redirect-uri", "remove a redirect `URI`; repeat the flag for several")
	fs.Var(&addOrigin, "add-cors-origin", "add a CORS `origin`; repeat the flag for several")
	fs.Var(&removeOrigin, "remove-cors-origin", "remove a CORS `origin`; repeat the flag for several")
	asJSON := fs.Bool("json", false, "print the updated client as RFC 7591 JSON")
	addConfigFlags(fs, clientFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	id, err := oneArgument(fs, "client ID")
	if err != nil {
		return err
	}
	if !changesClient(fs) {
		return newUsageError(fs.Name(), "nothing to update: give at least one flag that changes the client")
	}

	return withClientRegistry(ctx, c, cfg, openExistingStore, true, func(reg *clients.Registry) error {
		m, err := reg.Get(ctx, id)
		if err != nil {
			return clientLookupError(id, err)
		}
		if err := meta.apply(fs, &m); err != nil {
			return err
		}
		m.RedirectURIs, err = editList(m.RedirectURIs, addRedirect.values, removeRedirect.values, "redirect URI")
		if err != nil {
			return err
		}
		m.AllowedCORSOrigins, err = editList(m.AllowedCORSOrigins, addOrigin.values, removeOrigin.values, "CORS origin")
		if err != nil {
			return err
		}
		m.ClientSecret = ""

		updated, err := reg.Update(ctx, id, m)
		if err != nil {
			return describeClientError("update client "+id, err)
		}
		return printClient(c, updated, *asJSON)
	})
}

// clientsRotateSecret replaces a client's secret and prints the new one.
func clientsRotateSecret(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "clients rotate-secret", "clients rotate-secret ID [--json] [flags]",
		`Replace a confidential client's secret. The old secret stops working and the
new one is printed once.`)
	asJSON := fs.Bool("json", false, "print the client and its new secret as RFC 7591 JSON")
	addConfigFlags(fs, clientFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	id, err := oneArgument(fs, "client ID")
	if err != nil {
		return err
	}

	return withClientRegistry(ctx, c, cfg, openExistingStore, true, func(reg *clients.Registry) error {
		m, err := reg.RotateSecret(ctx, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return clientLookupError(id, err)
		case errors.Is(err, clients.ErrPublicClient):
			return fmt.Errorf("client %s is public and has no secret to rotate; to give it one, run "+
				"idp clients update %s --token-endpoint-auth-method client_secret_basic", id, id)
		case err != nil:
			return fmt.Errorf("rotate the secret of client %s: %w", id, err)
		}
		return printClient(c, m, *asJSON)
	})
}

// clientsDelete deletes a client.
func clientsDelete(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "clients delete", "clients delete ID [flags]",
		`Delete a client with its tokens, consents and authorization requests in
progress. Its users must consent again if it is registered anew.`)
	addConfigFlags(fs, clientFlags...)
	cfg, err := loadConfig(c, fs, args)
	if err != nil {
		return err
	}
	id, err := oneArgument(fs, "client ID")
	if err != nil {
		return err
	}

	return withClientRegistry(ctx, c, cfg, openExistingStore, false, func(reg *clients.Registry) error {
		if err := reg.Delete(ctx, id); err != nil {
			return clientLookupError(id, err)
		}
		fmt.Fprintf(c.stdout, "deleted client %s\n", id)
		return nil
	})
}

// withClientRegistry opens the database with open and calls fn with a
// client registry on it. The system secret is loaded only when
// needSecret is true, because only creating and changing secrets hashes
// them.
func withClientRegistry(ctx context.Context, c *cli, cfg *Config, open storeOpener, needSecret bool,
	fn func(reg *clients.Registry) error) error {
	catalog, err := scopes.NewCatalog(cfg.Scopes)
	if err != nil {
		return fmt.Errorf("invalid scopes in config file %s: %w", cfg.ConfigFile, err)
	}
	st, err := open(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	reg := &clients.Registry{
		Store: st,
		Validate: clients.ValidateOptions{
			AllowLocalhostHTTP: cfg.Dev,
			KnownScope:         catalog.Known,
		},
		Now:    time.Now,
		Events: st,
		Source: "via command line",
		Logger: slog.New(slog.NewTextHandler(c.stderr, nil)),
	}
	if needSecret {
		keys, err := loadSecretKeys(ctx, c, cfg, st)
		if err != nil {
			return err
		}
		if reg.Hasher, err = clients.NewSecretHasher(clientHashKeys(keys)...); err != nil {
			return fmt.Errorf("set up client secret hashing: %w", err)
		}
	}
	return fn(reg)
}

// printClient prints a client as JSON or as aligned text. A secret in m
// is printed with a notice to store it, on stderr when stdout is JSON.
func printClient(c *cli, m clients.Metadata, asJSON bool) error {
	if asJSON {
		if err := printJSON(c.stdout, m); err != nil {
			return err
		}
		if m.ClientSecret != "" {
			fmt.Fprintln(c.stderr, secretNotice)
		}
		return nil
	}

	fields := []field{
		one("Client ID", m.ClientID),
		one("Name", m.ClientName),
		one("Client URI", m.ClientURI),
		one("Type", clientType(m)),
		one("Token endpoint auth", m.TokenEndpointAuthMethod),
		{"Redirect URIs", m.RedirectURIs},
		one("Grant types", strings.Join(m.GrantTypes, ", ")),
		one("Response types", strings.Join(m.ResponseTypes, ", ")),
		one("Scope", m.Scope),
		one("PKCE", m.PKCE),
		one("ID token algorithm", m.IDTokenSignedResponseAlg),
		one("Resource server", yesNo(m.ResourceServer)),
		one("Secret disabled", disabledNote(m.SecretDisabled)),
		{"CORS origins", m.AllowedCORSOrigins},
		one("Issued at", formatUnix(m.ClientIDIssuedAt)),
	}
	if m.ClientSecret != "" {
		fields = append(fields,
			one("Client secret", m.ClientSecret),
			one("Secret expires", secretExpiry(m.ClientSecretExpiresAt)))
	}
	if err := printFields(c.stdout, fields); err != nil {
		return err
	}
	if m.ClientSecret != "" {
		fmt.Fprintf(c.stdout, "\n%s\n", secretNotice)
	}
	return nil
}

// clientType returns "public" for a client without a secret and
// "confidential" otherwise.
func clientType(m clients.Metadata) string {
	if m.TokenEndpointAuthMethod == "none" {
		return "public"
	}
	return "confidential"
}

// secretExpiry formats client_secret_expires_at, where 0 means never
// (RFC 7591 section 3.2.1).
func secretExpiry(at *int64) string {
	if at == nil || *at == 0 {
		return "never"
	}
	return formatUnix(*at)
}

// formatUnix formats seconds since the Unix epoch, or "" for 0.
func formatUnix(sec int64) string {
	if sec == 0 {
		return ""
	}
	return formatTime(time.Unix(sec, 0))
}

// describeClientError rewords a clients.FieldError to name the flag
// that sets the invalid field.
func describeClientError(action string, err error) error {
	var fe *clients.FieldError
	if !errors.As(err, &fe) {
		return fmt.Errorf("%s: %w", action, err)
	}
	name := fe.Field
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	if flagName, ok := clientFieldFlags[name]; ok {
		return fmt.Errorf("%s: invalid %s (%s): %s", action, flagName, fe.Field, fe.Message)
	}
	return fmt.Errorf("%s: invalid %s: %s", action, fe.Field, fe.Message)
}

// clientLookupError explains a failed lookup of client id.
func clientLookupError(id string, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no client has the ID %q; idp clients list shows the registered ones", id)
	}
	return fmt.Errorf("client %s: %w", id, err)
}

// changesClient reports whether a flag that changes a client was given.
func changesClient(fs *flag.FlagSet) bool {
	changed := false
	fs.Visit(func(f *flag.Flag) {
		if _, setting := f.Value.(*recordedFlag); !setting && f.Name != "json" {
			changed = true
		}
	})
	return changed
}

// editList removes and then adds values to list. Removing a value that
// is not in the list is an error, because it usually is a typing
// mistake. Adding one that is already there changes nothing.
func editList(list, add, remove []string, what string) ([]string, error) {
	for _, r := range remove {
		i := slices.Index(list, r)
		if i < 0 {
			return nil, fmt.Errorf("cannot remove %s %q: the client does not have it", what, r)
		}
		list = slices.Delete(slices.Clone(list), i, i+1)
	}
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list, nil
}

// givenFlags returns the names of the flags given on the command line.
func givenFlags(fs *flag.FlagSet) map[string]bool {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

// oneArgument returns the single positional argument of a command that
// takes one, such as a client ID.
func oneArgument(fs *flag.FlagSet, what string) (string, error) {
	switch fs.NArg() {
	case 0:
		return "", newUsageError(fs.Name(), "missing %s", what)
	case 1:
		return fs.Arg(0), nil
	default:
		return "", newUsageError(fs.Name(), "too many arguments: want only the %s, got %q", what, fs.Args())
	}
}

// stringsFlag is a repeatable flag. With a separator, each value is
// also split on it, and a space separator splits on any white space.
type stringsFlag struct {
	values    []string
	separator string
}

func (f *stringsFlag) String() string {
	if f == nil {
		return ""
	}
	return strings.Join(f.values, ",")
}

func (f *stringsFlag) Set(s string) error {
	var parts []string
	switch f.separator {
	case "":
		parts = []string{s}
	case " ":
		parts = strings.Fields(s)
	default:
		parts = strings.Split(s, f.separator)
	}
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			f.values = append(f.values, p)
		}
	}
	return nil
}

// disabledNote describes a disabled secret and how to restore it.
func disabledNote(disabled bool) string {
	if !disabled {
		return "no"
	}
	return "yes: it stopped working (seen over plain HTTP); run idp clients rotate-secret"
}
