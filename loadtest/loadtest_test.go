package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 50, want: 0},
		{name: "single value", sorted: []time.Duration{7}, p: 99, want: 7},
		{name: "median of hundred", sorted: hundred, p: 50, want: 50 * time.Millisecond},
		{name: "p90 of hundred", sorted: hundred, p: 90, want: 90 * time.Millisecond},
		{name: "p99 of hundred", sorted: hundred, p: 99, want: 99 * time.Millisecond},
		{name: "p100 is max", sorted: hundred, p: 100, want: 100 * time.Millisecond},
		{name: "rank rounds up", sorted: []time.Duration{1, 2, 3}, p: 50, want: 2},
		{name: "p99 of three is max", sorted: []time.Duration{1, 2, 3}, p: 99, want: 3},
		{name: "tiny p is min", sorted: []time.Duration{1, 2, 3}, p: 0.1, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v): got %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeMergesWorkers(t *testing.T) {
	records := []*record{
		{latencies: []time.Duration{3, 1}, errors: map[string]int{"HTTP 500": 2}},
		{latencies: []time.Duration{2, 4}, errors: map[string]int{"HTTP 500": 1, "timeout": 1}},
	}
	s := summarize("x", 2, 2*time.Second, records)
	if s.Requests != 8 {
		t.Errorf("requests: got %d, want 8", s.Requests)
	}
	if s.Errors != 4 {
		t.Errorf("errors: got %d, want 4", s.Errors)
	}
	if s.ErrorsByKind["HTTP 500"] != 3 || s.ErrorsByKind["timeout"] != 1 {
		t.Errorf("errors by kind: got %v", s.ErrorsByKind)
	}
	if s.Rate != 2 {
		t.Errorf("rate: got %v, want 2 successes per second", s.Rate)
	}
	if s.P50 != 2 || s.Max != 4 {
		t.Errorf("latency: got p50 %v max %v, want 2 and 4", s.P50, s.Max)
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "status", err: &StatusError{Code: 503}, want: "HTTP 503"},
		{name: "wrapped status", err: fmt.Errorf("token: %w", &StatusError{Code: 400, OAuthError: "invalid_grant"}), want: "HTTP 400"},
		{name: "other origin", err: &url.Error{Op: "Post", URL: "x", Err: fmt.Errorf("redirect: %w", errOtherOrigin)}, want: "other origin"},
		{name: "bad response", err: fmt.Errorf("%w: no access_token", errBadResponse), want: "bad response"},
		{name: "deadline", err: &url.Error{Op: "Post", URL: "x", Err: context.DeadlineExceeded}, want: "timeout"},
		{name: "refused", err: &url.Error{Op: "Post", URL: "x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, want: "connection refused"},
		{name: "reset", err: &url.Error{Op: "Post", URL: "x", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, want: "connection reset"},
		{name: "closed", err: &url.Error{Op: "Post", URL: "x", Err: io.EOF}, want: "connection closed"},
		{name: "other transport", err: &url.Error{Op: "Post", URL: "x", Err: errors.New("odd")}, want: "transport"},
		{name: "other", err: errors.New("odd"), want: "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Kind(tt.err); got != tt.want {
				t.Errorf("Kind(%v): got %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// newTokenServer starts a provider stand-in that serves discovery and a
// token endpoint whose handler is token.
func newTokenServer(t *testing.T, token http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{
			"issuer":                 srv.URL,
			"token_endpoint":         srv.URL + "/token",
			"introspection_endpoint": srv.URL + "/introspect",
		})
	})
	mux.HandleFunc("POST /token", token)
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"active":true}`))
	})
	return srv
}

func TestRunClientCredentials(t *testing.T) {
	var calls atomic.Int64
	srv := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if id != "app" || secret != "s%3Dcret" || r.PostFormValue("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// Every fifth request fails, to exercise the error count.
		if calls.Add(1)%5 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"access_token":"a","token_type":"bearer"}`))
	})

	var progress bytes.Buffer
	report, err := Run(context.Background(), Config{
		Issuer:       srv.URL,
		ClientID:     "app",
		ClientSecret: "s=cret",
		Scenario:     ClientCredentials,
		Concurrency:  4,
		Requests:     100,
		Progress:     &progress,
	})
	if err != nil {
		t.Fatal(err)
	}

	s := report.Scenario
	if s == nil {
		t.Fatal("report has no scenario summary")
	}
	if s.Requests != 100 {
		t.Errorf("requests: got %d, want 100", s.Requests)
	}
	if s.HTTPRequests != 100 {
		t.Errorf("HTTP requests: got %d, want 100", s.HTTPRequests)
	}
	if s.ErrorsByKind["HTTP 503"] != 20 || s.Errors != 20 {
		t.Errorf("errors: got %d %v, want 20 of HTTP 503", s.Errors, s.ErrorsByKind)
	}
	if s.Rate <= 0 || s.P50 <= 0 || s.Max < s.P99 || s.P99 < s.P90 || s.P90 < s.P50 {
		t.Errorf("rate and latency out of order: %+v", s)
	}
	if report.Baseline != nil {
		t.Errorf("baseline ran without being requested")
	}
}

