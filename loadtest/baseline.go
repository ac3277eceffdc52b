package loadtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// baselineBody is the fixed response of the baseline server, shaped and
// sized like an idp client credentials response.
const baselineBody = `{"access_token":"baseline_at_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG.` +
	`0123456789abcdefghijklmnopqrstuvwxyzABCDEFG","expires_in":299,"scope":"","token_type":"bearer"}`

// baselineHandler is the whole baseline server: it reads the form of a
// POST and writes baselineBody with the headers of a token response.
func baselineHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form", http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.Write([]byte(baselineBody))
}

// baselineServer is the in-process server of a baseline run, listening
// on 127.0.0.1.
type baselineServer struct {
	URL    string
	server *http.Server
	// roots trusts the server's certificate when it serves TLS.
	roots *x509.CertPool
}

// startBaselineServer starts the baseline server on a free port of
// 127.0.0.1, with a fresh self-signed certificate when useTLS is set.
func startBaselineServer(useTLS bool) (*baselineServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	s := &baselineServer{server: &http.Server{
		Handler:           http.HandlerFunc(baselineHandler),
		ReadHeaderTimeout: 10 * time.Second,
	}}
	scheme := "http"
	if useTLS {
		cert, roots, err := selfSignedCertificate()
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.roots = roots
		// HTTP/1.1 only, like the client transport.
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
		scheme = "https"
	}
	s.URL = scheme + "://" + ln.Addr().String()
	go s.server.Serve(ln)
	return s, nil
}

func (s *baselineServer) Close() error { return s.server.Close() }

// selfSignedCertificate returns an ECDSA P-256 certificate for 127.0.0.1
// valid for one hour, and a pool that trusts it.
func selfSignedCertificate() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "idp loadtest baseline"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("create baseline certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots, nil
}

// runBaseline runs client credentials requests against the baseline
// server with the settings of the scenario run. The server serves TLS
// when the issuer is an https URL, so both runs pay the same transport
// costs.
func runBaseline(ctx context.Context, cfg Config) (Summary, error) {
	useTLS := false
	if cfg.Issuer != "" {
		u, err := url.Parse(cfg.Issuer)
		if err != nil {
			return Summary{}, fmt.Errorf("issuer %q: %w", cfg.Issuer, err)
		}
		useTLS = strings.EqualFold(u.Scheme, "https")
	}
	srv, err := startBaselineServer(useTLS)
	if err != nil {
		return Summary{}, err
	}
	defer srv.Close()

	transport := NewTransport(cfg.Concurrency, false)
	if srv.roots != nil {
		transport.TLSClientConfig = &tls.Config{RootCAs: srv.roots}
	}
	defer transport.CloseIdleConnections()
	base, _ := url.Parse(srv.URL)
	d := &Driver{
		HTTP:         NewClient(transport, base),
		Endpoints:    Endpoints{Issuer: srv.URL, Token: srv.URL + "/token"},
		ClientID:     "baseline",
		ClientSecret: "baseline-secret",
	}
	// One request first, so a broken baseline fails loudly instead of
	// producing a summary of errors.
	if _, err := d.ClientCredentials(ctx, ""); err != nil {
		return Summary{}, errors.Join(errors.New("request to the baseline server failed"), err)
	}
	ops := make([]operation, cfg.Concurrency)
	for i := range ops {
		ops[i] = func(ctx context.Context) error {
			_, err := d.ClientCredentials(ctx, "")
			return err
		}
	}
	before := d.HTTPRequests()
	s := drive(ctx, cfg, "baseline", ops)
	s.HTTPRequests = d.HTTPRequests() - before
	return s, nil
}
