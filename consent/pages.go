package consent

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/scopes"
	"github.com/idp/idp/storage"
)

// Authenticator checks a username and password. It returns
// accounts.ErrInvalidCredentials for every failed sign-in, whatever the
// reason, so the page reveals nothing more.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (*storage.User, error)
	// Reject does the work of a failed Authenticate and returns
	// accounts.ErrInvalidCredentials.
	Reject(ctx context.Context, password string) error
	// SetPassword stores a new password, clears PasswordChangeRequired
	// and ends the user's other sessions and grants.
	SetPassword(ctx context.Context, id, password string) error
}

// EventRecorder stores security events.
type EventRecorder interface {
	RecordEvent(ctx context.Context, e *storage.SecurityEvent) error
}

// PageStore is the part of the database the pages read and write.
type PageStore interface {
	AuthFlow(ctx context.Context, id, sessionID string, now time.Time) (*storage.AuthFlow, error)
	UpdateAuthFlow(ctx context.Context, f *storage.AuthFlow) error
	Client(ctx context.Context, id string) (*storage.Client, error)
	User(ctx context.Context, id string) (*storage.User, error)
	UserByUsername(ctx context.Context, username string) (*storage.User, error)
	Consent(ctx context.Context, userID, clientID string) (*storage.Consent, error)
	SaveConsent(ctx context.Context, c *storage.Consent) error
}

// Paths of the pages and of the endpoint they return to.
const (
	LoginPath     = "/login"
	ConsentPath   = "/consent"
	LogoutPath    = "/logout"
	AuthorizePath = "/oauth2/authorize"
)

// maxFormBytes bounds the body of a page's form post.
const maxFormBytes = 16 << 10

// Pages serves the login, consent and logout pages. Login and consent
// pages work on an authorization flow that the authorization endpoint
// stored. They record the outcome in the flow and send the browser back
// to the authorization endpoint, which decides the next step.
type Pages struct {
	Sessions *Sessions
	Store    PageStore
	Users    Authenticator
	Catalog  *scopes.Catalog
	Views    *Views
	Logger   *slog.Logger
	// Throttle slows down repeated failed sign-ins per account and
	// client address.
	Throttle *accounts.Throttle
	// ClientIP returns the address of the client behind a request.
	ClientIP func(r *http.Request) netip.Addr
	Events   EventRecorder
	// DevMode shows the development banner on every page.
	DevMode bool
	Now     func() time.Time
}

// Register adds the pages to mux.
func (p *Pages) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+LoginPath, p.showLoginStep)
	mux.HandleFunc("POST "+LoginPath, p.submitLoginStep)
	mux.HandleFunc("GET "+ConsentPath, p.showConsent)
	mux.HandleFunc("POST "+ConsentPath, p.submitConsent)
	mux.HandleFunc("GET "+LogoutPath, p.showLogout)
	mux.HandleFunc("POST "+LogoutPath, p.submitLogout)
}

// flowContext is the flow, session and client a page request refers to.
type flowContext struct {
	session *Current
	flowID  string
	flow    *storage.AuthFlow
	client  *storage.Client
	form    url.Values
}

// Messages shown to people; details go to the log only.
const (
	msgAlreadyAnswered = "You already answered this request. Go back to the application and sign in again to change your answer."
	msgFlowExpired     = "This sign-in request has expired or was started in another browser. Go back to the application and sign in again."
	msgBadForm         = "The form could not be accepted. Reload the page and try again."
	msgServer          = "Something went wrong on our side. Try again in a moment."
	msgBadLogin        = "Incorrect username or password."
)

