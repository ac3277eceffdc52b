package provider

import (
	"bytes"
	"container/list"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ory/fosite"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/consent"
	"github.com/idp/idp/storage"
)

// Limits of the plain-HTTP tripwire.
const (
	// maxTripwireBody is the largest request body read, in bytes.
	maxTripwireBody = 64 << 10
	// maxTripwireCredentials is the max number of credentials checked
	// per request. The rest still make the request fail.
	maxTripwireCredentials = 16
	// maxTripwirePasswords is the max number of passwords checked per
	// request, because each check costs an argon2id hash.
	maxTripwirePasswords = 2
	// tripwireWorkTimeout bounds the revocations of one request. They
	// run on a context that the client cannot cancel by hanging up.
	tripwireWorkTimeout = 10 * time.Second
)

// Rate limits of the tripwire listener: requests per second and burst,
// per client network and for all clients together, and the number of
// client networks tracked.
var (
	tripwirePerClient  = rateLimit{perSecond: 10, burst: 20}
	tripwireGlobal     = rateLimit{perSecond: 200, burst: 400}
	tripwireMaxClients = 10000
)

// tripwireDescription is the error_description of every request the
// tripwire rejects. It is the same whatever was sent and whether it was
// valid, so the response reveals nothing to an eavesdropper.
const tripwireDescription = "HTTPS is required. A credential sent over plain HTTP " +
	"has been revoked if it was valid."

// credentialKind names a kind of credential the tripwire catches. It is
// stored as storage.SecurityEvent.CredentialKind.
type credentialKind string

const (
	credAccessToken  credentialKind = "access_token"
	credRefreshToken credentialKind = "refresh_token"
	credCode         credentialKind = "authorization_code"
	// credToken is a token whose kind neither a prefix nor the field
	// name gives away, such as an unprefixed token= value.
	credToken           credentialKind = "token"
	credClientSecret    credentialKind = "client_secret"
	credClientAssertion credentialKind = "client_assertion"
	credPassword        credentialKind = "password"
	// credBasic is an HTTP Basic credential, either a client's id and
	// secret or a user's name and password.
	credBasic         credentialKind = "basic_credentials"
	credSessionCookie credentialKind = "session_cookie"
	// credAuthorization is an Authorization header of a scheme other
	// than Bearer and Basic.
	credAuthorization credentialKind = "authorization_header"
)

// isToken reports whether the kind is an HMAC-signed token of idp's.
func (k credentialKind) isToken() bool {
	return k == credAccessToken || k == credRefreshToken || k == credCode || k == credToken
}

