package consent

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"github.com/idp/idp/templates"
)

// Names of the page templates in templates.FS, without the .html suffix.
const (
	viewsLoginPage     = "login"
	viewsConsentPage   = "consent"
	viewsLogoutPage    = "logout"
	viewsErrorPage     = "error"
	viewsDevResultPage = "devresult"
	viewsPasswordPage  = "password"
)

// Views renders the pages people see. Each page is parsed together with the
// shared layout into a template set of its own. A Views is safe for
// concurrent use.
type Views struct {
	pages map[string]*template.Template
}

// NewViews parses the layout and every page from templates.FS. It fails when
// a template is missing or does not parse.
func NewViews() (*Views, error) {
	names := []string{
		viewsLoginPage,
		viewsConsentPage,
		viewsLogoutPage,
		viewsErrorPage,
		viewsDevResultPage,
		viewsPasswordPage,
	}
	funcs := template.FuncMap{"clientLink": viewsClientLink}

	v := &Views{pages: make(map[string]*template.Template, len(names))}
	for _, name := range names {
		// The page is parsed after the layout so that its "title" and
		// "content" definitions replace the layout's empty blocks.
		t, err := template.New(name).
			Funcs(funcs).
			ParseFS(templates.FS, "layout.html", name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page template %q: %w", name, err)
		}
		v.pages[name] = t
	}
	return v, nil
}

// PageCommon contains the fields that every page uses.
type PageCommon struct {
	// DevMode reports whether the server runs with --dev. Every page then
	// shows a banner, and a client's http:// URI is shown as a link.
	DevMode bool
	// CSRFToken is the value of the hidden csrf_token field of each form.
	CSRFToken string
}

// LoginPage is the sign-in form. It posts csrf_token, username and password
// to Action.
type LoginPage struct {
	PageCommon
	// Action is the URL the form posts to, including its ?flow= query.
	Action string
	// ClientName is the name of the app the person signs in to, if any.
	ClientName string
	// ClientURI is the app's home page. It is shown as a link only when it
	// is an https URL, or an http URL in development mode.
	ClientURI string
	// Username prefills the username field, for example from login_hint.
	Username string
	// Error is shown above the form, for example after a wrong password.
	Error string
}

// PasswordPage is the form on which a person who must change their
// password chooses a new one before their sign-in completes. It posts
// csrf_token, new_password and confirm_password to Action.
type PasswordPage struct {
	PageCommon
	// Action is the URL the form posts to, including its ?flow= query.
	Action string
	// ClientName is the name of the app the person signs in to, if any.
	ClientName string
	// ClientURI is the app's home page, shown under the same rule as
	// LoginPage.ClientURI.
	ClientURI string
	// Username is the account whose password is changed. A hidden field
	// carries it for password managers.
	Username string
	// MinLength is the minimum password length in characters.
	MinLength int
	// Error is shown above the form, for example when the two entries
	// differ.
	Error string
}

// ScopeView is one requested scope as the consent page lists it.
type ScopeView struct {
	Name        string
	Description string
}

// ConsentPage is the page on which the signed-in person approves or denies
// an app's request. The form posts csrf_token, decision ("approve" or "deny") and remember
// ("on" when the checkbox is ticked, absent otherwise).
type ConsentPage struct {
	PageCommon
	// Action is the URL the form posts to.
	Action string
	// ClientName is the name of the app that requests access.
	ClientName string
	// ClientURI is the app's home page, shown under the same rule as
	// LoginPage.ClientURI.
	ClientURI string
	// Username is the person who is signed in.
	Username string
	// Scopes are the scopes the app requests, in display order.
	Scopes []ScopeView
	// OfflineAccess reports whether offline_access is requested. The page
	// then states that the app keeps access while the person is away.
	OfflineAccess bool
}

// LogoutPage is the page on which the signed-in person confirms signing
// out, and which then confirms that they are signed out. The form posts
// csrf_token to Action.
type LogoutPage struct {
	PageCommon
	// Action is the URL the form posts to.
	Action string
	// Username is the person who is signed in.
	Username string
	// Done reports whether the person has been signed out. The page then
	// shows a confirmation and no form.
	Done bool
}

