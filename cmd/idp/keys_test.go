package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/idp/idp/provider"
)

// keyStates runs idp keys list and returns the state of each key by kid.
func keyStates(t *testing.T, env map[string]string) map[string]provider.KeyState {
	t.Helper()
	r := runIDP(t, invocation{env: env}, "keys", "list", "--json")
	wantCode(t, r, 0)
	var infos []provider.KeyInfo
	if err := json.Unmarshal([]byte(r.stdout), &infos); err != nil {
		t.Fatalf("decode keys list: %v\n%s", err, r.stdout)
	}
	states := map[string]provider.KeyState{}
	for _, k := range infos {
		states[k.KID] = k.State
	}
	return states
}

// rotateKey runs idp keys rotate with args and returns the new kid.
func rotateKey(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	r := runIDP(t, invocation{env: env}, append([]string{"keys", "rotate"}, args...)...)
	wantCode(t, r, 0)
	kid, _, ok := strings.Cut(strings.TrimPrefix(r.stdout, "created key "), " ")
	if !ok || kid == "" {
		t.Fatalf("no kid in rotate output: %q", r.stdout)
	}
	return kid
}

func TestKeysWithdrawLastKeyRejected(t *testing.T) {
	env := testEnv(t)
	first := rotateKey(t, env, "--alg", "ES256", "--delay", "0")

	r := runIDP(t, invocation{env: env}, "keys", "withdraw", first)
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "key "+first, "only ES256 key", "idp keys rotate --alg ES256")
	if got := keyStates(t, env)[first]; got != provider.KeyCurrent {
		t.Errorf("state after the rejected withdrawal: got %s, want current", got)
	}

	// A key that has not started signing does not count: the first key
	// stays the only one that signs until the delay has passed.
	next := rotateKey(t, env, "--alg", "ES256", "--delay", "1h")
	r = runIDP(t, invocation{env: env}, "keys", "withdraw", first)
	wantCode(t, r, 1)
	wantContains(t, "stderr", r.stderr, "key "+first, "until key "+next)
	if got := keyStates(t, env)[first]; got != provider.KeyCurrent {
		t.Errorf("state with a pending successor: got %s, want current", got)
	}

	// The pending key itself can go, because the first key still signs.
	r = runIDP(t, invocation{env: env}, "keys", "withdraw", next)
	wantCode(t, r, 0)
}

func TestKeysWithdrawAfterRotation(t *testing.T) {
	env := testEnv(t)
	first := rotateKey(t, env, "--alg", "ES256", "--delay", "0")
	second := rotateKey(t, env, "--alg", "ES256", "--delay", "0")

	r := runIDP(t, invocation{env: env}, "keys", "withdraw", first)
	wantCode(t, r, 0)
	wantContains(t, "stdout", r.stdout, "withdrew key "+first)

	states := keyStates(t, env)
	if states[first] != provider.KeyWithdrawn {
		t.Errorf("old key: got %s, want withdrawn", states[first])
	}
	if states[second] != provider.KeyCurrent {
		t.Errorf("new key: got %s, want current", states[second])
	}
}
