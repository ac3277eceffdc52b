package clients

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idp/idp/storage"
)

// listClientEvents returns the stored events of client id, newest first.
func listClientEvents(t *testing.T, st *storage.Store, id string) []storage.SecurityEvent {
	t.Helper()
	events, err := st.ListEvents(t.Context(), storage.EventFilter{ClientID: id})
	if err != nil {
		t.Fatalf("ListEvents: %v", err)
	}
	return events
}

func TestRegistryRecordsClientEvents(t *testing.T) {
	reg, st := newTestRegistry(t)
	reg.Events = st
	reg.Source = "via test"
	ctx := t.Context()

	created, err := reg.Create(ctx, webAppMetadata())
	if err != nil {
		t.Fatal(err)
	}
	id := created.ClientID
	m := created
	m.ClientSecret, m.ClientSecretExpiresAt = "", nil
	m.ClientName = "Renamed"
	if _, err := reg.Update(ctx, id, m); err != nil {
		t.Fatal(err)
	}
	m.TokenEndpointAuthMethod = "none"
	if _, err := reg.Update(ctx, id, m); err != nil {
		t.Fatal(err)
	}
	m.TokenEndpointAuthMethod = "client_secret_basic"
	if _, err := reg.Update(ctx, id, m); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.RotateSecret(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := reg.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}

	event := func(kind storage.EventKind, detail string) storage.SecurityEvent {
		return storage.SecurityEvent{Time: testNow, Kind: kind, ClientID: id, Detail: detail}
	}
	want := []storage.SecurityEvent{
		event(storage.EventClientDeleted, "via test"),
		event(storage.EventClientSecretRotate, "via test"),
		event(storage.EventClientUpdated, "made confidential and given a secret via test"),
		event(storage.EventClientUpdated, "made public and its secret deleted via test"),
		event(storage.EventClientUpdated, "via test"),
		event(storage.EventClientCreated, `confidential client "Web App" via test`),
	}
	got := listClientEvents(t, st, id)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(storage.SecurityEvent{}, "ID")); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	for _, e := range got {
		if strings.Contains(e.Detail, created.ClientSecret) {
			t.Errorf("event %s contains the client secret", e.Kind)
		}
	}
}

func TestRegistryFailedChangeRecordsNoEvent(t *testing.T) {
	reg, st := newTestRegistry(t)
	reg.Events = st
	ctx := t.Context()

	public, err := reg.Create(ctx, nativeAppMetadata())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.RotateSecret(ctx, public.ClientID); !errors.Is(err, ErrPublicClient) {
		t.Fatalf("RotateSecret of a public client: err = %v, want ErrPublicClient", err)
	}
	invalid := webAppMetadata()
	invalid.RedirectURIs = []string{"https://app.example.com/cb#fragment"}
	if _, err := reg.Create(ctx, invalid); err == nil {
		t.Fatal("Create with an invalid redirect URI succeeded")
	}
	if _, err := reg.Update(ctx, "missing", webAppMetadata()); err == nil {
		t.Fatal("Update of an unknown client succeeded")
	}
	if err := reg.Delete(ctx, "missing"); err == nil {
		t.Fatal("Delete of an unknown client succeeded")
	}

	events, err := st.ListEvents(ctx, storage.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Kind != storage.EventClientCreated {
		t.Errorf("events = %+v, want only the client.created of the public client", events)
	}
}

func TestRegistryEventFailureLogged(t *testing.T) {
	reg, _ := newTestRegistry(t)
	// A closed store fails every write, as a database outage would.
	broken := newTestStore(t)
	if err := broken.Close(); err != nil {
		t.Fatal(err)
	}
	reg.Events = broken
	logs := &lockedBuffer{}
	reg.Logger = slog.New(slog.NewJSONHandler(logs, nil))

	created, err := reg.Create(t.Context(), webAppMetadata())
	if err != nil {
		t.Fatalf("Create failed because its event could not be recorded: %v", err)
	}
	if _, err := reg.Get(t.Context(), created.ClientID); err != nil {
		t.Errorf("client was not stored: %v", err)
	}
	for _, want := range []string{
		`"level":"ERROR"`,
		`"msg":"security event not recorded"`,
		`"event_kind":"client.created"`,
		`"client_id":"` + created.ClientID + `"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

func TestRegistryWithoutRecorder(t *testing.T) {
	reg, st := newTestRegistry(t)
	if _, err := reg.Create(t.Context(), webAppMetadata()); err != nil {
		t.Fatal(err)
	}
	events, err := st.ListEvents(t.Context(), storage.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Errorf("registry without Events recorded %d events", len(events))
	}
}
