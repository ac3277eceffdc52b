package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the
// given serial number to certFile and keyFile.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// peerSerial connects to addr and returns the serial number of the
// certificate it presents.
func peerSerial(t *testing.T, addr string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func TestCertReloaderPicksUpNewFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1)
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.interval = 0

	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: r.GetCertificate, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()

	if got := peerSerial(t, l.Addr().String()); got != 1 {
		t.Fatalf("first certificate: serial %d, want 1", got)
	}
	writeCert(t, certFile, keyFile, 2)
	if got := peerSerial(t, l.Addr().String()); got != 2 {
		t.Errorf("after replacing the files: serial %d, want 2", got)
	}

	// A broken pair keeps the previous certificate.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := peerSerial(t, l.Addr().String()); got != 2 {
		t.Errorf("after a broken key file: serial %d, want 2", got)
	}
}

func TestServeOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 7)
	port, tripwirePort := freePort(t), freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	tripwireAddr := fmt.Sprintf("127.0.0.1:%d", tripwirePort)
	env := testEnv(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stdout, stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
	go func() {
		done <- run(ctx, c, []string{"serve",
			"--issuer", "https://" + addr, "--listen", addr,
			"--tls-cert", certFile, "--tls-key", keyFile, "--admin-listen", "127.0.0.1:0",
			"--http-tripwire", tripwireAddr})
	}()
	waitListening(t, port)
	waitListening(t, tripwirePort)

	// A person who types http:// lands on the HTTPS issuer.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	typed, err := noFollow.Get("http://" + tripwireAddr + "/oauth2/authorize?client_id=x")
	if err != nil {
		t.Fatal(err)
	}
	typed.Body.Close()
	if typed.StatusCode != http.StatusPermanentRedirect || typed.Header.Get("Location") != "https://"+addr+"/oauth2/authorize?client_id=x" {
		t.Errorf("tripwire: got %d to %q", typed.StatusCode, typed.Header.Get("Location"))
	}

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery: status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("Strict-Transport-Security: got %q", got)
	}

	old := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}
	if conn, err := tls.Dial("tcp", addr, old); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 client connected")
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited with %d after cancel:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}

func TestServeBadTLSPairWritesNoDatabase(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 3)
	otherCert, otherKey := filepath.Join(dir, "other-cert.pem"), filepath.Join(dir, "other-key.pem")
	writeCert(t, otherCert, otherKey, 4)

	tests := []struct {
		name      string
		cert, key string
	}{
		{name: "files switched", cert: keyFile, key: certFile},
		{name: "key of another certificate", cert: certFile, key: otherKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv(t)
			r := runIDP(t, invocation{env: env}, "serve",
				"--issuer", "https://id.example.com", "--listen", "127.0.0.1:0",
				"--admin-listen", "127.0.0.1:0", "--tls-cert", tt.cert, "--tls-key", tt.key)
			wantCode(t, r, 1)
			wantContains(t, "stderr", r.stderr, "load TLS certificate "+tt.cert)
			if _, err := os.Stat(env["IDP_DATABASE"]); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("database %s after the rejected start: stat error %v, want it missing",
					env["IDP_DATABASE"], err)
			}
		})
	}
}
