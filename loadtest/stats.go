package loadtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// Summary is the result of one run.
type Summary struct {
	// Name is the scenario, or "baseline".
	Name string `json:"name"`
	// Concurrency is the number of workers.
	Concurrency int `json:"concurrency"`
	// Elapsed is the wall time of the measured part of the run.
	Elapsed Duration `json:"elapsed"`
	// Requests counts completed operations, successful or not. In the
	// authcode scenario one operation is a whole flow of several HTTP
	// requests; in every other scenario it is one HTTP request.
	Requests int `json:"requests"`
	// HTTPRequests counts the HTTP requests behind Requests.
	HTTPRequests int64 `json:"http_requests"`
	// Errors counts failed operations.
	Errors int `json:"errors"`
	// ErrorsByKind maps an error kind, such as "HTTP 503" or "timeout",
	// to its count.
	ErrorsByKind map[string]int `json:"errors_by_kind,omitempty"`
	// Rate is successful operations per second of Elapsed.
	Rate float64 `json:"requests_per_second"`
	// Latency percentiles cover successful operations only.
	P50 Duration `json:"latency_p50"`
	P90 Duration `json:"latency_p90"`
	P99 Duration `json:"latency_p99"`
	Max Duration `json:"latency_max"`
}

// Duration is a time.Duration that encodes in JSON as seconds, so that
// other tools can read it without knowing Go's duration syntax.
type Duration time.Duration

// MarshalJSON encodes d as a number of seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(d).Seconds(), 'f', 6, 64), nil
}

// UnmarshalJSON decodes a number of seconds, the form MarshalJSON
// writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	seconds, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("duration %s is not a number of seconds", b)
	}
	*d = Duration(seconds * float64(time.Second))
	return nil
}

// String formats d with millisecond precision below a minute.
func (d Duration) String() string {
	v := time.Duration(d)
	switch {
	case v >= time.Second:
		return v.Round(time.Millisecond).String()
	case v >= time.Millisecond:
		return v.Round(10 * time.Microsecond).String()
	default:
		return v.Round(time.Microsecond).String()
	}
}

// percentile returns the nearest-rank percentile p (0 < p <= 100) of
// sorted, the smallest value that at least p percent of the values do
// not exceed. It returns 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// record is the measurements of one worker.
type record struct {
	// latencies of successful operations.
	latencies []time.Duration
	// errors counts failed operations by Kind.
	errors map[string]int
}

// summarize builds the summary of a run from each worker's record.
func summarize(name string, concurrency int, elapsed time.Duration, records []*record) Summary {
	s := Summary{Name: name, Concurrency: concurrency, Elapsed: Duration(elapsed), ErrorsByKind: map[string]int{}}
	var latencies []time.Duration
	for _, r := range records {
		latencies = append(latencies, r.latencies...)
		for kind, n := range r.errors {
			s.ErrorsByKind[kind] += n
			s.Errors += n
		}
	}
	slices.Sort(latencies)
	s.Requests = len(latencies) + s.Errors
	if elapsed > 0 {
		s.Rate = float64(len(latencies)) / elapsed.Seconds()
	}
	s.P50 = Duration(percentile(latencies, 50))
	s.P90 = Duration(percentile(latencies, 90))
	s.P99 = Duration(percentile(latencies, 99))
	if len(latencies) > 0 {
		s.Max = Duration(latencies[len(latencies)-1])
	}
	return s
}

// StatusError is a response with an unexpected HTTP status.
type StatusError struct {
	Code int
	// OAuthError is the error field of an RFC 6749 error response, if
	// the body had one.
	OAuthError string
}

func (e *StatusError) Error() string {
	if e.OAuthError != "" {
		return fmt.Sprintf("HTTP status %d (%s)", e.Code, e.OAuthError)
	}
	return fmt.Sprintf("HTTP status %d", e.Code)
}

// errOtherOrigin is returned for a redirect or endpoint outside the
// issuer's origin.
var errOtherOrigin = errors.New("rejected a URL outside the issuer's origin")

// errBadResponse is returned for a response that has the expected
// status but lacks what the scenario needs, such as an access token.
var errBadResponse = errors.New("unexpected response")

// Kind classifies an operation's error for the summary: "HTTP 429" for
// a status, or a class of transport error such as "timeout",
// "connection refused", "connection reset" or "tls".
func Kind(err error) string {
	var status *StatusError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &status):
		return "HTTP " + strconv.Itoa(status.Code)
	case errors.Is(err, errOtherOrigin):
		return "other origin"
	case errors.Is(err, errBadResponse):
		return "bad response"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority),
		errors.As(err, &hostnameErr), errors.As(err, &recordErr):
		return "tls"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.EADDRNOTAVAIL):
		return "local resources"
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return "transport"
	}
	return "other"
}
