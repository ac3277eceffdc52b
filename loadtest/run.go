package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scenario names what a run measures.
type Scenario string

// The scenarios.
const (
	// ClientCredentials requests a token with the client credentials
	// grant.
	ClientCredentials Scenario = "client_credentials"
	// Introspect introspects one access token obtained before the run.
	Introspect Scenario = "introspect"
	// Refresh redeems refresh tokens; each worker follows its own
	// rotation chain, started with an authorization code flow.
	Refresh Scenario = "refresh"
	// AuthCode runs whole authorization code flows with PKCE through
	// idp's login and consent pages, ending with the code exchange.
	AuthCode Scenario = "authcode"
)

// Scenarios lists every scenario.
var Scenarios = []Scenario{ClientCredentials, Introspect, Refresh, AuthCode}

// Config is a run's settings.
type Config struct {
	// Issuer is the provider's issuer URL; discovery is read from it.
	Issuer       string
	ClientID     string
	ClientSecret string
	// Username and Password sign in for the authcode and refresh
	// scenarios, and for introspect when Username is set.
	Username string
	Password string
	// RedirectURI is a redirect URI registered for the client (default
	// http://127.0.0.1/callback). Nothing is ever sent to it.
	RedirectURI string
	// Scope is the scope requested; empty means the scenario's default:
	// none for client_credentials, "openid" for authcode and
	// "openid offline_access" for refresh.
	Scope string
	// Scenario is the scenario to run; empty runs only the baseline.
	Scenario Scenario
	// ReuseSession makes each authcode worker sign in once and reuse its
	// cookies, as single sign-on does; otherwise every flow signs in.
	ReuseSession bool
	// Concurrency is the number of workers (default 16).
	Concurrency int
	// Duration bounds the measured part of a run. Zero means no bound,
	// which requires Requests.
	Duration time.Duration
	// Requests is the total number of operations per run; zero means no
	// bound, which requires Duration.
	Requests int
	// InsecureSkipVerify turns off TLS certificate verification, for a
	// provider with a self-signed test certificate.
	InsecureSkipVerify bool
	// Baseline runs the baseline before the scenario.
	Baseline bool
	// Progress receives a progress line once a second; nil turns it off.
	Progress io.Writer
	// ProgressIsTerminal reports whether Progress is a terminal, where
	// each line overwrites the previous one.
	ProgressIsTerminal bool
	// Transport sends the requests to the provider (default
	// NewTransport). Tests and benchmarks pass an in-process one.
	Transport http.RoundTripper
}

// DefaultRedirectURI is the redirect URI used when Config.RedirectURI is
// empty: a loopback URI, which idp accepts for native apps.
const DefaultRedirectURI = "http://127.0.0.1/callback"

// Report is the outcome of Run.
type Report struct {
	Baseline *Summary `json:"baseline,omitempty"`
	Scenario *Summary `json:"scenario,omitempty"`
	// FractionOfBaseline is the scenario's rate divided by the
	// baseline's, when both ran.
	FractionOfBaseline float64 `json:"fraction_of_baseline,omitempty"`
}

// Validate fills the defaults of unset fields and checks the settings.
func (c *Config) Validate() error {
	if c.Concurrency == 0 {
		c.Concurrency = 16
	}
	if c.RedirectURI == "" {
		c.RedirectURI = DefaultRedirectURI
	}
	switch {
	case c.Concurrency < 0:
		return fmt.Errorf("concurrency %d is negative; use at least 1", c.Concurrency)
	case c.Duration < 0 || c.Requests < 0:
		return errors.New("duration and requests must not be negative")
	case c.Duration == 0 && c.Requests == 0:
		return errors.New("set a duration, a number of requests, or both")
	case c.Scenario == "" && !c.Baseline:
		return errors.New("name a scenario, ask for the baseline, or both")
	case c.Scenario == "":
		return nil
	case c.Issuer == "":
		return errors.New("the issuer URL is missing")
	case c.ClientID == "" || c.ClientSecret == "":
		return errors.New("the client id and client secret are missing")
	}
	needsUser := c.Scenario == AuthCode || c.Scenario == Refresh
	switch {
	case !isScenario(c.Scenario):
		return fmt.Errorf("unknown scenario %q; use one of %s", c.Scenario, scenarioList())
	case needsUser && (c.Username == "" || c.Password == ""):
		return fmt.Errorf("scenario %s signs in and needs a username and password", c.Scenario)
	}
	return nil
}

