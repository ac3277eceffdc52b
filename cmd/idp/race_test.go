package main

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/provider"
)

// raceCount is how many requests race for one code or refresh token.
const raceCount = 16

// race sends the same token request raceCount times at once and counts
// the responses by status.
func race(t *testing.T, rp *relyingParty, form url.Values) (ok, invalidGrant int, results []tokenResponse) {
	t.Helper()
	var wg sync.WaitGroup
	results = make([]tokenResponse, raceCount)
	start := make(chan struct{})
	for i := range raceCount {
		wg.Go(func() {
			<-start
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			results[i] = rp.post(rp.p.issuer+provider.TokenPath, f)
		})
	}
	close(start)
	wg.Wait()
	for _, r := range results {
		switch {
		case r.status == http.StatusOK:
			ok++
		case r.status == http.StatusBadRequest && r.json["error"] == "invalid_grant":
			invalidGrant++
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.body)
		}
	}
	return ok, invalidGrant, results
}

func TestConcurrentCodeRedemption(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")

	ok, invalid, results := race(t, rp, url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {rp.config.RedirectURL}, "code_verifier": {verifier},
	})
	if ok > 1 {
		t.Fatalf("%d redemptions of one code succeeded", ok)
	}
	if ok+invalid != raceCount {
		t.Errorf("got %d successes and %d invalid_grant of %d", ok, invalid, raceCount)
	}
	// The losers count as reuse, so whatever the winner got is revoked.
	for _, r := range results {
		if r.status == http.StatusOK {
			if got := rp.introspect(r.json["access_token"].(string)); got.json["active"] != false {
				t.Errorf("token of a raced code still active: %s", got.body)
			}
		}
	}
}

func TestConcurrentRefresh(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	rp := p.newRelyingParty(p.createClient(clients.Metadata{}))
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, p.newBrowser(), rp.authURL(verifier, nil), "alice", testPassword).Query().Get("code")
	tok := rp.exchange(code, verifier)

	ok, invalid, results := race(t, rp, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tok.json["refresh_token"].(string)},
	})
	if ok > 1 {
		t.Fatalf("%d refreshes with one refresh token succeeded", ok)
	}
	if ok+invalid != raceCount {
		t.Errorf("got %d successes and %d invalid_grant of %d", ok, invalid, raceCount)
	}
	for _, r := range results {
		if r.status == http.StatusOK {
			if got := rp.refresh(r.json["refresh_token"].(string)); got.json["error"] != "invalid_grant" {
				t.Errorf("refresh token from a raced rotation still works: %d %s", got.status, got.body)
			}
		}
	}
}