// ErrorPage is shown when a request from a browser fails and no redirect to
// the client is allowed.
type ErrorPage struct {
	PageCommon
	// Status is the HTTP status code shown on the page. Error fills it in
	// from its status argument when it is zero.
	Status int
	// Title is the page heading. Error uses the status text when it is
	// empty.
	Title string
	// Message explains what went wrong and what the person can do next.
	Message string
	// RequestID is shown in small print for support requests, if set.
	RequestID string
}

// DevResultPage shows the outcome of the built-in demo sign-in in
// development mode.
type DevResultPage struct {
	PageCommon
	// IDTokenClaims is the ID token's claim set as indented JSON.
	IDTokenClaims string
	// UserInfo is the UserInfo response as indented JSON.
	UserInfo string
	// Scope is the scope the token response granted.
	Scope string
	// AccessTokenExpiresIn is the access token lifetime as displayed.
	AccessTokenExpiresIn string
	// RefreshTokenIssued reports whether the token response contained a
	// refresh token.
	RefreshTokenIssued bool
	// Error replaces the results when the code exchange failed.
	Error string
	// StartURL is the target of the "Sign in again" link.
	StartURL string
}

// Login writes the sign-in page with the given status code.
func (v *Views) Login(w http.ResponseWriter, status int, p LoginPage) {
	v.render(w, viewsLoginPage, status, p)
}

// Consent writes the consent page with the given status code.
func (v *Views) Consent(w http.ResponseWriter, status int, p ConsentPage) {
	v.render(w, viewsConsentPage, status, p)
}

// Logout writes the sign-out page with the given status code.
func (v *Views) Logout(w http.ResponseWriter, status int, p LogoutPage) {
	v.render(w, viewsLogoutPage, status, p)
}

// Password writes the password change page with the given status code.
func (v *Views) Password(w http.ResponseWriter, status int, p PasswordPage) {
	v.render(w, viewsPasswordPage, status, p)
}

// Error writes the error page with the given status code. A zero p.Status
// is set to status, and an empty p.Title to the standard status text.
func (v *Views) Error(w http.ResponseWriter, status int, p ErrorPage) {
	if p.Status == 0 {
		p.Status = status
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Title == "" {
		p.Title = "Error " + strconv.Itoa(p.Status)
	}
	v.render(w, viewsErrorPage, status, p)
}

// DevResult writes the development result page with the given status code.
func (v *Views) DevResult(w http.ResponseWriter, status int, p DevResultPage) {
	v.render(w, viewsDevResultPage, status, p)
}

// render executes the named page into a buffer and writes it only when the
// whole page rendered, so a template failure never sends half a page. On
// failure it writes a plain-text 500 without the error, because the error
// can quote page data.
//
// TODO: a render failure is not logged, because NewViews takes no logger.
func (v *Views) render(w http.ResponseWriter, page string, status int, data any) {
	var buf bytes.Buffer
	t, ok := v.pages[page]
	if !ok {
		viewsWriteInternalError(w)
		return
	}
	if err := t.ExecuteTemplate(&buf, "base", data); err != nil {
		viewsWriteInternalError(w)
		return
	}

	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func viewsWriteInternalError(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(
		w,
		http.StatusText(http.StatusInternalServerError),
		http.StatusInternalServerError,
	)
}

// viewsLink is a client URI that passed viewsClientLink, split into the
// link target and the host shown as its text.
type viewsLink struct {
	Href string
	Host string
}

// viewsClientLink returns the link to show for a client's home page, or nil
// when the URI must not be shown as a link. Client URIs come from client
// registration, so only absolute https URLs qualify, plus http in
// development mode. A URI with user info is rejected because
// "https://bank.example@evil.example" reads as a different host.
func viewsClientLink(rawURI string, devMode bool) *viewsLink {
	if rawURI == "" {
		return nil
	}
	u, err := url.Parse(rawURI)
	if err != nil {
		return nil
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && devMode:
	default:
		return nil
	}
	if u.Host == "" || u.User != nil {
		return nil
	}
	return &viewsLink{Href: u.String(), Host: u.Host}
}
