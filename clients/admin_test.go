package clients

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idp/idp/storage"
)

var (
	adminToken     = strings.Repeat("a", 40)
	nextAdminToken = strings.Repeat("b", 40)
)

// lockedBuffer is a bytes.Buffer that the server goroutines and the test
// can use at the same time.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	*httptest.Server
	registry *Registry
	store    *storage.Store
	logs     *lockedBuffer
}

// newTestServer starts the admin API on a fresh SQLite store, accepting
// adminToken and nextAdminToken, recording and serving security events,
// and logging JSON lines into logs.
func newTestServer(t *testing.T) *testServer {
	t.Helper()
	reg, st := newTestRegistry(t)
	reg.Events = st
	logs := &lockedBuffer{}
	handler, err := NewAdminHandler(AdminConfig{
		Registry: reg,
		Tokens:   [][]byte{[]byte(adminToken), []byte(nextAdminToken)},
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Events:   st,
	})
	if err != nil {
		t.Fatalf("NewAdminHandler: %v", err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, registry: reg, store: st, logs: logs}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with the admin token and a JSON content type. The
// body may be nil, a string or a value to encode as JSON.
func (s *testServer) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	return s.doWith(t, method, path, body, map[string]string{
		"Authorization": "Bearer " + adminToken,
		"Content-Type":  "application/json",
	})
}

func (s *testServer) doWith(t *testing.T, method, path string, body any, headers map[string]string) response {
	t.Helper()

	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	default:
		encoded, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(encoded)
	}
	req, err := http.NewRequest(method, s.URL+path, reader)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}

	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s %s: Cache-Control = %q, want no-store", method, path, got)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func decodeJSON[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

func TestNewAdminHandlerRejectsConfig(t *testing.T) {
	reg := &Registry{}
	tests := []struct {
		name    string
		cfg     AdminConfig
		wantErr string
	}{
		{name: "no registry", cfg: AdminConfig{Tokens: [][]byte{[]byte(adminToken)}}, wantErr: "Registry is required"},
		{name: "no tokens", cfg: AdminConfig{Registry: reg}, wantErr: "no token"},
		{name: "short token", cfg: AdminConfig{Registry: reg, Tokens: [][]byte{make([]byte, 31)}}, wantErr: "at least 32"},
		{name: "short second token", cfg: AdminConfig{Registry: reg, Tokens: [][]byte{[]byte(adminToken), []byte("x")}}, wantErr: "token 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAdminHandler(tt.cfg)
			if err == nil {
				t.Fatalf("NewAdminHandler = nil error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestAdminAuthentication(t *testing.T) {
	srv := newTestServer(t)
	tests := []struct {
		name          string
		authorization string
		wantStatus    int
	}{
		{name: "current token", authorization: "Bearer " + adminToken, wantStatus: http.StatusOK},
		{name: "next token", authorization: "Bearer " + nextAdminToken, wantStatus: http.StatusOK},
		{name: "lower-case scheme", authorization: "bearer " + adminToken, wantStatus: http.StatusOK},
		{name: "no header", authorization: "", wantStatus: http.StatusUnauthorized},
		{name: "wrong token", authorization: "Bearer " + strings.Repeat("c", 40), wantStatus: http.StatusUnauthorized},
		{name: "token prefix", authorization: "Bearer " + adminToken[:39], wantStatus: http.StatusUnauthorized},
		{name: "token with suffix", authorization: "Bearer " + adminToken + "x", wantStatus: http.StatusUnauthorized},
		{name: "empty bearer", authorization: "Bearer ", wantStatus: http.StatusUnauthorized},
		{name: "scheme only", authorization: "Bearer", wantStatus: http.StatusUnauthorized},
		{name: "basic scheme", authorization: "Basic " + adminToken, wantStatus: http.StatusUnauthorized},
		{name: "both tokens", authorization: "Bearer " + adminToken + nextAdminToken, wantStatus: http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{}
			if tt.authorization != "" {
				headers["Authorization"] = tt.authorization
			}
			resp := srv.doWith(t, http.MethodGet, "/admin/clients", nil, headers)
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.status, tt.wantStatus, resp.body)
			}
			if tt.wantStatus != http.StatusUnauthorized {
				return
			}
			if got := resp.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
			}
			body := decodeJSON[errorBody](t, resp)
			if body.Error != "invalid_token" {
				t.Errorf("error = %q, want invalid_token", body.Error)
			}
		})
	}
}

