package clients

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/idp/idp/storage"
)

// MinAdminTokenLength is the shortest admin API token accepted, in bytes.
const MinAdminTokenLength = 32

// maxAdminBodyBytes limits the size of a request body to the admin API.
const maxAdminBodyBytes = 64 << 10

// Error codes of the admin API besides those of RFC 7591.
const (
	errorInvalidRequest = "invalid_request"
	errorInvalidToken   = "invalid_token"
	errorNotFound       = "not_found"
	errorServerError    = "server_error"
)

// AdminConfig configures NewAdminHandler.
type AdminConfig struct {
	// Registry performs the operations. Required.
	Registry *Registry
	// Tokens are the bearer tokens that grant access, each at least
	// MinAdminTokenLength bytes. Every token is accepted, so a new one
	// can be added before the old one is removed.
	Tokens [][]byte
	// Logger receives one line per change and per rejected or failed
	// request. When nil, the lines are discarded.
	Logger *slog.Logger
	// Events is the store that GET /admin/events reads. When nil, that
	// route does not exist.
	Events EventStore
}

// NewAdminHandler returns the admin API for clients:
//
//	POST   /admin/clients              register a client (201, with its secret)
//	GET    /admin/clients              list clients
//	GET    /admin/clients/{id}         get one client
//	PUT    /admin/clients/{id}         replace a client's metadata
//	DELETE /admin/clients/{id}         delete a client and its tokens (204)
//	POST   /admin/clients/{id}/secret  rotate the secret (with the new secret)
//	GET    /admin/events               list security events, newest first
//
// The changes are recorded as security events when cfg.Registry.Events is
// set, with the caller's address, user agent, method and path. The events
// route exists only when cfg.Events is set; see listEvents for its query
// parameters.
//
// Every request needs "Authorization: Bearer <token>" with one of
// cfg.Tokens. Bodies are RFC 7591 client metadata in JSON, and errors have
// the RFC 7591 shape {"error": ..., "error_description": ...}. It returns
// an error when cfg has no registry, no token or a token that is too
// short.
func NewAdminHandler(cfg AdminConfig) (http.Handler, error) {
	if cfg.Registry == nil {
		return nil, errors.New("admin API: AdminConfig.Registry is required")
	}
	if len(cfg.Tokens) == 0 {
		return nil, errors.New("admin API: no token configured; set at least one token of 32 or more random bytes")
	}
	a := &adminAPI{registry: cfg.Registry, events: cfg.Events, logger: cfg.Logger}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	for i, token := range cfg.Tokens {
		if len(token) < MinAdminTokenLength {
			return nil, fmt.Errorf("admin API: token %d is %d bytes; use at least %d random bytes", i, len(token), MinAdminTokenLength)
		}
		a.tokenDigests = append(a.tokenDigests, sha256.Sum256(token))
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/clients", a.create)
	mux.HandleFunc("GET /admin/clients", a.list)
	mux.HandleFunc("GET /admin/clients/{id}", a.get)
	mux.HandleFunc("PUT /admin/clients/{id}", a.update)
	mux.HandleFunc("DELETE /admin/clients/{id}", a.delete)
	mux.HandleFunc("POST /admin/clients/{id}/secret", a.rotateSecret)
	if a.events != nil {
		mux.HandleFunc("GET /admin/events", a.listEvents)
	}
	return a.withHeaders(a.authenticate(mux)), nil
}

type adminAPI struct {
	registry *Registry
	events   EventStore
	logger   *slog.Logger
	// tokenDigests are SHA-256 digests of the configured tokens. Comparing
	// digests keeps the comparison time independent of the token length.
	tokenDigests [][sha256.Size]byte
}

// withHeaders sets the headers every response carries, including the
// ServeMux's own 404 and 405 responses.
func (a *adminAPI) withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// authenticate rejects a request without a valid bearer token (RFC 6750
// section 3) before routing, so unauthenticated callers learn nothing
// about the routes.
func (a *adminAPI) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			a.logger.InfoContext(r.Context(), "admin API request without a bearer token rejected")
			w.Header().Set("WWW-Authenticate", `Bearer realm="idp-admin"`)
			a.writeError(w, http.StatusUnauthorized, errorInvalidToken, "missing bearer token; send Authorization: Bearer <admin token>")
			return
		}
		if !a.validToken(token) {
			a.logger.InfoContext(r.Context(), "admin API request with an invalid token rejected")
			w.Header().Set("WWW-Authenticate", `Bearer realm="idp-admin", error="invalid_token"`)
			a.writeError(w, http.StatusUnauthorized, errorInvalidToken, "invalid bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header.
// The scheme name is case-insensitive (RFC 9110 section 11.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// validToken compares the token with every configured token, without
// stopping at a match, so the time taken does not reveal which one
// matched.
func (a *adminAPI) validToken(token string) bool {
	digest := sha256.Sum256([]byte(token))
	match := 0
	for i := range a.tokenDigests {
		match |= subtle.ConstantTimeCompare(digest[:], a.tokenDigests[i][:])
	}
	return match == 1
}

func (a *adminAPI) create(w http.ResponseWriter, r *http.Request) {
	var m Metadata
	if !a.decodeBody(w, r, &m) {
		return
	}

	created, err := a.registryFor(r).Create(r.Context(), m)
	if err != nil {
		a.writeRegistryError(w, r, "", err)
		return
	}

	a.logger.InfoContext(r.Context(), "client created", "client_id", created.ClientID)
	w.Header().Set("Location", "/admin/clients/"+created.ClientID)
	a.writeJSON(w, http.StatusCreated, created)
}

func (a *adminAPI) list(w http.ResponseWriter, r *http.Request) {
	list, err := a.registry.List(r.Context())
	if err != nil {
		a.writeRegistryError(w, r, "", err)
		return
	}
	a.writeJSON(w, http.StatusOK, list)
}

func (a *adminAPI) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m, err := a.registry.Get(r.Context(), id)
	if err != nil {
		a.writeRegistryError(w, r, id, err)
		return
	}
	a.writeJSON(w, http.StatusOK, m)
}

func (a *adminAPI) update(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var m Metadata
	if !a.decodeBody(w, r, &m) {
		return
	}

	updated, err := a.registryFor(r).Update(r.Context(), id, m)
	if err != nil {
		a.writeRegistryError(w, r, id, err)
		return
	}

	a.logger.InfoContext(r.Context(), "client updated", "client_id", id)
	a.writeJSON(w, http.StatusOK, updated)
}

func (a *adminAPI) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.registryFor(r).Delete(r.Context(), id); err != nil {
		a.writeRegistryError(w, r, id, err)
		return
	}
	a.logger.InfoContext(r.Context(), "client deleted", "client_id", id)
	w.WriteHeader(http.StatusNoContent)
}

