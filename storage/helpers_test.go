package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// postgresDSNEnv names the variable that enables the PostgreSQL variants.
const postgresDSNEnv = "IDP_TEST_POSTGRES_DSN"

// drivers lists every database the conformance suite runs against.
var drivers = []string{"sqlite", "postgres"}

// timeApprox compares times by instant, allowing for PostgreSQL storing
// microseconds only.
var timeApprox = cmpopts.EquateApproxTime(time.Microsecond)

// forEachDriver runs fn once per driver, each in a parallel subtest
// with its own freshly migrated store.
func forEachDriver(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			fn(t, newTestStore(t, driver))
		})
	}
}

// newTestStore opens a migrated store on an empty database of driver
// and closes it when the test ends.
func newTestStore(t *testing.T, driver string) *Store {
	t.Helper()
	s := openTestStore(t, newTestDSN(t, driver))
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

// openTestStore opens dsn without migrating and closes the store when
// the test ends.
func openTestStore(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(dsn, testOptions())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func testOptions() Options {
	return Options{NewSession: func() fosite.Session { return openid.NewDefaultSession() }}
}

// newTestDSN returns the DSN of an empty database: a SQLite file in
// t.TempDir(), or a new PostgreSQL schema that is dropped when the test
// ends. The PostgreSQL variant skips unless postgresDSNEnv is set.
func newTestDSN(t *testing.T, driver string) string {
	t.Helper()
	switch driver {
	case "sqlite":
		return filepath.Join(t.TempDir(), "idp.db")
	case "postgres":
		return newPostgresSchema(t)
	default:
		t.Fatalf("unknown driver %q", driver)
		return ""
	}
}

func newPostgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresDSNEnv)
	if base == "" {
		t.Skipf("set %s (for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL variant",
			postgresDSNEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", postgresDSNEnv, err)
	}

	admin, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	adminDB, err := admin.DB()
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	schema := "t_" + randomHex(t, 8)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		_ = adminDB.Close()
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if err := admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = adminDB.Close()
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("read random bytes: %v", err)
	}
	return hex.EncodeToString(b)
}

// newTestClient returns a confidential client that is not stored yet.
func newTestClient(id string) *Client {
	return &Client{
		ID:                       id,
		Name:                     "App " + id,
		URI:                      "https://" + id + ".example.com",
		SecretHash:               "hash-of-" + id,
		RedirectURIs:             StringList{"https://" + id + ".example.com/callback"},
		GrantTypes:               StringList{"authorization_code", "refresh_token"},
		ResponseTypes:            StringList{"code"},
		Scopes:                   StringList{"openid", "profile", "offline_access"},
		AllowedCORSOrigins:       StringList{},
		TokenEndpointAuthMethod:  "client_secret_basic",
		IDTokenSignedResponseAlg: "RS256",
	}
}

func createTestClient(t *testing.T, s *Store, id string) *Client {
	t.Helper()
	c := newTestClient(id)
	if err := s.CreateClient(context.Background(), c); err != nil {
		t.Fatalf("CreateClient(%q): %v", id, err)
	}
	return c
}