func isScenario(s Scenario) bool {
	for _, known := range Scenarios {
		if s == known {
			return true
		}
	}
	return false
}

func scenarioList() string {
	names := make([]string, len(Scenarios))
	for i, s := range Scenarios {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// scope returns the scope the scenario requests.
func (c *Config) scope() string {
	if c.Scope != "" {
		return c.Scope
	}
	switch c.Scenario {
	case AuthCode:
		return "openid"
	case Refresh:
		return "openid offline_access"
	}
	return ""
}

// Run runs the baseline, the scenario or both and returns their
// summaries. Errors of single operations are counted in the summary;
// Run returns an error only when a run cannot start, for example when
// discovery or the tokens a scenario needs up front fail.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	var report Report
	if cfg.Baseline {
		s, err := runBaseline(ctx, cfg)
		if err != nil {
			return Report{}, fmt.Errorf("baseline: %w", err)
		}
		report.Baseline = &s
	}
	if cfg.Scenario != "" {
		s, err := runScenario(ctx, cfg)
		if err != nil {
			return report, fmt.Errorf("scenario %s: %w", cfg.Scenario, err)
		}
		report.Scenario = &s
	}
	if report.Baseline != nil && report.Scenario != nil && report.Baseline.Rate > 0 {
		report.FractionOfBaseline = report.Scenario.Rate / report.Baseline.Rate
	}
	return report, nil
}

// newDriver discovers the provider's endpoints and returns a driver for
// the configured client.
func newDriver(ctx context.Context, cfg Config) (*Driver, error) {
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer %q: %w", cfg.Issuer, err)
	}
	rt := cfg.Transport
	if rt == nil {
		rt = NewTransport(cfg.Concurrency, cfg.InsecureSkipVerify)
	}
	client := NewClient(rt, issuer)
	ep, err := Discover(ctx, client, cfg.Issuer)
	if err != nil {
		return nil, err
	}
	return &Driver{
		HTTP:         client,
		Endpoints:    ep,
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Username:     cfg.Username,
		Password:     cfg.Password,
		RedirectURI:  cfg.RedirectURI,
	}, nil
}

// operation is one measured unit of work of a worker.
type operation func(ctx context.Context) error

func runScenario(ctx context.Context, cfg Config) (Summary, error) {
	d, err := newDriver(ctx, cfg)
	if err != nil {
		return Summary{}, err
	}
	ops, err := prepare(ctx, cfg, d)
	if err != nil {
		return Summary{}, err
	}
	before := d.HTTPRequests()
	s := drive(ctx, cfg, string(cfg.Scenario), ops)
	s.HTTPRequests = d.HTTPRequests() - before
	return s, nil
}

// prepare obtains what the scenario needs before the clock starts and
// returns one operation per worker.
func prepare(ctx context.Context, cfg Config, d *Driver) ([]operation, error) {
	scope := cfg.scope()
	ops := make([]operation, cfg.Concurrency)
	switch cfg.Scenario {
	case ClientCredentials:
		for i := range ops {
			ops[i] = func(ctx context.Context) error {
				_, err := d.ClientCredentials(ctx, scope)
				return err
			}
		}
		return ops, nil

	case Introspect:
		token, err := introspectedToken(ctx, cfg, d)
		if err != nil {
			return nil, err
		}
		for i := range ops {
			ops[i] = func(ctx context.Context) error { return d.Introspect(ctx, token) }
		}
		return ops, nil

	case Refresh:
		return forEachWorker(ctx, ops, func(ctx context.Context) (operation, error) {
			chain := &refreshChain{d: d, scope: scope}
			if err := chain.start(ctx); err != nil {
				return nil, fmt.Errorf("obtain a refresh token: %w", err)
			}
			return chain.next, nil
		})

	case AuthCode:
		return forEachWorker(ctx, ops, func(ctx context.Context) (operation, error) {
			if !cfg.ReuseSession {
				return func(ctx context.Context) error {
					return checkFlow(d.AuthCode(ctx, newJar(), scope))
				}, nil
			}
			jar := newJar()
			if err := checkFlow(d.AuthCode(ctx, jar, scope)); err != nil {
				return nil, fmt.Errorf("sign in before the run: %w", err)
			}
			return func(ctx context.Context) error { return checkFlow(d.AuthCode(ctx, jar, scope)) }, nil
		})
	}
	return nil, fmt.Errorf("unknown scenario %q", cfg.Scenario)
}