// loadFlow finds the flow named by the flow query parameter. It must
// belong to the browser session that sent the request.
func (p *Pages) loadFlow(w http.ResponseWriter, r *http.Request) (*flowContext, bool) {
	ctx := r.Context()
	cur, err := p.Sessions.Load(r)
	if err != nil {
		p.serverError(w, r, "load login session", err)
		return nil, false
	}
	flowID := r.URL.Query().Get("flow")
	if cur == nil || flowID == "" {
		p.showError(w, http.StatusBadRequest, "Sign-in expired", msgFlowExpired)
		return nil, false
	}
	flow, err := p.Store.AuthFlow(ctx, flowID, cur.ID, p.Now())
	if errors.Is(err, storage.ErrNotFound) {
		p.showError(w, http.StatusBadRequest, "Sign-in expired", msgFlowExpired)
		return nil, false
	}
	if err != nil {
		p.serverError(w, r, "load authorization flow", err)
		return nil, false
	}
	client, err := p.Store.Client(ctx, flow.ClientID)
	if err != nil {
		// The client was deleted while the flow was open.
		p.showError(w, http.StatusBadRequest, "Sign-in expired", msgFlowExpired)
		return nil, false
	}
	form, err := url.ParseQuery(flow.Form)
	if err != nil {
		p.serverError(w, r, "decode authorization flow", err)
		return nil, false
	}
	setPageCSP(w, form.Get("redirect_uri"))
	return &flowContext{session: cur, flowID: flowID, flow: flow, client: client, form: form}, true
}

func (p *Pages) showLogin(w http.ResponseWriter, r *http.Request) {
	fc, ok := p.loadFlow(w, r)
	if !ok {
		return
	}
	p.renderLogin(w, fc, http.StatusOK, fc.form.Get("login_hint"), "")
}

func (p *Pages) renderLogin(w http.ResponseWriter, fc *flowContext, status int, username, message string) {
	p.Views.Login(w, status, LoginPage{
		PageCommon: p.common(fc.session),
		Action:     LoginPath + "?flow=" + url.QueryEscape(fc.flowID),
		ClientName: fc.client.Name,
		ClientURI:  fc.client.URI,
		Username:   username,
		Error:      message,
	})
}