func createTestUser(t *testing.T, s *Store, username string) *User {
	t.Helper()
	u := &User{
		ID:       "id-" + username,
		Subject:  "sub-" + username,
		Username: username,
		Email:    username + "@example.com",
	}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

// newTestSession returns an OpenID Connect session for subject with
// every expiry set and numbers stored as float64, as JSON decodes them.
func newTestSession(subject string) *openid.DefaultSession {
	now := time.Now().UTC()
	return &openid.DefaultSession{
		Claims: &jwt.IDTokenClaims{
			Issuer:      "https://idp.example.com",
			Subject:     subject,
			Audience:    []string{"app"},
			Nonce:       "nonce-1",
			IssuedAt:    now,
			RequestedAt: now,
			AuthTime:    now.Add(-time.Minute),
			Extra:       map[string]any{"level": float64(2), "groups": []any{"admins"}},
		},
		Headers: &jwt.Headers{Extra: map[string]any{"kid": "key-1"}},
		ExpiresAt: map[fosite.TokenType]time.Time{
			fosite.AuthorizeCode: now.Add(time.Minute),
			fosite.AccessToken:   now.Add(5 * time.Minute),
			fosite.RefreshToken:  now.Add(24 * time.Hour),
		},
		Username: "user-" + subject,
		Subject:  subject,
	}
}

// newTestRequest returns a granted authorization request of client for
// subject, as fosite hands it to the store.
func newTestRequest(client fosite.Client, requestID, subject string) *fosite.Request {
	return &fosite.Request{
		ID:                requestID,
		RequestedAt:       time.Now().UTC(),
		Client:            client,
		RequestedScope:    fosite.Arguments{"openid", "profile", "offline_access"},
		GrantedScope:      fosite.Arguments{"openid", "offline_access"},
		RequestedAudience: fosite.Arguments{},
		GrantedAudience:   fosite.Arguments{},
		Form: url.Values{
			"redirect_uri": {"https://app.example.com/callback"},
			"state":        {"state-1"},
		},
		Session: newTestSession(subject),
	}
}

// requestView is the comparable part of a fosite request: fosite.Request
// holds a language.Tag, which cmp cannot inspect.
type requestView struct {
	ID                string
	ClientID          string
	RequestedAt       time.Time
	RequestedScope    fosite.Arguments
	GrantedScope      fosite.Arguments
	RequestedAudience fosite.Arguments
	GrantedAudience   fosite.Arguments
	Form              url.Values
	Session           fosite.Session
}

func viewRequest(r fosite.Requester) requestView {
	return requestView{
		ID:                r.GetID(),
		ClientID:          r.GetClient().GetID(),
		RequestedAt:       r.GetRequestedAt(),
		RequestedScope:    r.GetRequestedScopes(),
		GrantedScope:      r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(),
		GrantedAudience:   r.GetGrantedAudience(),
		Form:              r.GetRequestForm(),
		Session:           r.GetSession(),
	}
}

// diffRequest returns the difference between two fosite requests, or ""
// when they match.
func diffRequest(want, got fosite.Requester) string {
	return cmp.Diff(viewRequest(want), viewRequest(got), timeApprox, cmpopts.EquateEmpty())
}

// grant names the rows seedGrant creates for one request id.
type grant struct {
	requestID string
	code      string
	access    string
	refresh   string
	pkce      string
	// oidcCode is the raw authorization code the OpenID Connect session
	// is keyed by.
	oidcCode string
	// request is what every row of the grant was stored from.
	request *fosite.Request
}

// seedGrant stores an authorization code, access token, refresh token,
// PKCE request and OpenID Connect session for one grant.
func seedGrant(t *testing.T, s *Store, client fosite.Client, requestID, subject string) grant {
	t.Helper()
	ctx := context.Background()
	g := grant{
		requestID: requestID,
		code:      "code-sig-" + requestID,
		access:    "access-sig-" + requestID,
		refresh:   "refresh-sig-" + requestID,
		pkce:      "pkce-sig-" + requestID,
		oidcCode:  "raw-code-" + requestID,
	}
	r := newTestRequest(client, requestID, subject)
	g.request = r
	steps := []struct {
		name string
		err  error
	}{
		{"CreateAuthorizeCodeSession", s.CreateAuthorizeCodeSession(ctx, g.code, r)},
		{"CreateAccessTokenSession", s.CreateAccessTokenSession(ctx, g.access, r)},
		{"CreateRefreshTokenSession", s.CreateRefreshTokenSession(ctx, g.refresh, g.access, r)},
		{"CreatePKCERequestSession", s.CreatePKCERequestSession(ctx, g.pkce, r)},
		{"CreateOpenIDConnectSession", s.CreateOpenIDConnectSession(ctx, g.oidcCode, r)},
	}
	for _, step := range steps {
		if step.err != nil {
			t.Fatalf("%s(%q): %v", step.name, requestID, step.err)
		}
	}
	return g
}

// countRows returns how many rows of table match where.
func countRows(t *testing.T, s *Store, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.db.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatalf("count %s where %s: %v", table, where, err)
	}
	return n
}

// tableText returns every value of every row of every table, one row a
// line, for checks that a value is not stored anywhere.
func tableText(t *testing.T, s *Store) string {
	t.Helper()
	tables, err := s.db.Migrator().GetTables()
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if len(tables) == 0 {
		t.Fatal("list tables: no tables found")
	}
	var b strings.Builder
	for _, table := range tables {
		var rows []map[string]any
		if err := s.db.Table(table).Find(&rows).Error; err != nil {
			t.Fatalf("read table %s: %v", table, err)
		}
		for _, row := range rows {
			for col, v := range row {
				if raw, ok := v.([]byte); ok {
					v = string(raw)
				}
				fmt.Fprintf(&b, "%s.%s=%v\t", table, col, v)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