func TestAdminAuthenticationBeforeRouting(t *testing.T) {
	srv := newTestServer(t)
	resp := srv.doWith(t, http.MethodGet, "/admin/no-such-route", nil, nil)
	if resp.status != http.StatusUnauthorized {
		t.Errorf("unknown route without a token: status %d, want 401", resp.status)
	}
	resp = srv.doWith(t, http.MethodPost, "/admin/clients", `{"client_name":"x"}`, map[string]string{"Content-Type": "application/json"})
	if resp.status != http.StatusUnauthorized {
		t.Errorf("create without a token: status %d, want 401", resp.status)
	}
	list, err := srv.store.ListClients(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("unauthenticated create stored %d clients", len(list))
	}
}

func TestAdminClientLifecycle(t *testing.T) {
	srv := newTestServer(t)

	// Create.
	resp := srv.do(t, http.MethodPost, "/admin/clients", webAppMetadata())
	if resp.status != http.StatusCreated {
		t.Fatalf("create: status %d, want 201 (body %s)", resp.status, resp.body)
	}
	if got := resp.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("create: Content-Type = %q, want application/json", got)
	}
	created := decodeJSON[Metadata](t, resp)
	if created.ClientID == "" || created.ClientSecret == "" {
		t.Fatalf("create returned client_id %q and a secret of %d characters, want both set", created.ClientID, len(created.ClientSecret))
	}
	if created.ClientSecretExpiresAt == nil || *created.ClientSecretExpiresAt != 0 {
		t.Errorf("client_secret_expires_at = %v, want 0", created.ClientSecretExpiresAt)
	}
	if got, want := resp.header.Get("Location"), "/admin/clients/"+created.ClientID; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	raw := decodeJSON[map[string]any](t, resp)
	if v, ok := raw["client_secret_expires_at"]; !ok || v != float64(0) {
		t.Errorf("client_secret_expires_at in JSON = %v (present %v), want 0", v, ok)
	}
	verifySecret(t, srv.store, srv.registry.Hasher, created.ClientID, created.ClientSecret)
	path := "/admin/clients/" + created.ClientID

	// Get never returns the secret.
	resp = srv.do(t, http.MethodGet, path, nil)
	if resp.status != http.StatusOK {
		t.Fatalf("get: status %d (body %s)", resp.status, resp.body)
	}
	fetched := decodeJSON[Metadata](t, resp)
	want := created
	want.ClientSecret = ""
	want.ClientSecretExpiresAt = nil
	if diff := cmp.Diff(want, fetched); diff != "" {
		t.Errorf("get mismatch (-want +got):\n%s", diff)
	}
	for _, field := range []string{`"client_secret":`, `"client_secret_expires_at":`} {
		if strings.Contains(string(resp.body), field) {
			t.Errorf("get body contains %s: %s", field, resp.body)
		}
	}

	// List.
	resp = srv.do(t, http.MethodGet, "/admin/clients", nil)
	if resp.status != http.StatusOK {
		t.Fatalf("list: status %d (body %s)", resp.status, resp.body)
	}
	if diff := cmp.Diff([]Metadata{want}, decodeJSON[[]Metadata](t, resp)); diff != "" {
		t.Errorf("list mismatch (-want +got):\n%s", diff)
	}

	// Replace, sending back what get returned with one change.
	edited := fetched
	edited.ClientName = "Renamed"
	edited.RedirectURIs = append(edited.RedirectURIs, "http://127.0.0.1/cb")
	resp = srv.do(t, http.MethodPut, path, edited)
	if resp.status != http.StatusOK {
		t.Fatalf("put: status %d (body %s)", resp.status, resp.body)
	}
	if diff := cmp.Diff(edited, decodeJSON[Metadata](t, resp)); diff != "" {
		t.Errorf("put mismatch (-want +got):\n%s", diff)
	}
	verifySecret(t, srv.store, srv.registry.Hasher, created.ClientID, created.ClientSecret)

	// Rotate.
	resp = srv.do(t, http.MethodPost, path+"/secret", nil)
	if resp.status != http.StatusOK {
		t.Fatalf("rotate: status %d (body %s)", resp.status, resp.body)
	}
	rotated := decodeJSON[Metadata](t, resp)
	if rotated.ClientSecret == "" || rotated.ClientSecret == created.ClientSecret {
		t.Fatal("rotate did not return a new secret")
	}
	verifySecret(t, srv.store, srv.registry.Hasher, created.ClientID, rotated.ClientSecret)

	// Delete.
	resp = srv.do(t, http.MethodDelete, path, nil)
	if resp.status != http.StatusNoContent {
		t.Fatalf("delete: status %d (body %s)", resp.status, resp.body)
	}
	if len(resp.body) != 0 {
		t.Errorf("delete body = %q, want empty", resp.body)
	}
	resp = srv.do(t, http.MethodGet, path, nil)
	if resp.status != http.StatusNotFound {
		t.Errorf("get after delete: status %d, want 404", resp.status)
	}
}

