package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/clients"
	"github.com/idp/idp/provider"
	"github.com/idp/idp/storage"
)

// demoUsername is the demo user --dev creates.
const demoUsername = "demo"

// demoAccount is the demo user and client of a --dev database.
type demoAccount struct {
	username     string
	password     string
	clientID     string
	clientSecret string
}

// markDevDatabase marks the database as a --dev one on first start and
// stores the system secret generated for it. Marking comes first so
// that loadSecretKeys finds the secret.
func markDevDatabase(ctx context.Context, st *storage.Store) error {
	_, err := st.Setting(ctx, storage.SettingDevSeed)
	if err == nil {
		return nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("read the --dev marker: %w", err)
	}
	if _, err := st.Setting(ctx, storage.SettingDevSecret); errors.Is(err, storage.ErrNotFound) {
		if err := st.SetSetting(ctx, storage.SettingDevSecret, devRandom(48)); err != nil {
			return fmt.Errorf("store the --dev system secret: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("read the --dev system secret: %w", err)
	}
	if err := st.SetSetting(ctx, storage.SettingDevSeed, "1"); err != nil {
		return fmt.Errorf("mark the database as a --dev one: %w", err)
	}
	return nil
}

// ensureDemo creates the demo user and the demo client when they are
// missing, and keeps the client's redirect URI in step with the
// issuer. It is safe to run on every start.
func ensureDemo(ctx context.Context, cfg *Config, a *app) (*demoAccount, error) {
	st := a.store
	demo := &demoAccount{username: demoUsername}

	password, err := st.Setting(ctx, storage.SettingDevUserPassword)
	if errors.Is(err, storage.ErrNotFound) {
		password = devRandom(12)
		_, err = a.users.Create(ctx, accounts.NewUser{
			Username: demoUsername,
			Password: password,
			Profile: storage.User{
				Name:              "Dana Demo",
				GivenName:         "Dana",
				FamilyName:        "Demo",
				PreferredUsername: demoUsername,
				Email:             "demo@example.com",
				EmailVerified:     true,
				Locale:            "en",
			},
		})
		if err != nil {
			return nil, fmt.Errorf("create the demo user: %w", err)
		}
		err = st.SetSetting(ctx, storage.SettingDevUserPassword, password)
	}
	if err != nil {
		return nil, fmt.Errorf("demo user password: %w", err)
	}
	demo.password = password

	redirect := provider.DevRedirectURI(cfg.Issuer)
	clientID, err := st.Setting(ctx, storage.SettingDevClientID)
	if errors.Is(err, storage.ErrNotFound) {
		md, err := a.clientRegistry.Create(ctx, clients.Metadata{
			ClientName:              "idp demo app",
			RedirectURIs:            []string{redirect},
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			Scope:                   provider.DevScope,
			TokenEndpointAuthMethod: "client_secret_basic",
		})
		if err != nil {
			return nil, fmt.Errorf("create the demo client: %w", err)
		}
		if err := st.SetSetting(ctx, storage.SettingDevClientSecret, md.ClientSecret); err != nil {
			return nil, fmt.Errorf("store the demo client secret: %w", err)
		}
		if err := st.SetSetting(ctx, storage.SettingDevClientID, md.ClientID); err != nil {
			return nil, fmt.Errorf("store the demo client id: %w", err)
		}
		clientID = md.ClientID
	} else if err != nil {
		return nil, fmt.Errorf("demo client id: %w", err)
	}
	demo.clientID = clientID
	if demo.clientSecret, err = st.Setting(ctx, storage.SettingDevClientSecret); err != nil {
		return nil, fmt.Errorf("demo client secret: %w", err)
	}

	md, err := a.clientRegistry.Get(ctx, clientID)
	if err != nil {
		return nil, fmt.Errorf("load the demo client (delete %s to start over): %w", cfg.Database, err)
	}
	if !slices.Contains(md.RedirectURIs, redirect) {
		md.RedirectURIs = append(md.RedirectURIs, redirect)
		if _, err := a.clientRegistry.Update(ctx, clientID, md); err != nil {
			return nil, fmt.Errorf("add %s to the demo client: %w", redirect, err)
		}
	}
	return demo, nil
}

// printDemo prints the demo credentials to standard output, not to the
// log, which must never hold a secret.
func printDemo(c *cli, cfg *Config, demo *demoAccount) {
	fmt.Fprintf(c.stdout, `
idp is running in development mode (plain HTTP, demo credentials; not for production).

  Try a sign-in:  %s

  Demo user:      %s
  Password:       %s

  Demo client:    %s
  Client secret:  %s
  Redirect URI:   %s

  Database:       %s

`, devURL(cfg.Issuer, provider.DevStartPath), demo.username, demo.password,
		demo.clientID, demo.clientSecret, provider.DevRedirectURI(cfg.Issuer), cfg.Database)
}

// devRandom returns n random bytes, base64url-encoded.
func devRandom(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
