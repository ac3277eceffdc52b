package loadtest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// maxBodyBytes bounds how much of a response body is read.
const maxBodyBytes = 1 << 20

// requestTimeout bounds each HTTP request, so a stalled server shows up
// as timeouts instead of a run that never ends.
const requestTimeout = 30 * time.Second

// NewTransport returns the HTTP transport of a run: it keeps up to
// concurrency idle connections to the one host it talks to, so workers
// reuse connections the way a busy relying party does.
func NewTransport(concurrency int, insecureSkipVerify bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxIdleConns = concurrency * 2
	t.MaxIdleConnsPerHost = concurrency * 2
	t.ForceAttemptHTTP2 = false
	t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	if insecureSkipVerify {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return t
}

// sameOrigin reports whether u has the scheme and host (with port) of
// origin.
func sameOrigin(u, origin *url.URL) bool {
	return strings.EqualFold(u.Scheme, origin.Scheme) && strings.EqualFold(u.Host, origin.Host)
}

// NewClient returns an HTTP client that follows redirects only within
// the origin of issuer and fails with an "other origin" error on any
// redirect elsewhere.
func NewClient(rt http.RoundTripper, issuer *url.URL) *http.Client {
	return &http.Client{
		Transport: rt,
		Timeout:   requestTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !sameOrigin(req.URL, issuer) {
				return fmt.Errorf("redirect to %s://%s: %w", req.URL.Scheme, req.URL.Host, errOtherOrigin)
			}
			if len(via) >= 10 {
				return fmt.Errorf("stopped after %d redirects", len(via))
			}
			return nil
		},
	}
}

// Endpoints are the provider endpoints a run uses, from discovery.
type Endpoints struct {
	Issuer        string `json:"issuer"`
	Authorization string `json:"authorization_endpoint"`
	Token         string `json:"token_endpoint"`
	Introspection string `json:"introspection_endpoint"`
}

// Discover reads the OpenID Connect discovery document of issuer and
// checks that the issuer matches and that every endpoint it lists is in
// the issuer's origin, because a run talks to that origin only.
func Discover(ctx context.Context, client *http.Client, issuer string) (Endpoints, error) {
	base, err := url.Parse(issuer)
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return Endpoints{}, fmt.Errorf("issuer %q is not an absolute http or https URL", issuer)
	}

	docURL := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return Endpoints{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Endpoints{}, fmt.Errorf("discovery at %s: %w", docURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Endpoints{}, fmt.Errorf("discovery at %s: %w", docURL, &StatusError{Code: resp.StatusCode})
	}

	var ep Endpoints
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBodyBytes)).Decode(&ep); err != nil {
		return Endpoints{}, fmt.Errorf("discovery at %s: invalid JSON: %w", docURL, err)
	}
	if ep.Issuer != issuer {
		return Endpoints{}, fmt.Errorf("discovery at %s names issuer %q, expected %q", docURL, ep.Issuer, issuer)
	}
	for name, raw := range map[string]string{
		"authorization_endpoint": ep.Authorization,
		"token_endpoint":         ep.Token,
		"introspection_endpoint": ep.Introspection,
	} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || !sameOrigin(u, base) {
			return Endpoints{}, fmt.Errorf("discovery lists %s %q outside the issuer's origin: %w", name, raw, errOtherOrigin)
		}
	}
	if ep.Token == "" {
		return Endpoints{}, fmt.Errorf("discovery at %s lists no token_endpoint", docURL)
	}
	return ep, nil
}

// TokenResponse is an RFC 6749 section 5.1 access token response.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// Driver sends the requests of the scenarios to one provider as one
// client. It is safe for concurrent use.
type Driver struct {
	// HTTP sends every request. Use NewClient for one that stays in the
	// issuer's origin.
	HTTP      *http.Client
	Endpoints Endpoints
	// ClientID and ClientSecret authenticate with client_secret_basic.
	ClientID     string
	ClientSecret string
	// Username and Password sign in on the login page of the
	// authorization code flow.
	Username string
	Password string
	// RedirectURI is the registered redirect URI sent in authorization
	// requests. The flow stops at the redirect to it.
	RedirectURI string

	// httpRequests counts the HTTP requests sent.
	httpRequests atomic.Int64
}

// HTTPRequests returns the number of HTTP requests d has sent.
func (d *Driver) HTTPRequests() int64 { return d.httpRequests.Load() }

// postForm sends an authenticated form to a token-style endpoint and
// decodes a 200 JSON response into out.
func (d *Driver) postForm(ctx context.Context, endpoint string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 section 2.3.1: both parts are form-encoded first.
	req.SetBasicAuth(url.QueryEscape(d.ClientID), url.QueryEscape(d.ClientSecret))
	d.httpRequests.Add(1)
	resp, err := d.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var oauthErr struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &oauthErr)
		return &StatusError{Code: resp.StatusCode, OAuthError: oauthErr.Error}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: invalid JSON from %s: %v", errBadResponse, endpoint, err)
	}
	return nil
}

// requestToken posts a token request and checks that it returned an
// access token.
func (d *Driver) requestToken(ctx context.Context, form url.Values) (TokenResponse, error) {
	var tok TokenResponse
	if err := d.postForm(ctx, d.Endpoints.Token, form, &tok); err != nil {
		return TokenResponse{}, err
	}
	if tok.AccessToken == "" {
		return TokenResponse{}, fmt.Errorf("%w: token response without access_token", errBadResponse)
	}
	return tok, nil
}

// ClientCredentials requests an access token with the client
// credentials grant. An empty scope sends no scope parameter.
func (d *Driver) ClientCredentials(ctx context.Context, scope string) (TokenResponse, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return d.requestToken(ctx, form)
}

// Refresh redeems a refresh token. The response must hold a new one,
// because the refresh scenario follows the rotation.
func (d *Driver) Refresh(ctx context.Context, refreshToken string) (TokenResponse, error) {
	tok, err := d.requestToken(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
	if err != nil {
		return TokenResponse{}, err
	}
	if tok.RefreshToken == "" {
		return TokenResponse{}, fmt.Errorf("%w: refresh response without refresh_token", errBadResponse)
	}
	return tok, nil
}

// Introspect introspects an access token (RFC 7662) and returns an error
// unless the provider reports it active.
func (d *Driver) Introspect(ctx context.Context, token string) error {
	if d.Endpoints.Introspection == "" {
		return fmt.Errorf("the provider lists no introspection_endpoint in its discovery document")
	}
	var out struct {
		Active bool `json:"active"`
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	if err := d.postForm(ctx, d.Endpoints.Introspection, form, &out); err != nil {
		return err
	}
	if !out.Active {
		return fmt.Errorf("%w: introspection reports the token inactive", errBadResponse)
	}
	return nil
}
