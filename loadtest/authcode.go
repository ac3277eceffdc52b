package loadtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// maxFlowSteps bounds the requests of one authorization flow, so a
// redirect loop fails instead of running forever.
const maxFlowSteps = 12

// randomString returns 32 random bytes, base64url-encoded (43
// characters): the form RFC 7636 section 4.1 recommends for a verifier.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuthCode runs a whole authorization code flow with PKCE S256 and
// exchanges the code for tokens. jar holds the browser's cookies: one
// that already signed in and remembered consent makes this a single
// sign-on flow, an empty one signs in on the login page.
func (d *Driver) AuthCode(ctx context.Context, jar http.CookieJar, scope string) (TokenResponse, error) {
	code, verifier, err := d.Authorize(ctx, jar, scope)
	if err != nil {
		return TokenResponse{}, err
	}
	return d.ExchangeCode(ctx, code, verifier)
}

// ExchangeCode redeems an authorization code with its PKCE verifier.
func (d *Driver) ExchangeCode(ctx context.Context, code, verifier string) (TokenResponse, error) {
	return d.requestToken(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {d.RedirectURI},
		"code_verifier": {verifier},
	})
}

// Authorize runs the browser part of an authorization code flow and
// returns the code from the redirect to RedirectURI with its PKCE
// verifier. It fills idp's login and consent forms when they appear,
// approving and remembering the consent. Redirects within the issuer's
// origin are followed, and any other redirect is an error.
func (d *Driver) Authorize(ctx context.Context, jar http.CookieJar, scope string) (code, verifier string, err error) {
	if d.Endpoints.Authorization == "" {
		return "", "", fmt.Errorf("the provider lists no authorization_endpoint in its discovery document")
	}
	issuer, err := url.Parse(d.Endpoints.Issuer)
	if err != nil {
		return "", "", err
	}
	browser := &http.Client{
		Transport: d.HTTP.Transport,
		Jar:       jar,
		Timeout:   requestTimeout,
		// Every redirect is followed below, after the origin check.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	verifier = randomString()
	challenge := sha256.Sum256([]byte(verifier))
	state := randomString()
	query := url.Values{
		"response_type":         {"code"},
		"client_id":             {d.ClientID},
		"redirect_uri":          {d.RedirectURI},
		"scope":                 {scope},
		"state":                 {state},
		"nonce":                 {randomString()},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.Endpoints.Authorization+"?"+query.Encode(), nil)
	if err != nil {
		return "", "", err
	}

	for range maxFlowSteps {
		step, err := d.send(browser, req)
		if err != nil {
			return "", "", err
		}
		switch {
		case step.location != nil && strings.HasPrefix(step.location.String(), d.RedirectURI):
			code, err := codeFrom(step.location, state)
			return code, verifier, err
		case step.location != nil:
			if !sameOrigin(step.location, issuer) {
				return "", "", fmt.Errorf("redirect to %s://%s: %w", step.location.Scheme, step.location.Host, errOtherOrigin)
			}
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, step.location.String(), nil)
		case step.status == http.StatusOK:
			req, err = d.fillForm(ctx, step, issuer)
		default:
			return "", "", &StatusError{Code: step.status}
		}
		if err != nil {
			return "", "", err
		}
	}
	return "", "", fmt.Errorf("%w: no redirect to the client after %d requests", errBadResponse, maxFlowSteps)
}

// flowStep is one response of an authorization flow.
type flowStep struct {
	url    *url.URL
	status int
	// location is the resolved Location of a redirect, nil otherwise.
	location *url.URL
	body     string
}

func (d *Driver) send(browser *http.Client, req *http.Request) (flowStep, error) {
	d.httpRequests.Add(1)
	resp, err := browser.Do(req)
	if err != nil {
		return flowStep{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		return flowStep{}, err
	}
	step := flowStep{url: req.URL, status: resp.StatusCode, body: string(body)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, err := resp.Location()
		if err != nil {
			return flowStep{}, fmt.Errorf("%w: redirect without a valid Location: %v", errBadResponse, err)
		}
		step.location = loc
	}
	return step, nil
}

// codeFrom returns the code of the redirect to the client, after
// checking state.
func codeFrom(back *url.URL, state string) (string, error) {
	q := back.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("%w: authorization error %q", errBadResponse, e)
	}
	if q.Get("state") != state {
		return "", fmt.Errorf("%w: state in the redirect does not match", errBadResponse)
	}
	if q.Get("code") == "" {
		return "", fmt.Errorf("%w: redirect to the client without a code", errBadResponse)
	}
	return q.Get("code"), nil
}

var (
	formPattern  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputPattern = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrPattern  = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*"([^"]*)"`)
)

// attributes returns the double-quoted attributes of a tag, unescaped.
func attributes(tag string) map[string]string {
	out := map[string]string{}
	for _, m := range attrPattern.FindAllStringSubmatch(tag, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

// fillForm builds the submission of the first form on a login or
// consent page: its hidden fields plus the credentials, or the approval
// of the requested scopes with the decision remembered.
func (d *Driver) fillForm(ctx context.Context, step flowStep, issuer *url.URL) (*http.Request, error) {
	m := formPattern.FindStringSubmatch(step.body)
	if m == nil {
		return nil, fmt.Errorf("%w: page %s has no form", errBadResponse, step.url.Path)
	}
	form := url.Values{}
	names := map[string]bool{}
	for _, in := range inputPattern.FindAllStringSubmatch(m[2], -1) {
		a := attributes(in[1])
		names[a["name"]] = true
		if strings.EqualFold(a["type"], "hidden") && a["name"] != "" {
			form.Set(a["name"], a["value"])
		}
	}
	switch {
	case names["password"]:
		form.Set("username", d.Username)
		form.Set("password", d.Password)
	case strings.Contains(m[2], `name="decision"`):
		form.Set("decision", "approve")
		form.Set("remember", "on")
	default:
		return nil, fmt.Errorf("%w: page %s has neither a login nor a consent form", errBadResponse, step.url.Path)
	}

	action, err := step.url.Parse(attributes(m[1])["action"])
	if err != nil || !sameOrigin(action, issuer) {
		return nil, fmt.Errorf("form action on %s: %w", step.url.Path, errOtherOrigin)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", issuer.Scheme+"://"+issuer.Host)
	return req, nil
}
