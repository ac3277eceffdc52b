package main

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/storage"
)

func TestUsersRevokeConsent(t *testing.T) {
	p := newTestProvider(t)
	p.createUser("alice")
	md := p.createClient(clients.Metadata{})
	rp := p.newRelyingParty(md)
	b := p.newBrowser()
	scope := map[string]string{"scope": "openid profile"}
	verifier := oauth2.GenerateVerifier()
	code := signIn(t, b, rp.authURL(verifier, scope), "alice", testPassword).Query().Get("code")
	tok := rp.exchange(code, verifier)

	r := runIDP(t, invocation{env: map[string]string{"IDP_DATABASE": p.app.cfg.Database}},
		"users", "revoke-consent", "alice", md.ClientID)
	wantCode(t, r, 0)

	if got := rp.introspect(tok.json["access_token"].(string)); got.json["active"] != false {
		t.Errorf("access token after revoke-consent: %s", got.body)
	}
	if got := b.get(rp.authURL(oauth2.GenerateVerifier(), scope)); !strings.Contains(got.body, `name="decision"`) {
		t.Errorf("after revoke-consent: got %d to %q, want the consent page again", got.status, got.location)
	}
	events, err := p.app.store.ListEvents(context.Background(), storage.EventFilter{Kind: storage.EventConsentRevoked})
	if err != nil || len(events) != 1 || events[0].ClientID != md.ClientID {
		t.Errorf("consent revoked events: %v %v", events, err)
	}

	wantCode(t, runIDP(t, invocation{env: map[string]string{"IDP_DATABASE": p.app.cfg.Database}},
		"users", "revoke-consent", "alice", "no-such-client"), 1)
}