func (p *Pages) submitLogin(w http.ResponseWriter, r *http.Request) {
	fc, ok := p.loadFlow(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || RepeatedParameter(r.PostForm) != "" || !p.Sessions.CheckCSRF(fc.session, r.PostForm.Get("csrf_token")) {
		p.showError(w, http.StatusForbidden, "Form rejected", msgBadForm)
		return
	}
	ctx := r.Context()
	username := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")

	user, err := p.authenticate(r, fc, username, password)
	if errors.Is(err, accounts.ErrInvalidCredentials) {
		p.renderLogin(w, fc, http.StatusUnauthorized, username, msgBadLogin)
		return
	}
	if err != nil {
		p.serverError(w, r, "authenticate user", err)
		return
	}
	if user.PasswordChangeRequired {
		p.startPasswordChange(w, r, fc, user)
		return
	}

	if err := p.Sessions.SignIn(ctx, w, fc.session, user.ID); err != nil {
		p.serverError(w, r, "sign in", err)
		return
	}
	fc.flow.LoggedInAt = fc.session.AuthTime
	if err := p.Store.UpdateAuthFlow(ctx, fc.flow); err != nil {
		p.flowUpdateFailed(w, r, err)
		return
	}
	p.Logger.InfoContext(ctx, "sign-in succeeded", "user_id", user.ID, "client_id", fc.client.ID)
	http.Redirect(w, r, AuthorizePath+"?flow="+url.QueryEscape(fc.flowID), http.StatusSeeOther)
}

func (p *Pages) showConsent(w http.ResponseWriter, r *http.Request) {
	fc, ok := p.loadFlow(w, r)
	if !ok {
		return
	}
	if !fc.session.SignedIn() {
		http.Redirect(w, r, LoginPath+"?flow="+url.QueryEscape(fc.flowID), http.StatusSeeOther)
		return
	}
	user, err := p.Store.User(r.Context(), fc.session.UserID)
	if err != nil {
		p.serverError(w, r, "load user", err)
		return
	}

	requested := strings.Fields(fc.form.Get("scope"))
	var views []ScopeView
	for _, s := range p.Catalog.Describe(requested) {
		views = append(views, ScopeView{Name: s.Name, Description: s.Description})
	}
	p.Views.Consent(w, http.StatusOK, ConsentPage{
		PageCommon:    p.common(fc.session),
		Action:        ConsentPath + "?flow=" + url.QueryEscape(fc.flowID),
		ClientName:    fc.client.Name,
		ClientURI:     fc.client.URI,
		Username:      user.Username,
		Scopes:        views,
		OfflineAccess: slices.Contains(requested, scopes.OfflineAccess),
	})
}

func (p *Pages) submitConsent(w http.ResponseWriter, r *http.Request) {
	fc, ok := p.loadFlow(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || RepeatedParameter(r.PostForm) != "" || !p.Sessions.CheckCSRF(fc.session, r.PostForm.Get("csrf_token")) {
		p.showError(w, http.StatusForbidden, "Form rejected", msgBadForm)
		return
	}
	if !fc.session.SignedIn() {
		http.Redirect(w, r, LoginPath+"?flow="+url.QueryEscape(fc.flowID), http.StatusSeeOther)
		return
	}
	ctx := r.Context()
	requested := strings.Fields(fc.form.Get("scope"))
	// A decision is final: a denial must not become an approval, or
	// store a remembered consent, by posting the form again.
	if fc.flow.ConsentGiven {
		p.showError(w, http.StatusBadRequest, "Already answered", msgAlreadyAnswered)
		return
	}

	switch r.PostForm.Get("decision") {
	case "approve":
		fc.flow.ConsentGiven = true
		fc.flow.ConsentedScopes = storage.StringList(requested)
		if r.PostForm.Get("remember") == "on" {
			if err := p.remember(ctx, fc.session.UserID, fc.client.ID, requested); err != nil {
				p.serverError(w, r, "save consent", err)
				return
			}
		}
		p.Logger.InfoContext(ctx, "consent granted", "user_id", fc.session.UserID, "client_id", fc.client.ID)
		p.record(r, storage.EventConsentGranted, fc.session.UserID, fc.client.ID, strings.Join(requested, " "))
	case "deny":
		fc.flow.ConsentGiven = true
		fc.flow.ConsentDenied = true
		p.Logger.InfoContext(ctx, "consent denied", "user_id", fc.session.UserID, "client_id", fc.client.ID)
		p.record(r, storage.EventConsentDenied, fc.session.UserID, fc.client.ID, strings.Join(requested, " "))
	default:
		p.showError(w, http.StatusBadRequest, "Form rejected", msgBadForm)
		return
	}
	if err := p.Store.UpdateAuthFlow(ctx, fc.flow); err != nil {
		p.flowUpdateFailed(w, r, err)
		return
	}
	http.Redirect(w, r, AuthorizePath+"?flow="+url.QueryEscape(fc.flowID), http.StatusSeeOther)
}

// remember adds approved scopes to the user's remembered consent for
// the client. offline_access is never remembered, because each refresh
// token needs its own approval.
func (p *Pages) remember(ctx context.Context, userID, clientID string, approved []string) error {
	scopesSet := []string{}
	prev, err := p.Store.Consent(ctx, userID, clientID)
	switch {
	case err == nil:
		scopesSet = append(scopesSet, prev.Scopes...)
	case !errors.Is(err, storage.ErrNotFound):
		return err
	}
	for _, s := range approved {
		if s == scopes.OfflineAccess || slices.Contains(scopesSet, s) {
			continue
		}
		scopesSet = append(scopesSet, s)
	}
	return p.Store.SaveConsent(ctx, &storage.Consent{UserID: userID, ClientID: clientID, Scopes: scopesSet})
}

func (p *Pages) showLogout(w http.ResponseWriter, r *http.Request) {
	cur, err := p.Sessions.Load(r)
	if err != nil {
		p.serverError(w, r, "load login session", err)
		return
	}
	setPageCSP(w, "")
	page := LogoutPage{PageCommon: p.common(cur), Action: LogoutPath}
	if !cur.SignedIn() {
		page.Done = true
	} else if user, err := p.Store.User(r.Context(), cur.UserID); err == nil {
		page.Username = user.Username
	}
	p.Views.Logout(w, http.StatusOK, page)
}

func (p *Pages) submitLogout(w http.ResponseWriter, r *http.Request) {
	cur, err := p.Sessions.Load(r)
	if err != nil {
		p.serverError(w, r, "load login session", err)
		return
	}
	setPageCSP(w, "")
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || RepeatedParameter(r.PostForm) != "" || (cur != nil && !p.Sessions.CheckCSRF(cur, r.PostForm.Get("csrf_token"))) {
		p.showError(w, http.StatusForbidden, "Form rejected", msgBadForm)
		return
	}
	if err := p.Sessions.End(r.Context(), w, cur); err != nil {
		p.serverError(w, r, "end login session", err)
		return
	}
	if cur.SignedIn() {
		p.Logger.InfoContext(r.Context(), "signed out", "user_id", cur.UserID)
	}
	p.Views.Logout(w, http.StatusOK, LogoutPage{PageCommon: PageCommon{DevMode: p.DevMode}, Done: true})
}

func (p *Pages) common(cur *Current) PageCommon {
	c := PageCommon{DevMode: p.DevMode}
	if cur != nil {
		c.CSRFToken = p.Sessions.CSRFToken(cur)
	}
	return c
}

func (p *Pages) showError(w http.ResponseWriter, status int, title, message string) {
	setPageCSP(w, "")
	p.Views.Error(w, status, ErrorPage{PageCommon: PageCommon{DevMode: p.DevMode}, Title: title, Message: message})
}

// flowUpdateFailed reports a failed UpdateAuthFlow. A flow that is
// gone, because another tab finished it or it expired, is the user's
// expired sign-in, not a server fault.
func (p *Pages) flowUpdateFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, storage.ErrNotFound) {
		p.showError(w, http.StatusBadRequest, "Sign-in expired", msgFlowExpired)
		return
	}
	p.serverError(w, r, "update authorization flow", err)
}

