package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/idp/idp/loadtest"
)

const loadtestDescription = `Measure a provider under load: run one scenario with concurrent workers and
print requests per second, latency percentiles and errors by kind.

The endpoints come from the discovery document of --issuer, and every
request goes to the issuer's origin only; redirects elsewhere count as
errors. Scenarios:

  client_credentials  token requests with the client credentials grant
  introspect          introspection of one access token obtained first
  refresh             refresh token rotation, one chain per worker, each
                      started by an authorization code flow
  authcode            whole authorization code flows with PKCE through idp's
                      login and consent pages, ending with the code exchange;
                      with --reuse-session each worker signs in once and
                      later flows use its session (single sign-on)

--baseline first runs the same client against a minimal server on
127.0.0.1 that returns a fixed token response, then prints the scenario's
rate as a fraction of it. The client secret and the password can also
come from IDP_LOADTEST_CLIENT_SECRET and IDP_LOADTEST_PASSWORD.`

// runLoadtest runs idp loadtest.
func runLoadtest(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "loadtest", "loadtest --scenario NAME --issuer URL [flags]", loadtestDescription)
	var cfg loadtest.Config
	var scenario string
	fs.StringVar(&scenario, "scenario", "", "scenario to run: client_credentials, introspect, refresh or authcode")
	fs.StringVar(&cfg.Issuer, "issuer", "", "issuer URL of the provider under test")
	fs.StringVar(&cfg.ClientID, "client-id", "", "client_id of a confidential client")
	fs.StringVar(&cfg.ClientSecret, "client-secret", "", "client secret (default $IDP_LOADTEST_CLIENT_SECRET)")
	fs.StringVar(&cfg.Username, "username", "", "user that signs in, for authcode, refresh and optionally introspect")
	fs.StringVar(&cfg.Password, "password", "", "password of --username (default $IDP_LOADTEST_PASSWORD)")
	fs.StringVar(&cfg.RedirectURI, "redirect-uri", loadtest.DefaultRedirectURI, "redirect URI registered for the client; nothing is sent to it")
	fs.StringVar(&cfg.Scope, "scope", "", `scope to request (default: none for client_credentials, "openid" for authcode, "openid offline_access" for refresh)`)
	fs.BoolVar(&cfg.ReuseSession, "reuse-session", false, "authcode: sign in once per worker and reuse the session")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "number of concurrent workers")
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long each run lasts")
	fs.IntVar(&cfg.Requests, "requests", 0, "total requests per run; without --duration the run lasts until they are done")
	fs.BoolVar(&cfg.InsecureSkipVerify, "insecure-skip-verify", false, "do not verify the provider's TLS certificate (self-signed test certificates only)")
	fs.BoolVar(&cfg.Baseline, "baseline", false, "run the baseline first and report the scenario as a fraction of it")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return newUsageError("loadtest", "loadtest takes no arguments, got %q", fs.Arg(0))
	}
	cfg.Scenario = loadtest.Scenario(scenario)

	// --requests alone replaces the default duration.
	durationSet := false
	fs.Visit(func(f *flag.Flag) { durationSet = durationSet || f.Name == "duration" })
	if cfg.Requests > 0 && !durationSet {
		cfg.Duration = 0
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = c.getenv("IDP_LOADTEST_CLIENT_SECRET")
	}
	if cfg.Password == "" {
		cfg.Password = c.getenv("IDP_LOADTEST_PASSWORD")
	}
	if cfg.Issuer != "" && !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://") {
		return newUsageError("loadtest", "--issuer %q is not an http or https URL", cfg.Issuer)
	}

	if err := cfg.Validate(); err != nil {
		return newUsageError("loadtest", "%v", err)
	}
	cfg.Progress = c.stderr
	if f, ok := c.stderr.(*os.File); ok {
		cfg.ProgressIsTerminal = term.IsTerminal(int(f.Fd()))
	}
	report, err := loadtest.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("loadtest interrupted")
		}
		return err
	}
	if *asJSON {
		return loadtest.WriteJSON(c.stdout, report)
	}
	return loadtest.WriteText(c.stdout, report)
}