func (a *adminAPI) rotateSecret(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m, err := a.registryFor(r).RotateSecret(r.Context(), id)
	if err != nil {
		a.writeRegistryError(w, r, id, err)
		return
	}
	a.logger.InfoContext(r.Context(), "client secret rotated", "client_id", id)
	a.writeJSON(w, http.StatusOK, m)
}

// registryFor returns the registry for a request that changes a client,
// so that its events carry the request's address, user agent, method and
// path.
func (a *adminAPI) registryFor(r *http.Request) *Registry {
	return a.registry.withRequest(adminAPISource, r)
}

// decodeBody reads one JSON object of at most maxAdminBodyBytes into v,
// rejecting unknown fields and trailing data. On failure it writes the
// error response and returns false.
func (a *adminAPI) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		a.logger.InfoContext(r.Context(), "admin API request body rejected", "err", "Content-Type is not application/json")
		a.writeError(w, http.StatusUnsupportedMediaType, errorInvalidRequest, "Content-Type must be application/json")
		return false
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBodyBytes))
	if err == nil {
		err = checkFieldNames(body, v)
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
		if err == nil && dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	if err == nil {
		return true
	}

	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		a.logger.InfoContext(r.Context(), "admin API request body rejected", "err", err)
		a.writeError(w, http.StatusRequestEntityTooLarge, errorInvalidRequest,
			fmt.Sprintf("request body is larger than %d bytes", maxAdminBodyBytes))
		return false
	}
	a.logger.InfoContext(r.Context(), "admin API request body rejected", "err", err)
	a.writeError(w, http.StatusBadRequest, ErrorInvalidClientMetadata, describeJSONError(err))
	return false
}