func TestAdminPublicClient(t *testing.T) {
	srv := newTestServer(t)

	resp := srv.do(t, http.MethodPost, "/admin/clients", nativeAppMetadata())
	if resp.status != http.StatusCreated {
		t.Fatalf("create: status %d (body %s)", resp.status, resp.body)
	}
	created := decodeJSON[Metadata](t, resp)
	if created.ClientSecret != "" || created.ClientSecretExpiresAt != nil {
		t.Errorf("public client got a secret or its expiry: %s", resp.body)
	}
	path := "/admin/clients/" + created.ClientID

	resp = srv.do(t, http.MethodPost, path+"/secret", nil)
	if resp.status != http.StatusBadRequest {
		t.Fatalf("rotate public: status %d, want 400 (body %s)", resp.status, resp.body)
	}
	if body := decodeJSON[errorBody](t, resp); body.Error != "invalid_request" {
		t.Errorf("rotate public: error = %q, want invalid_request", body.Error)
	}

	// Making it confidential returns its first secret.
	m := nativeAppMetadata()
	m.TokenEndpointAuthMethod = "client_secret_basic"
	resp = srv.do(t, http.MethodPut, path, m)
	if resp.status != http.StatusOK {
		t.Fatalf("put: status %d (body %s)", resp.status, resp.body)
	}
	updated := decodeJSON[Metadata](t, resp)
	if updated.ClientSecret == "" {
		t.Fatal("public to confidential returned no secret")
	}
	verifySecret(t, srv.store, srv.registry.Hasher, created.ClientID, updated.ClientSecret)
}

