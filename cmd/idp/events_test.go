package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idp/idp/storage"
)

// decodeEvents parses the JSON output of idp events.
func decodeEvents(t *testing.T, r result) []storage.SecurityEvent {
	t.Helper()
	var events []storage.SecurityEvent
	if err := json.Unmarshal([]byte(r.stdout), &events); err != nil {
		t.Fatalf("output is not a JSON array of events: %v\n%s", err, r.stdout)
	}
	return events
}

// openEnvStore opens the database of a test environment, so that a
// test can record events for the command line to print.
func openEnvStore(t *testing.T, env map[string]string) *storage.Store {
	t.Helper()
	cfg := defaultConfig()
	cfg.Database = env["IDP_DATABASE"]
	st, err := openStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// eventTime is when the first seeded event happened.
var eventTime = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// seedEvents records events one minute apart, oldest first, and returns
// their ids in the same order.
func seedEvents(t *testing.T, st *storage.Store, events []storage.SecurityEvent) []uint64 {
	t.Helper()
	ids := make([]uint64, len(events))
	for i := range events {
		events[i].Time = eventTime.Add(time.Duration(i) * time.Minute)
		if err := st.RecordEvent(t.Context(), &events[i]); err != nil {
			t.Fatal(err)
		}
		ids[i] = events[i].ID
	}
	return ids
}

func TestEventsRecordsClientChanges(t *testing.T) {
	in := invocation{env: testEnv(t)}
	r := runIDP(t, in, "clients", "create", "--json",
		"--name", "Example App",
		"--redirect-uri", "https://app.example.com/callback")
	wantCode(t, r, 0)
	id := decodeClient(t, r).ClientID
	wantCode(t, runIDP(t, in, "clients", "update", id, "--name", "Renamed"), 0)
	wantCode(t, runIDP(t, in, "clients", "rotate-secret", id), 0)
	wantCode(t, runIDP(t, in, "clients", "delete", id), 0)

	r = runIDP(t, in, "events", "--client", id, "--json")
	wantCode(t, r, 0)
	type summary struct {
		Kind     storage.EventKind
		ClientID string
		Detail   string
	}
	var got []summary
	for _, e := range decodeEvents(t, r) {
		got = append(got, summary{e.Kind, e.ClientID, e.Detail})
		if e.Time.IsZero() {
			t.Errorf("event %s has no time", e.Kind)
		}
	}
	want := []summary{
		{storage.EventClientDeleted, id, "via command line"},
		{storage.EventClientSecretRotate, id, "via command line"},
		{storage.EventClientUpdated, id, "via command line"},
		{storage.EventClientCreated, id, `confidential client "Example App" via command line`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}

func TestEventsFilters(t *testing.T) {
	env := testEnv(t)
	r := runIDP(t, invocation{env: env, stdin: userPassword + "\n"}, "users", "create", "--json", "--username", "alice")
	wantCode(t, r, 0)
	alice := decodeUser(t, r).ID

	st := openEnvStore(t, env)
	ids := seedEvents(t, st, []storage.SecurityEvent{
		{Kind: storage.EventSignInFailed, UserID: alice, CredentialKind: "password"},
		{Kind: storage.EventSignInSucceeded, UserID: alice, CredentialKind: "password"},
		{Kind: storage.EventConsentGranted, UserID: alice, ClientID: "client-1"},
		{Kind: storage.EventTokenReuse, UserID: "deleted-user", ClientID: "client-1"},
		{Kind: storage.EventSignInFailed, UserID: "deleted-user"},
	})

	tests := []struct {
		name       string
		args       []string
		wantIDs    []uint64
		wantStderr string
	}{
		{name: "all", args: nil, wantIDs: []uint64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{name: "username", args: []string{"--user", "alice"}, wantIDs: []uint64{ids[2], ids[1], ids[0]}},
		{name: "user ID", args: []string{"--user", alice}, wantIDs: []uint64{ids[2], ids[1], ids[0]}},
		{name: "deleted user", args: []string{"--user", "deleted-user"}, wantIDs: []uint64{ids[4], ids[3]},
			wantStderr: `no user has the ID or username "deleted-user"`},
		{name: "client", args: []string{"--client", "client-1"}, wantIDs: []uint64{ids[3], ids[2]}},
		{name: "kind", args: []string{"--kind", "sign_in.failed"}, wantIDs: []uint64{ids[4], ids[0]}},
		{name: "user and kind", args: []string{"--user", "alice", "--kind", "sign_in.failed"},
			wantIDs: []uint64{ids[0]}},
		{name: "limit", args: []string{"--limit", "2"}, wantIDs: []uint64{ids[4], ids[3]}},
		{name: "no match", args: []string{"--client", "client-2"}, wantIDs: []uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runIDP(t, invocation{env: env}, append([]string{"events", "--json"}, tt.args...)...)
			wantCode(t, r, 0)
			gotIDs := []uint64{}
			for _, e := range decodeEvents(t, r) {
				gotIDs = append(gotIDs, e.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, gotIDs); diff != "" {
				t.Errorf("event ids mismatch (-want +got):\n%s", diff)
			}
			wantContains(t, "stderr", r.stderr, tt.wantStderr)
			if tt.wantStderr == "" && r.stderr != "" {
				t.Errorf("stderr = %q, want empty", r.stderr)
			}
		})
	}
}

func TestEventsTable(t *testing.T) {
	env := testEnv(t)
	st := openEnvStore(t, env)
	seedEvents(t, st, []storage.SecurityEvent{
		{Kind: storage.EventTripwireCaught, ClientID: "client-1", RemoteAddr: "192.0.2.7",
			CredentialKind: "access_token", Detail: "caught on plain HTTP"},
		{Kind: storage.EventSignInFailed, UserID: "user-1",
			Detail: "username \"evil\x1b[31m\"\tsent\nby a script"},
	})

	r := runIDP(t, invocation{env: env}, "events")
	wantCode(t, r, 0)
	want := strings.Join([]string{
		"TIME                  KIND             USER    CLIENT    REMOTE ADDRESS  CREDENTIAL    DETAIL",
		`2025-06-01T10:01:00Z  sign_in.failed   user-1  -         -               -             username "evil?[31m"?sent?by a script`,
		"2025-06-01T10:00:00Z  tripwire.caught  -       client-1  192.0.2.7       access_token  caught on plain HTTP",
		"",
	}, "\n")
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("table mismatch (-want +got):\n%s", diff)
	}
}

func TestEventsEmpty(t *testing.T) {
	env := testEnv(t)
	wantCode(t, runIDP(t, invocation{env: env}, "migrate"), 0)

	r := runIDP(t, invocation{env: env}, "events", "--json")
	wantCode(t, r, 0)
	if got := strings.TrimSpace(r.stdout); got != "[]" {
		t.Errorf("--json with no events printed %q, want []", got)
	}

	r = runIDP(t, invocation{env: env}, "events")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "TIME") || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("table with no events = %q, want the header only", r.stdout)
	}
}

func TestEventsErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{name: "unknown kind", args: []string{"--kind", "sign_in"},
			wantStderr: []string{`unknown event kind "sign_in"`, "sign_in.succeeded, sign_in.failed",
				"client.secret_rotated", "Run 'idp events -h' for usage."}},
		{name: "limit zero", args: []string{"--limit", "0"},
			wantStderr: []string{"invalid --limit 0: it must be at least 1"}},
		{name: "limit not a number", args: []string{"--limit", "ten"},
			wantStderr: []string{`invalid value "ten" for flag -limit`}},
		{name: "argument", args: []string{"alice"},
			wantStderr: []string{`unexpected argument "alice"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runIDP(t, invocation{env: testEnv(t)}, append([]string{"events"}, tt.args...)...)
			wantCode(t, r, 2)
			wantContains(t, "stderr", r.stderr, tt.wantStderr...)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want empty", r.stdout)
			}
		})
	}
}

func TestEventsHelp(t *testing.T) {
	r := runIDP(t, invocation{env: testEnv(t)}, "help", "events")
	wantCode(t, r, 0)
	wantContains(t, "help", r.stdout,
		"Usage: idp events",
		"--user ID or username",
		"--kind kind",
		"--limit number", "(default 100)",
		"--database path",
		"  token.reuse_detected\n",
	)

	r = runIDP(t, invocation{env: testEnv(t)}, "help")
	wantCode(t, r, 0)
	wantContains(t, "usage", r.stdout, "  events ")
}