func TestRunIntrospectWithBaseline(t *testing.T) {
	srv := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"access_token":"a","token_type":"bearer"}`))
	})
	report, err := Run(context.Background(), Config{
		Issuer:       srv.URL,
		ClientID:     "app",
		ClientSecret: "secret",
		Scenario:     Introspect,
		Concurrency:  2,
		Duration:     300 * time.Millisecond,
		Baseline:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if report.Baseline == nil || report.Scenario == nil {
		t.Fatalf("report lacks a summary: %+v", report)
	}
	if report.Baseline.Errors != 0 || report.Scenario.Errors != 0 {
		t.Errorf("errors: baseline %v, scenario %v", report.Baseline.ErrorsByKind, report.Scenario.ErrorsByKind)
	}
	if report.Baseline.Requests == 0 || report.Scenario.Requests == 0 {
		t.Errorf("a run made no requests: baseline %d, scenario %d", report.Baseline.Requests, report.Scenario.Requests)
	}
	if report.FractionOfBaseline <= 0 {
		t.Errorf("fraction of baseline: got %v, want > 0", report.FractionOfBaseline)
	}

	var out bytes.Buffer
	if err := WriteJSON(&out, report); err != nil {
		t.Fatal(err)
	}
	var decoded map[string]any
	if err := json.Unmarshal(out.Bytes(), &decoded); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, out.String())
	}
	if _, ok := decoded["fraction_of_baseline"]; !ok {
		t.Errorf("JSON output lacks fraction_of_baseline:\n%s", out.String())
	}
	out.Reset()
	if err := WriteText(&out, report); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "of the baseline rate") {
		t.Errorf("text output lacks the baseline fraction:\n%s", out.String())
	}
}

func TestBaselineServesTLS(t *testing.T) {
	report, err := Run(context.Background(), Config{
		Issuer:      "https://127.0.0.1:1",
		Baseline:    true,
		Concurrency: 2,
		Requests:    20,
	})
	if err != nil {
		t.Fatal(err)
	}
	if report.Baseline.Errors != 0 || report.Baseline.Requests != 20 {
		t.Errorf("baseline over TLS: got %d requests, errors %v", report.Baseline.Requests, report.Baseline.ErrorsByKind)
	}
}

func TestRedirectToOtherHostRejected(t *testing.T) {
	var elsewhereHit atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhereHit.Store(true)
	}))
	defer elsewhere.Close()
	srv := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/token", http.StatusTemporaryRedirect)
	})

	report, err := Run(context.Background(), Config{
		Issuer: srv.URL, ClientID: "app", ClientSecret: "secret",
		Scenario: ClientCredentials, Concurrency: 1, Requests: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := report.Scenario.ErrorsByKind["other origin"]; got != 3 {
		t.Errorf("other origin errors: got %d (%v), want 3", got, report.Scenario.ErrorsByKind)
	}
	if elsewhereHit.Load() {
		t.Error("the load generator sent a request to another host")
	}
}

func TestDiscoveryRejectsOtherOrigin(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{
			"issuer":         srv.URL,
			"token_endpoint": "http://127.0.0.2:9/token",
		})
	})
	u, _ := url.Parse(srv.URL)
	_, err := Discover(context.Background(), NewClient(http.DefaultTransport, u), srv.URL)
	if !errors.Is(err, errOtherOrigin) {
		t.Errorf("discovery with a token endpoint elsewhere: got %v, want an other-origin error", err)
	}
}

func TestValidate(t *testing.T) {
	base := Config{Issuer: "http://127.0.0.1:1", ClientID: "a", ClientSecret: "b", Duration: time.Second}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{name: "valid", change: func(c *Config) { c.Scenario = ClientCredentials }},
		{name: "baseline only", change: func(c *Config) { *c = Config{Baseline: true, Duration: time.Second} }},
		{name: "nothing to run", change: func(c *Config) {}, wantErr: "name a scenario"},
		{name: "unknown scenario", change: func(c *Config) { c.Scenario = "password" }, wantErr: "unknown scenario"},
		{name: "no bound", change: func(c *Config) { c.Scenario = ClientCredentials; c.Duration = 0 }, wantErr: "set a duration"},
		{name: "authcode without user", change: func(c *Config) { c.Scenario = AuthCode }, wantErr: "needs a username"},
		{name: "missing secret", change: func(c *Config) { c.Scenario = Introspect; c.ClientSecret = "" }, wantErr: "client secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
