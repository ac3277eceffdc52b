package clients

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idp/idp/storage"
)

func TestAdminChangesRecordRequest(t *testing.T) {
	srv := newTestServer(t)
	headers := map[string]string{
		"Authorization": "Bearer " + adminToken,
		"Content-Type":  "application/json",
		"User-Agent":    "admin-script/1.0",
	}

	resp := srv.doWith(t, http.MethodPost, "/admin/clients?dry=no", webAppMetadata(), headers)
	if resp.status != http.StatusCreated {
		t.Fatalf("create: status %d (body %s)", resp.status, resp.body)
	}
	id := decodeJSON[Metadata](t, resp).ClientID
	resp = srv.doWith(t, http.MethodPost, "/admin/clients/"+id+"/secret", nil, headers)
	if resp.status != http.StatusOK {
		t.Fatalf("rotate: status %d (body %s)", resp.status, resp.body)
	}
	resp = srv.doWith(t, http.MethodPut, "/admin/clients/"+id, webAppMetadata(), headers)
	if resp.status != http.StatusOK {
		t.Fatalf("update: status %d (body %s)", resp.status, resp.body)
	}
	resp = srv.doWith(t, http.MethodDelete, "/admin/clients/"+id, nil, headers)
	if resp.status != http.StatusNoContent {
		t.Fatalf("delete: status %d (body %s)", resp.status, resp.body)
	}

	event := func(kind storage.EventKind, method, path, detail string) storage.SecurityEvent {
		return storage.SecurityEvent{
			Time:       testNow,
			Kind:       kind,
			ClientID:   id,
			RemoteAddr: "127.0.0.1",
			UserAgent:  "admin-script/1.0",
			Method:     method,
			Path:       path,
			Detail:     detail,
		}
	}
	want := []storage.SecurityEvent{
		event(storage.EventClientDeleted, http.MethodDelete, "/admin/clients/"+id, "via admin API"),
		event(storage.EventClientUpdated, http.MethodPut, "/admin/clients/"+id, "via admin API"),
		event(storage.EventClientSecretRotate, http.MethodPost, "/admin/clients/"+id+"/secret", "via admin API"),
		event(storage.EventClientCreated, http.MethodPost, "/admin/clients",
			`confidential client "Web App" via admin API`),
	}
	got := listClientEvents(t, srv.store, id)
	for i := range got {
		got[i].ID = 0
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}

	// The request details go on a per-request copy, never on the shared
	// registry.
	if srv.registry.Source != "" || srv.registry.request != (storage.SecurityEvent{}) {
		t.Errorf("shared registry was changed: Source %q, request %+v", srv.registry.Source, srv.registry.request)
	}
}

// recordTestEvents stores events one minute apart, oldest first, and
// returns their ids in the same order.
func recordTestEvents(t *testing.T, st *storage.Store, events []storage.SecurityEvent) []uint64 {
	t.Helper()
	ids := make([]uint64, len(events))
	for i := range events {
		events[i].Time = testNow.Add(time.Duration(i) * time.Minute)
		if err := st.RecordEvent(t.Context(), &events[i]); err != nil {
			t.Fatal(err)
		}
		ids[i] = events[i].ID
	}
	return ids
}