// fieldNameError is a field name that encoding/json would accept but
// that makes a request ambiguous.
type fieldNameError struct{ message string }

func (e *fieldNameError) Error() string { return e.message }

// checkFieldNames rejects a JSON object that names a field twice, or
// names one in another letter case than its JSON name. encoding/json
// keeps the last of two duplicates and matches names ignoring case, so
// {"redirect_uris":[A],"REDIRECT_URIS":[B]} would store B while a
// reviewer or proxy reading the first key reads A. v is the struct
// pointer the body decodes into. Syntax errors are left to the decoder.
func checkFieldNames(body []byte, v any) error {
	names := jsonFieldNames(reflect.TypeOf(v))
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		if seen[key] {
			return &fieldNameError{fmt.Sprintf("field %q appears more than once; send each field once", key)}
		}
		seen[key] = true
		if exact, ok := names[strings.ToLower(key)]; ok && exact != key {
			return &fieldNameError{fmt.Sprintf("field %q must be written %q; field names are case-sensitive", key, exact)}
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil
		}
	}
	return nil
}

// jsonFieldNames maps the lower-case JSON name of each field of the
// struct t (or *t) to its exact name.
func jsonFieldNames(t reflect.Type) map[string]string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	names := map[string]string{}
	if t.Kind() != reflect.Struct {
		return names
	}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names[strings.ToLower(name)] = name
		}
	}
	return names
}

// describeJSONError turns an encoding/json error into a message that
// names the field and never repeats a submitted value.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var nameErr *fieldNameError
	switch {
	case errors.As(err, &nameErr):
		return nameErr.message
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return fmt.Sprintf("%s: must be a JSON %s, not %s", typeErr.Field, jsonTypeName(typeErr.Type), typeErr.Value)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("request body must be a JSON object of client metadata, not %s", typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("request body is not valid JSON: error at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.EOF):
		return "request body is empty; send a JSON object of client metadata"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "request body is not valid JSON: it ends early"
	}
	// encoding/json reports an unknown field only as text: json: unknown
	// field "name".
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Sprintf("unknown field %s; remove it (fields are client metadata names from RFC 7591, such as redirect_uris)", field)
	}
	return "request body is not valid: " + err.Error()
}

// jsonTypeName returns the JSON name of the type a Metadata field
// expects.
func jsonTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "array of " + jsonTypeName(t.Elem()) + "s"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "value of type " + t.String()
}

// writeRegistryError maps a Registry error to a response: a *FieldError
// to 400 with its RFC 7591 code, storage.ErrNotFound to 404,
// ErrPublicClient to 400, and anything else to 500 with a fixed message
// while the detail goes to the log.
func (a *adminAPI) writeRegistryError(w http.ResponseWriter, r *http.Request, id string, err error) {
	ctx := r.Context()
	var fieldErr *FieldError
	switch {
	case errors.As(err, &fieldErr):
		a.logger.InfoContext(ctx, "client metadata rejected", "client_id", id, "err", err)
		a.writeError(w, http.StatusBadRequest, fieldErr.Code, fieldErr.Error())
	case errors.Is(err, storage.ErrNotFound):
		a.logger.InfoContext(ctx, "client not found", "client_id", id)
		a.writeError(w, http.StatusNotFound, errorNotFound, fmt.Sprintf("client %q not found", id))
	case errors.Is(err, ErrPublicClient):
		a.logger.InfoContext(ctx, "secret rotation of a public client rejected", "client_id", id)
		a.writeError(w, http.StatusBadRequest, errorInvalidRequest,
			"client is public (token_endpoint_auth_method none) and has no secret; make it confidential with PUT instead")
	default:
		a.logger.ErrorContext(ctx, "admin API request failed", "client_id", id, "err", err)
		a.writeError(w, http.StatusInternalServerError, errorServerError, "internal error; see the server log")
	}
}

// errorBody is the error shape of RFC 7591 section 3.2.2.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

func (a *adminAPI) writeError(w http.ResponseWriter, status int, code, description string) {
	a.writeJSON(w, status, errorBody{Error: code, ErrorDescription: description})
}

func (a *adminAPI) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error makes these types fail to encode.
		panic(fmt.Sprintf("encode admin API response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