// prefixedToken matches idp's tokens wherever they appear, as a secret
// scanner would: a prefix, then fosite's "key.signature" form in
// base64url.
var prefixedToken = regexp.MustCompile(`idp_(?:at|rt|ac)_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// TripwireHandler returns the handler of the plain-HTTP listener. That
// listener serves nothing: it exists to catch mistakes and downgrade
// attacks.
//
// A GET or HEAD without a credential is redirected with 308 to the same
// path and query on the issuer's origin, never on the Host header. Any
// other request is rejected, normally with a 400 and one fixed JSON
// body. Before that response, every credential found in the request
// that verifies is made useless:
//   - an access or refresh token: its grant is revoked;
//   - an authorization code: it is invalidated and its grant revoked;
//   - a session cookie: the login session ends;
//   - a client secret: it is disabled until an admin rotates it;
//   - a password: the user must change it and loses their sessions
//     and tokens.
//
// A credential that does not verify changes nothing. Each credential
// found is logged at warning level and stored as a security event,
// without its value.
//
// Requests are rate-limited per client network, which t determines,
// and in total. A request over a limit gets 429, and only its tokens
// whose HMAC verifies are checked. A forged token never reaches the
// database, and a flood from elsewhere must not keep alive a token
// that an eavesdropper saw.
func (p *Provider) TripwireHandler(t *Transport) http.Handler {
	if t == nil {
		t = &Transport{}
	}
	return &tripwire{
		p:         p,
		transport: t,
		limiter:   newRateLimiter(tripwirePerClient, tripwireGlobal, tripwireMaxClients),
	}
}

type tripwire struct {
	p         *Provider
	transport *Transport
	limiter   *rateLimiter
}

// caught is one credential found in a request.
type caught struct {
	kind  credentialKind
	value string
	// name is the client_id or username sent with a client secret,
	// password or Basic credential.
	name string
}

// outcome is the result of checking one credential.
type outcome struct {
	// kind replaces the caught kind once the check has resolved it, as
	// for a Basic credential or an unprefixed token.
	kind credentialKind
	// verified reports whether the credential was a valid one.
	verified  bool
	clientID  string
	userID    string
	requestID string
	// detail describes what was done, for the event and the log.
	detail string
	err    error
}

func (tw *tripwire) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	wait, allowed := tw.limiter.allow(tw.transport.ClientIP(r), tw.p.cfg.Now())

	body, tooLarge := readTripwireBody(w, r)
	found := findCredentials(r, body)

	// Revocation must finish even when the client hangs up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), tripwireWorkTimeout)
	defer cancel()

	if !allowed {
		tw.checkCheap(ctx, r, found)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"error": "temporarily_unavailable",
			"error_description": "Too many requests. HTTPS is required. Tokens, sessions and client secrets " +
				"sent over plain HTTP have been revoked if they were valid; a password sent now was not checked, so change it.",
		})
		return
	}
	if len(found) == 0 && !tooLarge && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		tw.redirect(w, r)
		return
	}

	failed := tw.checkAll(ctx, r, found)

	switch {
	case failed:
		// The usual description would be false, so the client learns
		// that its credential may still be valid and must be rotated.
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{
			"error": "temporarily_unavailable",
			"error_description": "HTTPS is required. A credential sent over plain HTTP " +
				"could not be checked, so rotate it.",
		})
	case tooLarge:
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{
			"error":             "invalid_request",
			"error_description": "The request body is too large. " + tripwireDescription,
		})
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error":             "invalid_request",
			"error_description": tripwireDescription,
		})
	}
}

// redirect sends the client to the same path and query on the
// issuer's origin. The Host header is ignored, because anyone can set
// it.
func (tw *tripwire) redirect(w http.ResponseWriter, r *http.Request) {
	target := url.URL{
		Scheme:   tw.p.issuer.Scheme,
		Host:     tw.p.issuer.Host,
		Path:     r.URL.Path,
		RawPath:  r.URL.RawPath,
		RawQuery: r.URL.RawQuery,
	}
	if !strings.HasPrefix(target.Path, "/") {
		target.Path, target.RawPath = "/", ""
	}
	w.Header().Set("Location", target.String())
	w.WriteHeader(http.StatusPermanentRedirect)
}

// checkAll checks and reports every credential found and reports
// whether any check failed.
func (tw *tripwire) checkAll(ctx context.Context, r *http.Request, found []caught) (failed bool) {
	passwords := 0
	for _, c := range found {
		hashesPassword := c.kind == credPassword || c.kind == credBasic
		if hashesPassword {
			passwords++
		}
		out := outcome{detail: "not checked: too many passwords in one request"}
		if !hashesPassword || passwords <= maxTripwirePasswords {
			out = tw.check(ctx, r, c)
		}
		tw.report(ctx, r, c, out)
		failed = failed || out.err != nil
	}
	return failed
}

// checkCheap checks every credential except passwords, for a request
// over the rate limit. Tokens, session cookies and client secrets cost
// an HMAC and a lookup, so a flood cannot keep a sniffed one alive.
// Passwords cost an argon2id hash each and are left unchecked.
func (tw *tripwire) checkCheap(ctx context.Context, r *http.Request, found []caught) {
	for _, c := range found {
		if c.kind == credPassword || (c.kind == credBasic && !tw.isClientID(ctx, c.name)) {
			tw.report(ctx, r, c, outcome{detail: "not checked: over the rate limit; change this password"})
			continue
		}
		tw.report(ctx, r, c, tw.check(ctx, r, c))
	}
}

// readTripwireBody reads up to maxTripwireBody bytes of the body and
// reports whether there was more.
func readTripwireBody(w http.ResponseWriter, r *http.Request) (body []byte, tooLarge bool) {
	if r.Body == nil {
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTripwireBody))
	var maxErr *http.MaxBytesError
	return body, errors.As(err, &maxErr)
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// check verifies one credential and, when it is valid, makes it
// useless.
func (tw *tripwire) check(ctx context.Context, r *http.Request, c caught) outcome {
	switch c.kind {
	case credAccessToken, credRefreshToken, credCode, credToken:
		return tw.checkToken(ctx, c)
	case credClientSecret:
		return tw.checkClientSecret(ctx, c.name, c.value)
	case credPassword:
		return tw.checkPassword(ctx, r, c.name, c.value)
	case credBasic:
		return tw.checkBasic(ctx, r, c)
	case credSessionCookie:
		return tw.checkSession(ctx, c.value)
	case credClientAssertion:
		return outcome{detail: "not checked: client assertions are not supported"}
	default:
		return outcome{detail: "not checked: unknown authorization scheme"}
	}
}

// report logs one caught credential at warning level, or at error
// level when checking it failed, and stores it as a security event.
// Neither holds the credential.
func (tw *tripwire) report(ctx context.Context, r *http.Request, c caught, out outcome) {
	kind := c.kind
	if out.kind != "" {
		kind = out.kind
	}
	remote := tw.transport.ClientIP(r).String()
	attrs := []any{
		"credential_kind", string(kind),
		"verified", out.verified,
		"client_id", out.clientID,
		"user_id", out.userID,
		"request_id", out.requestID,
		"remote_addr", remote,
		"method", r.Method,
		"path", RedactPath(r.URL.Path),
		"detail", out.detail,
	}
	logger := tw.p.cfg.Logger
	if out.err != nil {
		logger.ErrorContext(ctx, "check of credential sent over plain HTTP failed", append(attrs, "err", out.err)...)
	} else {
		logger.WarnContext(ctx, "credential sent over plain HTTP", attrs...)
	}

	var recorder EventRecorder = tw.p.cfg.Store
	if tw.p.cfg.Events != nil {
		recorder = tw.p.cfg.Events
	}
	err := recorder.RecordEvent(ctx, &storage.SecurityEvent{
		Kind:           storage.EventTripwireCaught,
		UserID:         out.userID,
		ClientID:       out.clientID,
		RemoteAddr:     remote,
		UserAgent:      r.UserAgent(),
		Method:         r.Method,
		Path:           RedactPath(r.URL.Path),
		CredentialKind: string(kind),
		Detail:         out.detail,
	})
	if err != nil {
		logger.ErrorContext(ctx, "record tripwire event failed", "credential_kind", string(kind), "err", err)
	}
}

// checkToken revokes the grant of an access or refresh token, or
// invalidates a code and revokes what it issued. The HMAC is checked
// before any lookup, so a forged token never reaches the database. An
// expired token whose HMAC verifies still revokes its grant, because a
// client that sends one over plain HTTP has likely sent the others too.
func (tw *tripwire) checkToken(ctx context.Context, c caught) outcome {
	raw := stripTokenPrefix(c.value)
	if tw.p.tokens.Enigma.Validate(ctx, raw) != nil {
		return outcome{detail: "did not verify; nothing changed"}
	}
	signature := tw.p.tokens.Enigma.Signature(raw)

	for _, kind := range tokenLookupOrder(c) {
		out, found := tw.revokeToken(ctx, kind, signature)
		if found {
			out.kind = kind
			return out
		}
	}
	return outcome{detail: "signed by idp but not stored, so expired and deleted; nothing changed"}
}

// tokenLookupOrder returns the kinds to look a token up as. A prefix
// decides the kind. Without one, every kind is tried, the field's kind
// first.
func tokenLookupOrder(c caught) []credentialKind {
	switch {
	case strings.HasPrefix(c.value, PrefixAccessToken):
		return []credentialKind{credAccessToken}
	case strings.HasPrefix(c.value, PrefixRefreshToken):
		return []credentialKind{credRefreshToken}
	case strings.HasPrefix(c.value, PrefixCode):
		return []credentialKind{credCode}
	}
	order := []credentialKind{credAccessToken, credRefreshToken, credCode}
	for i, k := range order {
		if k == c.kind {
			order[0], order[i] = order[i], order[0]
		}
	}
	return order
}

// stripTokenPrefix removes any of idp's token prefixes.
func stripTokenPrefix(token string) string {
	for _, prefix := range []string{PrefixAccessToken, PrefixRefreshToken, PrefixCode} {
		if rest, ok := strings.CutPrefix(token, prefix); ok {
			return rest
		}
	}
	return token
}

// revokeToken looks a signature up as one kind of token and revokes
// what it belongs to. found is false when no such token is stored.
func (tw *tripwire) revokeToken(ctx context.Context, kind credentialKind, signature string) (out outcome, found bool) {
	store := tw.p.cfg.Store
	var (
		req fosite.Requester
		err error
	)
	switch kind {
	case credAccessToken:
		req, err = store.GetAccessTokenSession(ctx, signature, nil)
	case credRefreshToken:
		// A rotated refresh token is found too: its family is revoked.
		req, err = store.GetRefreshTokenSession(ctx, signature, nil)
		if errors.Is(err, fosite.ErrInactiveToken) {
			err = nil
		}
	case credCode:
		// A used code is found too: what it issued is revoked.
		req, err = store.GetAuthorizeCodeSession(ctx, signature, nil)
		if errors.Is(err, fosite.ErrInvalidatedAuthorizeCode) {
			err = nil
		}
	}
	if errors.Is(err, fosite.ErrNotFound) {
		return outcome{}, false
	}
	if err != nil {
		return outcome{err: err, detail: "lookup failed"}, true
	}

	out = outcome{verified: true, clientID: req.GetClient().GetID(), requestID: req.GetID()}
	if sess, ok := req.GetSession().(*Session); ok {
		out.userID = sess.UserID
	}
	err = store.InTx(ctx, func(ctx context.Context) error {
		if kind == credCode {
			err := store.InvalidateAuthorizeCodeSession(ctx, signature)
			if err != nil && !errors.Is(err, storage.ErrAlreadyUsed) {
				return err
			}
		}
		return store.RevokeGrant(ctx, req.GetID())
	})
	if err != nil {
		out.err = err
		out.detail = "revocation failed"
		return out, true
	}
	out.detail = "grant revoked"
	if kind == credCode {
		out.detail = "code invalidated and grant revoked"
	}
	return out, true
}

// checkClientSecret disables a client's secret if secret is it. A
// client that does not exist and a wrong secret change nothing, so
// knowing a client_id is not enough to disable a client.
func (tw *tripwire) checkClientSecret(ctx context.Context, clientID, secret string) outcome {
	if clientID == "" {
		return outcome{detail: "no client_id sent; nothing changed"}
	}
	client, err := tw.p.cfg.Store.Client(ctx, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		return outcome{detail: "no such client; nothing changed"}
	}
	if err != nil {
		return outcome{err: err, detail: "lookup failed"}
	}
	if client.SecretHash == "" ||
		tw.p.cfg.ClientHasher.Compare(ctx, []byte(client.SecretHash), []byte(secret)) != nil {
		return outcome{detail: "did not verify; nothing changed"}
	}

	out := outcome{verified: true, clientID: client.ID}
	if client.SecretDisabled {
		out.detail = "client secret was already disabled"
		return out
	}
	err = tw.p.cfg.Store.DisableClientSecret(ctx, client.ID, client.SecretHash)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		out.detail = "client secret was rotated meanwhile; nothing changed"
	case err != nil:
		out.err = err
		out.detail = "disabling the client secret failed"
	default:
		out.detail = "client secret disabled until an admin rotates it"
	}
	return out
}

// checkPassword revokes a user's password, and ends their sessions and
// grants, if password is theirs. The password is cleared rather than
// marked for change: anyone who saw it on the wire could otherwise use it
// to choose the next password and lock the owner out. An admin gives
// the user a temporary password (idp users set-password --temporary),
// which they replace at the next sign-in.
//
// Guesses here count against the same sign-in throttle as the login
// page, so the tripwire is no faster oracle than the login page.
func (tw *tripwire) checkPassword(ctx context.Context, r *http.Request, username, password string) outcome {
	if username == "" {
		return outcome{detail: "no username sent; nothing changed"}
	}
	users := tw.p.cfg.Pages.Users
	if users == nil {
		return outcome{detail: "not checked: no user directory"}
	}
	throttle := tw.p.cfg.Throttle
	key := accounts.SignInKey(username, tw.transport.ClientIP(r))
	if throttle != nil {
		if wait, _, err := throttle.Wait(ctx, key); err == nil && wait > 0 {
			return outcome{detail: "not checked: sign-in throttled for this account and address"}
		}
	}
	user, err := users.Authenticate(ctx, username, password)
	if errors.Is(err, accounts.ErrInvalidCredentials) {
		if throttle != nil {
			if _, ferr := throttle.Fail(ctx, key); ferr != nil {
				tw.p.cfg.Logger.ErrorContext(ctx, "record failed sign-in failed", "err", ferr)
			}
		}
		return outcome{detail: "did not verify; nothing changed"}
	}
	if err != nil {
		return outcome{err: err, detail: "password check failed"}
	}

	out := outcome{verified: true, userID: user.ID}
	err = tw.p.cfg.Store.RevokePassword(ctx, user.ID, user.PasswordHash)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		out.detail = "password was changed meanwhile; nothing changed"
	case err != nil:
		out.err = err
		out.detail = "revoking the password failed"
	default:
		out.detail = "password revoked, sessions ended and tokens revoked; an admin must set a temporary password"
	}
	return out
}

// checkBasic checks a Basic credential as a client's id and secret when
// the name is a client's id, and as a username and password otherwise.
func (tw *tripwire) checkBasic(ctx context.Context, r *http.Request, c caught) outcome {
	// RFC 6749 section 2.3.1 form-encodes the client id and secret
	// before Basic encoding, but a user's name and password are sent as
	// they are.
	clientID, secret := formDecode(c.name), formDecode(c.value)
	_, err := tw.p.cfg.Store.Client(ctx, clientID)
	switch {
	case err == nil:
		out := tw.checkClientSecret(ctx, clientID, secret)
		out.kind = credClientSecret
		return out
	case !errors.Is(err, storage.ErrNotFound):
		return outcome{err: err, detail: "lookup failed"}
	}
	out := tw.checkPassword(ctx, r, c.name, c.value)
	out.kind = credPassword
	return out
}

func formDecode(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// checkSession ends the login session whose cookie value is token.
func (tw *tripwire) checkSession(ctx context.Context, token string) outcome {
	store := tw.p.cfg.Store
	ls, err := store.LoginSessionByToken(ctx, token, tw.p.cfg.Now())
	if errors.Is(err, storage.ErrNotFound) {
		return outcome{detail: "no such session; nothing changed"}
	}
	if err != nil {
		return outcome{err: err, detail: "lookup failed"}
	}
	out := outcome{verified: true, userID: ls.UserID}
	if err := store.DeleteLoginSession(ctx, ls.ID); err != nil {
		out.err = err
		out.detail = "ending the session failed"
		return out
	}
	out.detail = "login session ended"
	return out
}

// credentialFinder collects the distinct credentials of a request, up
// to maxTripwireCredentials.
type credentialFinder struct {
	found []caught
	seen  map[string]bool
}

func (f *credentialFinder) add(kind credentialKind, value, name string) {
	if value == "" || f.seen[value] || len(f.found) >= maxTripwireCredentials {
		return
	}
	f.seen[value] = true
	f.found = append(f.found, caught{kind: kind, value: value, name: name})
}

// addToken adds a token, classified by its prefix when it has one.
func (f *credentialFinder) addToken(fieldKind credentialKind, value string) {
	switch {
	case strings.HasPrefix(value, PrefixAccessToken):
		fieldKind = credAccessToken
	case strings.HasPrefix(value, PrefixRefreshToken):
		fieldKind = credRefreshToken
	case strings.HasPrefix(value, PrefixCode):
		fieldKind = credCode
	}
	f.add(fieldKind, value, "")
}

// tokenFields are the parameters that carry tokens and the kind each
// names, in the order they are checked.
var tokenFields = []struct {
	name string
	kind credentialKind
}{
	{"access_token", credAccessToken},
	{"refresh_token", credRefreshToken},
	{"code", credCode},
	{"token", credToken},
}

// findCredentials returns the credentials in a request: the
// Authorization header, idp's session cookies, the credential
// parameters of the query and of a form, multipart or JSON body, and
// any prefixed token anywhere in the path, query, headers or body.
func findCredentials(r *http.Request, body []byte) []caught {
	f := &credentialFinder{seen: map[string]bool{}}

	for _, h := range r.Header.Values("Authorization") {
		f.addAuthorization(h)
	}
	for _, c := range r.Cookies() {
		if c.Name == consent.SessionCookie || c.Name == consent.InsecureSessionCookie {
			f.add(credSessionCookie, c.Value, "")
		}
	}

	query, _ := url.ParseQuery(r.URL.RawQuery)
	form := bodyFields(r.Header.Get("Content-Type"), body)
	for _, pair := range [][2]url.Values{{query, form}, {form, query}} {
		f.addFields(pair[0], pair[1])
	}

	for _, text := range scanTargets(r, body) {
		for _, token := range prefixedToken.FindAllString(text, maxTripwireCredentials) {
			f.addToken(credToken, token)
		}
	}
	return f.found
}

// addAuthorization adds the credential of one Authorization header.
func (f *credentialFinder) addAuthorization(header string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(header), " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "bearer":
		f.addToken(credAccessToken, rest)
		return
	case "basic":
		decoded, err := base64.StdEncoding.DecodeString(rest)
		if name, secret, ok := strings.Cut(string(decoded), ":"); err == nil && ok {
			f.add(credBasic, secret, name)
			return
		}
	}
	f.add(credAuthorization, header, "")
}

// addFields adds the credential parameters of one source. A client_id
// or username missing there is taken from other, the request's other
// source.
func (f *credentialFinder) addFields(fields, other url.Values) {
	for _, field := range tokenFields {
		for _, v := range fields[field.name] {
			f.addToken(field.kind, v)
		}
	}
	clientID := firstNonEmpty(fields.Get("client_id"), other.Get("client_id"))
	for _, v := range fields["client_secret"] {
		f.add(credClientSecret, v, clientID)
	}
	username := firstNonEmpty(fields.Get("username"), other.Get("username"))
	for _, v := range fields["password"] {
		f.add(credPassword, v, username)
	}
	for _, v := range fields["client_assertion"] {
		f.add(credClientAssertion, v, "")
	}
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// bodyFields parses a form, multipart or JSON body into parameters. A
// JSON body contributes its top-level string members. Anything else,
// and a body that does not parse, gives no parameters. The scan for
// prefixed tokens still covers it.
func bodyFields(contentType string, body []byte) url.Values {
	if len(body) == 0 {
		return url.Values{}
	}
	mediaType, params, _ := mime.ParseMediaType(contentType)
	switch mediaType {
	case "application/x-www-form-urlencoded":
		v, _ := url.ParseQuery(string(body))
		return v
	case "multipart/form-data":
		form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(maxTripwireBody)
		if err != nil {
			return url.Values{}
		}
		defer form.RemoveAll()
		return url.Values(form.Value)
	case "application/json":
		var members map[string]any
		if json.Unmarshal(body, &members) != nil {
			return url.Values{}
		}
		v := url.Values{}
		for name, value := range members {
			if s, ok := value.(string); ok {
				v.Add(name, s)
			}
		}
		return v
	}
	return url.Values{}
}

// scanTargets returns the parts of a request searched for prefixed
// tokens.
func scanTargets(r *http.Request, body []byte) []string {
	targets := []string{r.URL.Path, r.URL.RawQuery, string(body)}
	if q, err := url.QueryUnescape(r.URL.RawQuery); err == nil {
		targets = append(targets, q)
	}
	for _, values := range r.Header {
		targets = append(targets, values...)
	}
	return targets
}

// rateLimit is a token bucket's refill rate and size.
type rateLimit struct {
	perSecond float64
	burst     float64
}

// bucket is a token bucket's state.
type bucket struct {
	tokens float64
	last   time.Time
}

// refill adds the tokens earned since the last call.
func (b *bucket) refill(l rateLimit, now time.Time) {
	if b.last.IsZero() {
		b.tokens, b.last = l.burst, now
		return
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.perSecond)
		b.last = now
	}
}

// wait returns how long until the bucket holds a whole token.
func (b *bucket) wait(l rateLimit) time.Duration {
	return time.Duration((1 - b.tokens) / l.perSecond * float64(time.Second))
}

// clientBucket is the bucket of one client network.
type clientBucket struct {
	network netip.Prefix
	bucket
}

// rateLimiter is a token bucket per client network plus one for all
// clients. It tracks at most maxClients networks and evicts the least
// recently seen first. An evicted network starts again with a full
// bucket, which the global bucket still bounds.
type rateLimiter struct {
	perClient  rateLimit
	global     rateLimit
	maxClients int

	mu      sync.Mutex
	all     bucket
	clients map[netip.Prefix]*list.Element
	// recent orders the *clientBucket values, most recently seen first.
	recent *list.List
}

func newRateLimiter(perClient, global rateLimit, maxClients int) *rateLimiter {
	return &rateLimiter{
		perClient:  perClient,
		global:     global,
		maxClients: maxClients,
		clients:    map[netip.Prefix]*list.Element{},
		recent:     list.New(),
	}
}

// allow takes a token from the client's bucket and from the global one
// and reports whether both had one. When either is empty, it takes none
// and returns how long to wait.
func (l *rateLimiter) allow(addr netip.Addr, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()

	client := l.clientBucket(clientNetwork(addr))
	client.refill(l.perClient, now)
	l.all.refill(l.global, now)
	if client.tokens < 1 {
		return client.wait(l.perClient), false
	}
	if l.all.tokens < 1 {
		return l.all.wait(l.global), false
	}
	client.tokens--
	l.all.tokens--
	return 0, true
}

// clientBucket returns the bucket of a network. It creates a missing
// one and evicts the least recently seen network when the map is full.
func (l *rateLimiter) clientBucket(network netip.Prefix) *clientBucket {
	if e, ok := l.clients[network]; ok {
		l.recent.MoveToFront(e)
		return e.Value.(*clientBucket)
	}
	for l.recent.Len() >= l.maxClients {
		oldest := l.recent.Back()
		l.recent.Remove(oldest)
		delete(l.clients, oldest.Value.(*clientBucket).network)
	}
	b := &clientBucket{network: network}
	l.clients[network] = l.recent.PushFront(b)
	return b
}

// clientNetwork is the unit of the per-client limit: one IPv4 address,
// or one IPv6 /64, which is what a single site is usually given.
func clientNetwork(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	network, err := addr.Prefix(bits)
	if err != nil {
		// An invalid address: all such requests share one bucket.
		return netip.Prefix{}
	}
	return network
}

// isClientID reports whether a Basic user name names a client.
func (tw *tripwire) isClientID(ctx context.Context, name string) bool {
	_, err := tw.p.cfg.Store.Client(ctx, formDecode(name))
	return err == nil
}