func (p *Pages) serverError(w http.ResponseWriter, r *http.Request, action string, err error) {
	p.Logger.ErrorContext(r.Context(), action+" failed", "err", err)
	p.showError(w, http.StatusInternalServerError, "Server error", msgServer)
}

// ShowError renders the error page; the authorization endpoint uses it
// for errors it must not redirect.
func (p *Pages) ShowError(w http.ResponseWriter, status int, title, message string) {
	p.showError(w, status, title, message)
}

// setPageCSP sets the Content-Security-Policy of a page. A form on the
// page may lead, through idp's own redirects, to the app's redirect
// URI, and Chromium applies form-action to every hop of a redirect
// chain, so that URI's origin is allowed too.
func setPageCSP(w http.ResponseWriter, redirectURI string) {
	formAction := "'self'"
	if src := cspSource(redirectURI); src != "" {
		formAction += " " + src
	}
	w.Header().Set("Content-Security-Policy",
		"default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+
			"; frame-ancestors 'none'; base-uri 'none'")
}

// cspSource turns a registered redirect URI into a CSP source: its
// origin for http and https, its scheme for a native app's private-use
// scheme. It returns "" for anything that would need quoting.
func cspSource(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return ""
	}
	for _, r := range u.Scheme + u.Host {
		if r == ';' || r == ',' || r == ' ' || r == '\'' || r < 0x21 || r > 0x7e {
			return ""
		}
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + ":"
}

// RepeatedParameter returns the name of the first parameter, in sorted
// order, that values contains more than once, or "". RFC 6749 sections
// 3.1 and 3.2 forbid repeating a parameter, and idp's own forms send
// each field once. A repeated one is ambiguous, because idp and fosite
// read the first value while a proxy or a log may read another.
func RepeatedParameter(values url.Values) string {
	var repeated []string
	for name, v := range values {
		if len(v) > 1 {
			repeated = append(repeated, name)
		}
	}
	if len(repeated) == 0 {
		return ""
	}
	return slices.Min(repeated)
}
