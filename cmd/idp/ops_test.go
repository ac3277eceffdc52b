package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a server goroutine to write
// while the test reads.
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

func TestHealthMetricsAndAccessLog(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 9)
	env := testEnv(t)

	created := runIDP(t, invocation{env: env}, "clients", "create", "--name", "Batch job",
		"--grant-type", "client_credentials", "--scope", "profile", "--json")
	wantCode(t, created, 0)
	var md struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(created.stdout), &md); err != nil {
		t.Fatalf("clients create --json: %v\n%s", err, created.stdout)
	}

	port, adminPort := freePort(t), freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	adminAddr := fmt.Sprintf("127.0.0.1:%d", adminPort)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &lockedBuffer{}
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, getenv: func(k string) string { return env[k] }}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, c, []string{"serve", "--issuer", "https://" + addr, "--listen", addr,
			"--tls-cert", certFile, "--tls-key", keyFile, "--admin-listen", adminAddr})
	}()
	waitListening(t, port)
	waitListening(t, adminPort)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, _ := get("https://" + addr + "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz: %d", status)
	}
	if status, _ := get("https://" + addr + "/readyz"); status != http.StatusOK {
		t.Errorf("/readyz: %d", status)
	}

	req, _ := http.NewRequest(http.MethodPost, "https://"+addr+"/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(md.ClientID, md.ClientSecret)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d", resp.StatusCode)
	}

	status, metrics := get("https://" + adminAddr + "/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		`idp_tokens_issued_total{grant_type="client_credentials"} 1`,
		`idp_http_requests_total{endpoint="POST /oauth2/token",status="200"} 1`,
		`idp_db_query_duration_seconds_count{operation="query"}`,
		`idp_sign_in_failures_total 0`,
		`idp_tripwire_catches_total 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if status, _ := get("https://" + adminAddr + "/admin/clients"); status != http.StatusNotFound {
		t.Errorf("admin API without a token configured: got %d, want 404", status)
	}

	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), `"client_id":"`+md.ClientID+`"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var line map[string]any
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, `"path":"/oauth2/token"`) {
			_ = json.Unmarshal([]byte(l), &line)
		}
	}
	if line["client_id"] != md.ClientID || line["status"] != float64(200) || line["method"] != "POST" {
		t.Errorf("access log line for the token request: %v", line)
	}
	if strings.Contains(stderr.String(), md.ClientSecret) {
		t.Error("the log holds the client secret")
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}