func TestAdminListEvents(t *testing.T) {
	srv := newTestServer(t)
	ids := recordTestEvents(t, srv.store, []storage.SecurityEvent{
		{Kind: storage.EventSignInFailed, UserID: "user-a", RemoteAddr: "192.0.2.1", CredentialKind: "password"},
		{Kind: storage.EventSignInSucceeded, UserID: "user-a", RemoteAddr: "192.0.2.1", CredentialKind: "password"},
		{Kind: storage.EventConsentGranted, UserID: "user-a", ClientID: "client-1"},
		{Kind: storage.EventTokenReuse, UserID: "user-b", ClientID: "client-1", CredentialKind: "refresh_token"},
		{Kind: storage.EventSignInFailed, UserID: "user-b", Detail: "wrong password"},
	})

	tests := []struct {
		name    string
		query   string
		wantIDs []uint64
	}{
		{name: "all", query: "", wantIDs: []uint64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{name: "user", query: "?user_id=user-a", wantIDs: []uint64{ids[2], ids[1], ids[0]}},
		{name: "client", query: "?client_id=client-1", wantIDs: []uint64{ids[3], ids[2]}},
		{name: "kind", query: "?kind=sign_in.failed", wantIDs: []uint64{ids[4], ids[0]}},
		{name: "user and kind", query: "?user_id=user-b&kind=sign_in.failed", wantIDs: []uint64{ids[4]}},
		{name: "limit", query: "?limit=2", wantIDs: []uint64{ids[4], ids[3]}},
		{name: "max limit", query: "?limit=1000", wantIDs: []uint64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{name: "empty parameters", query: "?user_id=&kind=&limit=", wantIDs: []uint64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{name: "no match", query: "?user_id=nobody", wantIDs: []uint64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.do(t, http.MethodGet, "/admin/events"+tt.query, nil)
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", resp.status, resp.body)
			}
			if got := resp.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			events := decodeJSON[[]storage.SecurityEvent](t, resp)
			gotIDs := []uint64{}
			for _, e := range events {
				gotIDs = append(gotIDs, e.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, gotIDs); diff != "" {
				t.Errorf("event ids mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// Every field is in the JSON, under the names of storage.SecurityEvent.
	resp := srv.do(t, http.MethodGet, "/admin/events?kind=token.reuse_detected", nil)
	got := decodeJSON[[]map[string]any](t, resp)
	want := []map[string]any{{
		"id":              float64(ids[3]),
		"time":            testNow.Add(3 * time.Minute).Format(time.RFC3339),
		"kind":            "token.reuse_detected",
		"user_id":         "user-b",
		"client_id":       "client-1",
		"credential_kind": "refresh_token",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}
}

func TestAdminListEventsEmpty(t *testing.T) {
	srv := newTestServer(t)
	resp := srv.do(t, http.MethodGet, "/admin/events", nil)
	if resp.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (body %s)", resp.status, resp.body)
	}
	if got := strings.TrimSpace(string(resp.body)); got != "[]" {
		t.Errorf("body = %s, want []", got)
	}
}

func TestAdminListEventsRejectsQuery(t *testing.T) {
	srv := newTestServer(t)
	tests := []struct {
		name  string
		query string
		// wantDescription is a substring of error_description.
		wantDescription string
	}{
		{name: "unknown kind", query: "?kind=sign_in",
			wantDescription: `kind: unknown event kind "sign_in"; valid kinds are sign_in.succeeded, `},
		{name: "kind in upper case", query: "?kind=SIGN_IN.FAILED", wantDescription: "kind: unknown event kind"},
		{name: "limit zero", query: "?limit=0", wantDescription: `limit: "0" is not an integer from 1 to 1000`},
		{name: "limit negative", query: "?limit=-5", wantDescription: `limit: "-5" is not an integer`},
		{name: "limit too large", query: "?limit=1001", wantDescription: `limit: "1001" is not an integer from 1 to 1000`},
		{name: "limit not a number", query: "?limit=ten", wantDescription: `limit: "ten" is not an integer`},
		{name: "bad encoding", query: "?user_id=%zz", wantDescription: "query string is not valid URL encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.do(t, http.MethodGet, "/admin/events"+tt.query, nil)
			if resp.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400 (body %s)", resp.status, resp.body)
			}
			got := decodeJSON[errorBody](t, resp)
			if got.Error != "invalid_request" {
				t.Errorf("error = %q, want invalid_request", got.Error)
			}
			if !strings.Contains(got.ErrorDescription, tt.wantDescription) {
				t.Errorf("error_description = %q, want it to contain %q", got.ErrorDescription, tt.wantDescription)
			}
		})
	}
}

func TestAdminListEventsNeedsToken(t *testing.T) {
	srv := newTestServer(t)
	resp := srv.doWith(t, http.MethodGet, "/admin/events", nil, nil)
	if resp.status != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401", resp.status)
	}
}

func TestAdminEventsRouteWithoutStore(t *testing.T) {
	reg, _ := newTestRegistry(t)
	handler, err := NewAdminHandler(AdminConfig{Registry: reg, Tokens: [][]byte{[]byte(adminToken)}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/admin/events", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("status = %d, want 404 when AdminConfig.Events is nil", rec.Code)
	}
}
