package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckInterval is the minimum time between two checks of the
// certificate files; a check happens only during a handshake.
const certCheckInterval = time.Second

// certReloader serves the certificate in a pair of PEM files and loads
// them again when either file changes, so a renewed certificate takes
// effect without a restart. A pair that fails to load is logged and the
// previous certificate stays in use.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	interval          time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger, interval: certCheckInterval}
	stamp, err := r.fileStamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	r.cert, r.stamp, r.checked = &cert, stamp, time.Now()
	return r, nil
}

// fileStamp describes the size and modification time of both files.
func (r *certReloader) fileStamp() (string, error) {
	var stamp string
	for _, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", fmt.Errorf("TLS file: %w", err)
		}
		stamp += fmt.Sprintf("%s:%d:%d;", name, fi.Size(), fi.ModTime().UnixNano())
	}
	return stamp, nil
}

// GetCertificate implements tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) < r.interval {
		return r.cert, nil
	}
	r.checked = time.Now()
	stamp, err := r.fileStamp()
	if err != nil || stamp == r.stamp {
		return r.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		// Files written one after the other can be caught in between;
		// the next check tries again.
		r.logger.Warn("reload TLS certificate failed; keeping the previous one", "err", err)
		return r.cert, nil
	}
	r.cert, r.stamp = &cert, stamp
	r.logger.Info("TLS certificate reloaded", "file", r.certFile)
	return r.cert, nil
}
