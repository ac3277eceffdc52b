package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/provider"
)

// TestJanitorKeepsDatabaseBounded issues tokens with a one-second
// lifetime in rounds and cleans up between them: every round deletes
// what the previous one issued, so rows do not pile up under a steady
// load.
func TestJanitorKeepsDatabaseBounded(t *testing.T) {
	p := newTestProvider(t, func(c *Config) { c.AccessTokenLifetime = time.Second })
	md := p.createClient(clients.Metadata{
		ClientName: "Batch job", GrantTypes: []string{"client_credentials"}, RedirectURIs: []string{}, Scope: "profile",
	})
	rp := p.newRelyingParty(md)
	const perRound = 20

	for round := range 3 {
		for range perRound {
			if got := rp.post(p.issuer+provider.TokenPath, url.Values{"grant_type": {"client_credentials"}}); got.status != http.StatusOK {
				t.Fatalf("token: %d %s", got.status, got.body)
			}
		}
		time.Sleep(1100 * time.Millisecond)
		counts, err := p.app.store.DeleteExpired(context.Background(), cleanupOptions(p.app.cfg, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if counts["access_tokens"] != perRound {
			t.Errorf("round %d: deleted %d access tokens, want the %d just expired", round, counts["access_tokens"], perRound)
		}
	}
	counts, err := p.app.store.DeleteExpired(context.Background(), cleanupOptions(p.app.cfg, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if counts.Total() != 0 {
		t.Errorf("rows left after the last round: %v", counts)
	}
}