// forEachWorker calls setup for every worker at once and fills ops with
// the operations it returns.
func forEachWorker(ctx context.Context, ops []operation, setup func(context.Context) (operation, error)) ([]operation, error) {
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	for i := range ops {
		wg.Go(func() { ops[i], errs[i] = setup(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ops, nil
}

// introspectedToken obtains the access token the introspect scenario
// introspects: from an authorization code flow when a username is set,
// otherwise from the client credentials grant.
func introspectedToken(ctx context.Context, cfg Config, d *Driver) (string, error) {
	var tok TokenResponse
	var err error
	if cfg.Username != "" {
		tok, err = d.AuthCode(ctx, newJar(), "openid")
	} else {
		tok, err = d.ClientCredentials(ctx, cfg.Scope)
	}
	if err != nil {
		return "", fmt.Errorf("obtain the access token to introspect: %w", err)
	}
	return tok.AccessToken, nil
}

// checkFlow returns an error when a flow that asked for openid returned
// no ID token.
func checkFlow(tok TokenResponse, err error) error {
	if err != nil {
		return err
	}
	if tok.IDToken == "" {
		return fmt.Errorf("%w: token response without id_token", errBadResponse)
	}
	return nil
}

// refreshChain is one worker's sequence of rotating refresh tokens.
type refreshChain struct {
	d       *Driver
	scope   string
	current string
}

// start begins a new chain with an authorization code flow.
func (c *refreshChain) start(ctx context.Context) error {
	tok, err := c.d.AuthCode(ctx, newJar(), c.scope)
	if err != nil {
		return err
	}
	if tok.RefreshToken == "" {
		return fmt.Errorf("%w: no refresh_token for scope %q; the client needs the refresh_token grant and offline_access", errBadResponse, c.scope)
	}
	c.current = tok.RefreshToken
	return nil
}

// next redeems the current refresh token. After a failure the chain may
// be revoked, so a new one is started; that flow's own error is
// dropped because the next redemption reports it.
func (c *refreshChain) next(ctx context.Context) error {
	tok, err := c.d.Refresh(ctx, c.current)
	if err != nil {
		if ctx.Err() == nil {
			_ = c.start(ctx)
		}
		return err
	}
	c.current = tok.RefreshToken
	return nil
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}

// drive runs one operation per worker in a loop until the duration
// passes or the requests are done, and summarizes what they measured.
func drive(ctx context.Context, cfg Config, name string, ops []operation) Summary {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		runCtx, cancel = context.WithTimeout(runCtx, cfg.Duration)
		defer cancel()
	}

	var started, done, failed atomic.Int64
	records := make([]*record, len(ops))
	start := time.Now()
	stopProgress := startProgress(cfg, name, start, &done, &failed)
	var wg sync.WaitGroup
	for i, op := range ops {
		rec := &record{errors: map[string]int{}}
		records[i] = rec
		wg.Go(func() {
			for runCtx.Err() == nil {
				if cfg.Requests > 0 && started.Add(1) > int64(cfg.Requests) {
					return
				}
				t0 := time.Now()
				err := op(runCtx)
				elapsed := time.Since(t0)
				if runCtx.Err() != nil {
					// The run ended while this operation was in flight;
					// it counts neither as a success nor as an error.
					return
				}
				done.Add(1)
				if err != nil {
					failed.Add(1)
					rec.errors[Kind(err)]++
					continue
				}
				rec.latencies = append(rec.latencies, elapsed)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	return summarize(name, len(ops), elapsed, records)
}

// startProgress prints a progress line once a second until the
// returned function is called.
func startProgress(cfg Config, name string, start time.Time, done, failed *atomic.Int64) (stop func()) {
	if cfg.Progress == nil {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		var last int64
		for {
			select {
			case <-quit:
				if cfg.ProgressIsTerminal {
					fmt.Fprint(cfg.Progress, "\r\033[K")
				}
				return
			case now := <-ticker.C:
				n := done.Load()
				line := fmt.Sprintf("%s: %3.0fs  %d requests  %d/s  %d errors",
					name, now.Sub(start).Seconds(), n, n-last, failed.Load())
				last = n
				if cfg.ProgressIsTerminal {
					fmt.Fprintf(cfg.Progress, "\r\033[K%s", line)
				} else {
					fmt.Fprintln(cfg.Progress, line)
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}