func TestAdminErrors(t *testing.T) {
	srv := newTestServer(t)
	resp := srv.do(t, http.MethodPost, "/admin/clients", webAppMetadata())
	if resp.status != http.StatusCreated {
		t.Fatalf("create: status %d (body %s)", resp.status, resp.body)
	}
	existing := "/admin/clients/" + decodeJSON[Metadata](t, resp).ClientID
	valid := `{"client_name":"A","redirect_uris":["https://a.example.com/cb"]}`

	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantError   string
		// wantDescription is a substring of error_description.
		wantDescription string
	}{
		{name: "missing content type", method: http.MethodPost, path: "/admin/clients", body: valid,
			wantStatus: http.StatusUnsupportedMediaType, wantError: "invalid_request", wantDescription: "application/json"},
		{name: "form content type", method: http.MethodPost, path: "/admin/clients", contentType: "application/x-www-form-urlencoded", body: valid,
			wantStatus: http.StatusUnsupportedMediaType, wantError: "invalid_request", wantDescription: "application/json"},
		{name: "unknown field", method: http.MethodPost, path: "/admin/clients", body: `{"client_name":"A","redirect_uris":["https://a.example.com/cb"],"logo_uri":"x"}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: `unknown field "logo_uri"`},
		{name: "duplicate field", method: http.MethodPost, path: "/admin/clients",
			body:       `{"client_name":"A","redirect_uris":["https://a.example.com/cb"],"redirect_uris":["https://evil.example.com/cb"]}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: `field "redirect_uris" appears more than once`},
		{name: "field in other case", method: http.MethodPost, path: "/admin/clients",
			body:       `{"client_name":"A","REDIRECT_URIS":["https://evil.example.com/cb"]}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: `field "REDIRECT_URIS" must be written "redirect_uris"`},
		{name: "put duplicate field", method: http.MethodPut, path: existing,
			body:       `{"client_name":"A","redirect_uris":["https://a.example.com/cb"],"redirect_uris":["https://evil.example.com/cb"]}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "appears more than once"},
		{name: "wrong type", method: http.MethodPost, path: "/admin/clients", body: `{"client_name":"A","redirect_uris":"https://a.example.com/cb"}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "redirect_uris: must be a JSON array of strings"},
		{name: "array body", method: http.MethodPost, path: "/admin/clients", body: `[]`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "must be a JSON object"},
		{name: "syntax error", method: http.MethodPost, path: "/admin/clients", body: `{"client_name":}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "not valid JSON"},
		{name: "truncated", method: http.MethodPost, path: "/admin/clients", body: `{"client_name":"A"`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "not valid JSON"},
		{name: "empty body", method: http.MethodPost, path: "/admin/clients", body: ``,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "empty"},
		{name: "trailing data", method: http.MethodPost, path: "/admin/clients", body: valid + `{}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "data after the JSON object"},
		{name: "body too large", method: http.MethodPost, path: "/admin/clients",
			body:       `{"client_name":"` + strings.Repeat("a", 70<<10) + `"}`,
			wantStatus: http.StatusRequestEntityTooLarge, wantError: "invalid_request", wantDescription: "larger than 65536 bytes"},
		{name: "invalid redirect URI", method: http.MethodPost, path: "/admin/clients", body: `{"client_name":"A","redirect_uris":["https://a.example.com/cb#x"]}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_redirect_uri", wantDescription: `redirect_uris[0]: "https://a.example.com/cb#x" contains a fragment`},
		{name: "invalid metadata", method: http.MethodPost, path: "/admin/clients", body: `{"client_name":"","redirect_uris":["https://a.example.com/cb"]}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "client_name: is missing"},
		{name: "client secret chosen", method: http.MethodPost, path: "/admin/clients", body: `{"client_name":"A","client_secret":"mine","redirect_uris":["https://a.example.com/cb"]}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "client_secret: is generated by the server"},
		{name: "put other client_id", method: http.MethodPut, path: existing, body: `{"client_id":"other","client_name":"A","redirect_uris":["https://a.example.com/cb"]}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_client_metadata", wantDescription: "client_id:"},
		{name: "put invalid", method: http.MethodPut, path: existing, body: `{"client_name":"A"}`,
			wantStatus: http.StatusBadRequest, wantError: "invalid_redirect_uri", wantDescription: "redirect_uris: is missing"},
		{name: "get unknown", method: http.MethodGet, path: "/admin/clients/missing",
			wantStatus: http.StatusNotFound, wantError: "not_found", wantDescription: `client "missing" not found`},
		{name: "put unknown", method: http.MethodPut, path: "/admin/clients/missing", body: valid,
			wantStatus: http.StatusNotFound, wantError: "not_found", wantDescription: `client "missing" not found`},
		{name: "delete unknown", method: http.MethodDelete, path: "/admin/clients/missing",
			wantStatus: http.StatusNotFound, wantError: "not_found"},
		{name: "rotate unknown", method: http.MethodPost, path: "/admin/clients/missing/secret",
			wantStatus: http.StatusNotFound, wantError: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{"Authorization": "Bearer " + adminToken}
			if tt.contentType != "" {
				headers["Content-Type"] = tt.contentType
			} else if tt.name != "missing content type" {
				headers["Content-Type"] = "application/json; charset=utf-8"
			}
			var body any
			if tt.body != "" {
				body = tt.body
			}
			resp := srv.doWith(t, tt.method, tt.path, body, headers)
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", resp.status, tt.wantStatus, resp.body)
			}
			got := decodeJSON[errorBody](t, resp)
			if got.Error != tt.wantError {
				t.Errorf("error = %q, want %q", got.Error, tt.wantError)
			}
			if !strings.Contains(got.ErrorDescription, tt.wantDescription) {
				t.Errorf("error_description = %q, want it to contain %q", got.ErrorDescription, tt.wantDescription)
			}
		})
	}

	list, err := srv.store.ListClients(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "Web App" {
		t.Errorf("rejected requests changed the stored clients: %+v", list)
	}
}

func TestAdminMethodNotAllowed(t *testing.T) {
	srv := newTestServer(t)
	resp := srv.do(t, http.MethodPatch, "/admin/clients/some-id", `{}`)
	if resp.status != http.StatusMethodNotAllowed {
		t.Errorf("PATCH: status %d, want 405", resp.status)
	}
}

func TestAdminLogsNoSecrets(t *testing.T) {
	srv := newTestServer(t)

	resp := srv.do(t, http.MethodPost, "/admin/clients", webAppMetadata())
	if resp.status != http.StatusCreated {
		t.Fatalf("create: status %d (body %s)", resp.status, resp.body)
	}
	created := decodeJSON[Metadata](t, resp)
	resp = srv.do(t, http.MethodPost, "/admin/clients/"+created.ClientID+"/secret", nil)
	rotated := decodeJSON[Metadata](t, resp)
	srv.do(t, http.MethodPost, "/admin/clients", `{"client_name":"A","client_secret":"planted-secret-value"}`)
	srv.doWith(t, http.MethodGet, "/admin/clients", nil, map[string]string{"Authorization": "Bearer planted-wrong-token-value"})

	logs := srv.logs.String()
	for _, secret := range []string{
		created.ClientSecret,
		rotated.ClientSecret,
		"planted-secret-value",
		"planted-wrong-token-value",
		adminToken,
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a secret %q:\n%s", secret, logs)
		}
	}

	for _, want := range []string{
		`"msg":"client created","client_id":"` + created.ClientID + `"`,
		`"msg":"client secret rotated","client_id":"` + created.ClientID + `"`,
		`"msg":"admin API request with an invalid token rejected"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}
