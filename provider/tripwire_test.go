package provider

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idp/idp/consent"
)

const (
	testAccessToken  = PrefixAccessToken + "a1b2c3.s1g"
	testRefreshToken = PrefixRefreshToken + "d4e5f6.s2g"
	testCode         = PrefixCode + "g7h8i9.s3g"
)

func TestFindCredentials(t *testing.T) {
	basic := func(name, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(name+":"+secret))
	}
	tests := []struct {
		name        string
		method      string
		target      string
		header      map[string]string
		contentType string
		body        string
		want        []caught
	}{
		{
			name:   "no credential",
			method: http.MethodGet,
			target: "/oauth2/authorize?client_id=app&state=xyz&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
		},
		{
			name:   "bearer header",
			method: http.MethodGet,
			target: "/userinfo",
			header: map[string]string{"Authorization": "Bearer " + testAccessToken},
			want:   []caught{{kind: credAccessToken, value: testAccessToken}},
		},
		{
			name:   "unprefixed bearer",
			method: http.MethodGet,
			target: "/userinfo",
			header: map[string]string{"Authorization": "Bearer plain.token"},
			want:   []caught{{kind: credAccessToken, value: "plain.token"}},
		},
		{
			name:   "basic header",
			method: http.MethodPost,
			target: "/oauth2/token",
			header: map[string]string{"Authorization": basic("app", "s3cret")},
			want:   []caught{{kind: credBasic, value: "s3cret", name: "app"}},
		},
		{
			name:   "other scheme",
			method: http.MethodGet,
			target: "/",
			header: map[string]string{"Authorization": "DPoP abc"},
			want:   []caught{{kind: credAuthorization, value: "DPoP abc"}},
		},
		{
			name:   "session cookie",
			method: http.MethodGet,
			target: "/login",
			header: map[string]string{"Cookie": consent.SessionCookie + "=cookie-value; other=x"},
			want:   []caught{{kind: credSessionCookie, value: "cookie-value"}},
		},
		{
			name:   "insecure session cookie",
			method: http.MethodGet,
			target: "/login",
			header: map[string]string{"Cookie": consent.InsecureSessionCookie + "=dev-value"},
			want:   []caught{{kind: credSessionCookie, value: "dev-value"}},
		},
		{
			name:   "unrelated cookie",
			method: http.MethodGet,
			target: "/",
			header: map[string]string{"Cookie": "theme=dark"},
		},
		{
			name:        "token form",
			method:      http.MethodPost,
			target:      "/oauth2/token",
			contentType: "application/x-www-form-urlencoded",
			body:        "grant_type=refresh_token&refresh_token=" + testRefreshToken + "&client_id=app&client_secret=s3cret",
			want: []caught{
				{kind: credRefreshToken, value: testRefreshToken},
				{kind: credClientSecret, value: "s3cret", name: "app"},
			},
		},
		{
			name:   "code in query",
			method: http.MethodGet,
			target: "/callback?code=" + testCode + "&state=x",
			want:   []caught{{kind: credCode, value: testCode}},
		},
		{
			name:        "prefix decides over field",
			method:      http.MethodPost,
			target:      "/oauth2/revoke",
			contentType: "application/x-www-form-urlencoded",
			body:        "code=" + testAccessToken + "&token=opaque.value",
			want: []caught{
				{kind: credAccessToken, value: testAccessToken},
				{kind: credToken, value: "opaque.value"},
			},
		},
		{
			name:        "password with username from query",
			method:      http.MethodPost,
			target:      "/login?username=alice",
			contentType: "application/x-www-form-urlencoded",
			body:        "password=hunter22",
			want:        []caught{{kind: credPassword, value: "hunter22", name: "alice"}},
		},
		{
			name:        "client assertion",
			method:      http.MethodPost,
			target:      "/oauth2/token",
			contentType: "application/x-www-form-urlencoded",
			body:        "client_assertion=eyJ.e30.sig&client_assertion_type=x",
			want:        []caught{{kind: credClientAssertion, value: "eyJ.e30.sig"}},
		},
		{
			name:        "json body",
			method:      http.MethodPost,
			target:      "/oauth2/token",
			contentType: "application/json; charset=utf-8",
			body:        `{"client_id":"app","client_secret":"s3cret","n":1}`,
			want:        []caught{{kind: credClientSecret, value: "s3cret", name: "app"}},
		},
		{
			name:        "multipart body",
			method:      http.MethodPost,
			target:      "/oauth2/token",
			contentType: "multipart/form-data; boundary=XX",
			body: "--XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nbob\r\n" +
				"--XX\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\npa55word\r\n--XX--\r\n",
			want: []caught{{kind: credPassword, value: "pa55word", name: "bob"}},
		},
		{
			name:   "prefixed token in custom header",
			method: http.MethodGet,
			target: "/",
			header: map[string]string{"X-Api-Key": "key=" + testAccessToken},
			want:   []caught{{kind: credAccessToken, value: testAccessToken}},
		},
		{
			name:        "prefixed token in text body",
			method:      http.MethodPut,
			target:      "/",
			contentType: "text/plain",
			body:        "please use " + testCode + " now",
			want:        []caught{{kind: credCode, value: testCode}},
		},
		{
			name:   "prefixed token in path",
			method: http.MethodGet,
			target: "/tokens/" + testRefreshToken,
			want:   []caught{{kind: credRefreshToken, value: testRefreshToken}},
		},
		{
			name:   "same token twice",
			method: http.MethodGet,
			target: "/userinfo?access_token=" + testAccessToken,
			header: map[string]string{"Authorization": "Bearer " + testAccessToken},
			want:   []caught{{kind: credAccessToken, value: testAccessToken}},
		},
		{
			name:   "empty values",
			method: http.MethodGet,
			target: "/?access_token=&password=&client_secret=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			got := findCredentials(r, []byte(tt.body))
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(caught{})); diff != "" {
				t.Errorf("credentials (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindCredentialsCapped(t *testing.T) {
	q := url.Values{}
	for i := range 3 * maxTripwireCredentials {
		q.Add("token", "value"+string(rune('a'+i%26))+strings.Repeat("x", i))
	}
	r := httptest.NewRequest(http.MethodGet, "/?"+q.Encode(), nil)
	if got := len(findCredentials(r, nil)); got != maxTripwireCredentials {
		t.Errorf("found %d credentials, want the cap of %d", got, maxTripwireCredentials)
	}
}

func TestTokenLookupOrder(t *testing.T) {
	tests := []struct {
		name string
		c    caught
		want []credentialKind
	}{
		{"access prefix", caught{kind: credToken, value: testAccessToken}, []credentialKind{credAccessToken}},
		{"refresh prefix", caught{kind: credAccessToken, value: testRefreshToken}, []credentialKind{credRefreshToken}},
		{"code prefix", caught{kind: credToken, value: testCode}, []credentialKind{credCode}},
		{"unprefixed token", caught{kind: credToken, value: "a.b"}, []credentialKind{credAccessToken, credRefreshToken, credCode}},
		{"unprefixed refresh field", caught{kind: credRefreshToken, value: "a.b"}, []credentialKind{credRefreshToken, credAccessToken, credCode}},
		{"unprefixed code field", caught{kind: credCode, value: "a.b"}, []credentialKind{credCode, credRefreshToken, credAccessToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tokenLookupOrder(tt.c)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRateLimiterPerClient(t *testing.T) {
	l := newRateLimiter(rateLimit{perSecond: 2, burst: 3}, rateLimit{perSecond: 1000, burst: 1000}, 100)
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")

	for i := range 3 {
		if _, ok := l.allow(a, start); !ok {
			t.Fatalf("request %d within the burst was limited", i+1)
		}
	}
	wait, ok := l.allow(a, start)
	if ok {
		t.Fatal("request beyond the burst was allowed")
	}
	if wait != 500*time.Millisecond {
		t.Errorf("wait = %v, want 500ms at 2 requests per second", wait)
	}
	if _, ok := l.allow(b, start); !ok {
		t.Error("another client was limited by the first one's bucket")
	}
	if _, ok := l.allow(a, start.Add(500*time.Millisecond)); !ok {
		t.Error("request after the refill time was limited")
	}
}

func TestRateLimiterGlobal(t *testing.T) {
	l := newRateLimiter(rateLimit{perSecond: 100, burst: 100}, rateLimit{perSecond: 1, burst: 2}, 100)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2 {
		addr := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		if _, ok := l.allow(addr, now); !ok {
			t.Fatalf("request %d within the global burst was limited", i+1)
		}
	}
	wait, ok := l.allow(netip.MustParseAddr("198.51.100.99"), now)
	if ok {
		t.Fatal("request beyond the global burst was allowed")
	}
	if got := retryAfterSeconds(wait); got != 1 {
		t.Errorf("Retry-After = %d, want 1", got)
	}
}

func TestRateLimiterForgetsOldest(t *testing.T) {
	l := newRateLimiter(rateLimit{perSecond: 1, burst: 1}, rateLimit{perSecond: 1000, burst: 1000}, 2)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	first := netip.MustParseAddr("203.0.113.1")
	l.allow(first, now)
	l.allow(netip.MustParseAddr("203.0.113.2"), now)
	l.allow(netip.MustParseAddr("203.0.113.3"), now)

	if got := len(l.clients); got != 2 {
		t.Errorf("remembered %d clients, want the cap of 2", got)
	}
	if got := l.recent.Len(); got != 2 {
		t.Errorf("recent list has %d entries, want 2", got)
	}
	if _, ok := l.clients[clientNetwork(first)]; ok {
		t.Error("the least recently seen client was kept")
	}
}

func TestClientNetwork(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		{"192.0.2.7", "192.0.2.7/32"},
		{"::ffff:192.0.2.7", "192.0.2.7/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := clientNetwork(netip.MustParseAddr(tt.addr)).String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	if got := clientNetwork(netip.Addr{}); got != (netip.Prefix{}) {
		t.Errorf("invalid address: got %v, want the zero prefix", got)
	}
}

// newRedirectTripwire returns a tripwire whose provider has only what
// requests without credentials need.
func newRedirectTripwire(t *testing.T) http.Handler {
	t.Helper()
	issuer, err := url.Parse("https://id.example.com")
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{
		cfg:    Config{Now: time.Now, Logger: slog.New(slog.DiscardHandler)},
		issuer: issuer,
	}
	return p.TripwireHandler(nil)
}

func TestTripwireRedirect(t *testing.T) {
	h := newRedirectTripwire(t)
	tests := []struct {
		name   string
		method string
		target string
		host   string
		want   string
	}{
		{"root", http.MethodGet, "/", "", "https://id.example.com/"},
		{"path and query", http.MethodGet, "/oauth2/authorize?client_id=app&scope=openid%20email",
			"", "https://id.example.com/oauth2/authorize?client_id=app&scope=openid%20email"},
		{"head", http.MethodHead, "/.well-known/openid-configuration", "",
			"https://id.example.com/.well-known/openid-configuration"},
		{"host header ignored", http.MethodGet, "/login", "evil.example", "https://id.example.com/login"},
		{"escaped path kept", http.MethodGet, "/a%2Fb", "", "https://id.example.com/a%2Fb"},
		{"double slash stays on issuer", http.MethodGet, "//evil.example/x", "", "https://id.example.com//evil.example/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if rec.Code != http.StatusPermanentRedirect {
				t.Fatalf("status = %d, want 308", rec.Code)
			}
			if got := rec.Header().Get("Location"); got != tt.want {
				t.Errorf("Location = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTripwireRejectsOtherMethods(t *testing.T) {
	h := newRedirectTripwire(t)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		t.Run(method, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, "/oauth2/token", nil))

			if rec.Code != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", rec.Code)
			}
			if rec.Header().Get("Location") != "" {
				t.Errorf("redirected a %s to %q", method, rec.Header().Get("Location"))
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
		})
	}
}

func TestTripwireBodyTooLarge(t *testing.T) {
	h := newRedirectTripwire(t)
	body := strings.Repeat("a", maxTripwireBody+1)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body)))

	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", rec.Code)
	}
}

func TestTripwireLimitsRequests(t *testing.T) {
	h := newRedirectTripwire(t)
	var limited *httptest.ResponseRecorder
	for range int(tripwirePerClient.burst) + 5 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code == http.StatusTooManyRequests {
			limited = rec
			break
		}
	}
	if limited == nil {
		t.Fatal("no request was limited")
	}
	if got := limited.Header().Get("Retry-After"); got == "" || got == "0" {
		t.Errorf("Retry-After = %q, want a positive number of seconds", got)
	}
}
