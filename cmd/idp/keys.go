package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/idp/idp/provider"
	"github.com/idp/idp/storage"
)

const keysDescription = `Manage the keys that sign ID tokens.

  list           list every key with its state
  rotate         create the next key; it is published at once and starts
                 signing after --delay, and the current key stays published
                 until every ID token it signed has expired
  withdraw KID   stop publishing and using a key at once, for a key that
                 may be compromised; ID tokens it signed stop verifying.
                 The only key of an algorithm that can sign is kept:
                 rotate that algorithm first, and withdraw the key once
                 the new one is current

Changes take effect on every running instance at its next request.`

// runKeys lists, rotates and withdraws signing keys.
func runKeys(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(c.stdout, "Usage: idp keys list|rotate|withdraw [flags]")
		fmt.Fprintln(c.stdout)
		fmt.Fprintln(c.stdout, keysDescription)
		if len(args) == 0 {
			return newUsageError("keys", "missing subcommand: list, rotate or withdraw")
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	fs := newFlagSet(c, "keys "+sub, "keys "+sub+" [flags]", keysDescription)
	asJSON := fs.Bool("json", false, "print JSON")
	var delay *time.Duration
	var alg *string
	switch sub {
	case "list", "withdraw":
	case "rotate":
		delay = fs.Duration("delay", -1, "how long the new key is published before it signs; 0 signs at once (default: --jwks-cache-lifetime)")
		alg = fs.String("alg", provider.AlgRS256, "signing algorithm of the new key: RS256 or ES256")
	default:
		return newUsageError("keys", "unknown subcommand %q: use list, rotate or withdraw", sub)
	}
	addConfigFlags(fs, append(clientFlags, "jwks-cache-lifetime", "id-token-lifetime", "clock-skew")...)
	cfg, err := loadConfig(c, fs, rest)
	if err != nil {
		return err
	}

	st, err := keysStoreOpener(sub)(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	secrets, err := loadSecretKeys(ctx, c, cfg, st)
	if err != nil {
		return err
	}
	ks := &provider.KeySet{
		Store:           st,
		Secrets:         secrets,
		IDTokenLifetime: cfg.IDTokenLifetime,
		ClockSkew:       cfg.ClockSkew,
		Now:             time.Now,
	}

	switch sub {
	case "rotate":
		if fs.NArg() > 0 {
			return newUsageError("keys", "keys rotate takes no arguments, got %q", fs.Arg(0))
		}
		d := *delay
		if d == -1 {
			d = cfg.JWKSCacheLifetime
		}
		if d < 0 {
			return newUsageError("keys", "--delay %s is negative; give a duration such as 15m, or 0 to sign at once", d)
		}
		k, err := ks.Generate(ctx, *alg, time.Now().Add(d))
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "created key %s (%s); it is published now and starts signing at %s\n",
			k.KID, k.Algorithm, formatTime(k.NotBefore))
		return nil
	case "withdraw":
		if fs.NArg() != 1 {
			return newUsageError("keys", "keys withdraw takes one key id (see idp keys list)")
		}
		kid := fs.Arg(0)
		if err := ks.Withdraw(ctx, kid); errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("no signing key has kid %q; run idp keys list", kid)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "withdrew key %s; it is no longer published or used\n", kid)
		return nil
	}

	infos, err := ks.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.stdout, infos)
	}
	rows := make([][]string, 0, len(infos))
	for _, k := range infos {
		until := ""
		if !k.PublishedUntil.IsZero() {
			until = formatTime(k.PublishedUntil)
		}
		rows = append(rows, []string{k.KID, k.Algorithm, string(k.State), formatTime(k.NotBefore), until})
	}
	return printTable(c.stdout, []string{"KID", "ALG", "STATE", "SIGNS FROM", "PUBLISHED UNTIL"}, rows)
}

// keysStoreOpener returns how the keys subcommand sub opens the
// database: rotate may create it, withdraw needs the key to exist, and
// list only reads it.
func keysStoreOpener(sub string) storeOpener {
	switch sub {
	case "rotate":
		return openStore
	case "withdraw":
		return openExistingStore
	default:
		return openStoreToRead
	}
}
