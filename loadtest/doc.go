// Package loadtest drives an OAuth 2.0 and OpenID Connect provider with
// concurrent requests and reports throughput, latency percentiles and
// errors by kind.
//
// It finds the endpoints through discovery and talks only to the origin
// (scheme, host and port) of the issuer URL it is given: it rejects
// endpoints and redirects that point elsewhere. The authorization code
// scenario signs in through idp's own login and consent pages, so it
// works only against idp. The other scenarios work against any provider
// that supports the grant they use.
//
// A baseline run sends the same requests to a minimal in-process HTTP
// server that returns a fixed token response, so a scenario's result can
// be read as a fraction of what the machine's HTTP stack can serve.
package loadtest
