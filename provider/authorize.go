package provider

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/idp/idp/clients"
	"github.com/idp/idp/consent"
	"github.com/idp/idp/scopes"
	"github.com/idp/idp/storage"
)

// maxAuthorizeForm bounds an authorization request sent as a form POST.
const maxAuthorizeForm = 64 << 10

// Messages of the authorization endpoint's error page, shown when the
// request cannot be sent back to a verified redirect URI.
const (
	titleBadRequest     = "Sign-in request rejected"
	msgUnknownClient    = "The application that sent you here is not registered with this provider. Contact the application's developer."
	msgBadRedirect      = "The application asked to return you to an address it has not registered, so the request was stopped. Contact the application's developer."
	msgFlowGone         = "This sign-in request has expired, was already completed, or was started in another browser. Go back to the application and sign in again."
	msgRedirectUserinfo = "The application's return address contains characters that are not allowed (\"@\" or \"#\"), so the request was stopped. Contact the application's developer."
)

// authorizeRequest is one pass through the authorization endpoint.
type authorizeRequest struct {
	form url.Values
	// flow is the stored request when the browser comes back from the
	// login or consent page, and flowID its id.
	flow   *storage.AuthFlow
	flowID string
	// hintSubject is the sub of a verified id_token_hint.
	hintSubject string
	ar          fosite.AuthorizeRequester
}

// authorize serves /oauth2/authorize (RFC 6749 section 4.1.1 and
// OpenID Connect Core section 3.1.2). It runs on every arrival: the
// first one from the app, and each return from the login and consent
// pages, which carry only ?flow=ID.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxAuthorizeForm)
	}
	if err := r.ParseForm(); err != nil {
		p.cfg.Pages.ShowError(w, http.StatusBadRequest, titleBadRequest, "The request could not be parsed.")
		return
	}
	// The redirect URI itself may be the repeated parameter, so the
	// error is shown here rather than sent back to the app.
	if name := consent.RepeatedParameter(r.Form); name != "" {
		p.cfg.Pages.ShowError(w, http.StatusBadRequest, titleBadRequest, repeatedParameterHint(name))
		return
	}

	req := &authorizeRequest{form: r.Form}
	if r.Method == http.MethodGet && r.URL.Query().Has("flow") {
		if !p.loadFlow(w, r, req) {
			return
		}
	}

	if !p.precheck(w, r, req) {
		return
	}

	noteClientID(r, req.form.Get("client_id"))
	ar, err := p.oauth.NewAuthorizeRequest(ctx, p.fositeRequest(r, req.form))
	req.ar = ar
	if err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	if err := p.validateAuthorize(r, req); err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}

	// A request sent as a form POST is stored and redirected with a 303
	// to a GET, so the pages that follow refer to it by id.
	if r.Method == http.MethodPost {
		p.interact(w, r, req, consent.AuthorizePath)
		return
	}
	p.decide(w, r, req)
}

// loadFlow replaces the request's parameters with those of the flow
// named by ?flow=, which must belong to this browser's session.
func (p *Provider) loadFlow(w http.ResponseWriter, r *http.Request, req *authorizeRequest) bool {
	ctx := r.Context()
	cur, err := p.cfg.Sessions.Load(r)
	if err != nil {
		p.serverError(w, r, "load login session", err)
		return false
	}
	if cur == nil {
		p.cfg.Pages.ShowError(w, http.StatusBadRequest, titleBadRequest, msgFlowGone)
		return false
	}
	req.flowID = r.URL.Query().Get("flow")
	flow, err := p.cfg.Store.AuthFlow(ctx, req.flowID, cur.ID, p.cfg.Now())
	if errors.Is(err, storage.ErrNotFound) {
		p.cfg.Pages.ShowError(w, http.StatusBadRequest, titleBadRequest, msgFlowGone)
		return false
	}
	if err != nil {
		p.serverError(w, r, "load authorization flow", err)
		return false
	}
	form, err := url.ParseQuery(flow.Form)
	if err != nil {
		p.serverError(w, r, "decode authorization flow", err)
		return false
	}
	req.flow = flow
	req.form = form
	return true
}

// precheck does what must happen before fosite parses the request:
// errors that must never be redirected get an HTML page here, and
// parameters fosite would act on unsafely are removed.
func (p *Provider) precheck(w http.ResponseWriter, r *http.Request, req *authorizeRequest) bool {
	ctx := r.Context()
	form := req.form

	// fosite's loopback matcher ignores userinfo, so the raw value is
	// checked before fosite parses it.
	rawRedirect := form.Get("redirect_uri")
	if rawRedirect != "" {
		if err := clients.CheckRawRedirectURI(rawRedirect); err != nil {
			p.cfg.Pages.ShowError(w, http.StatusBadRequest, titleBadRequest, msgRedirectUserinfo)
			return false
		}
	}
	client, err := p.cfg.Store.Client(ctx, form.Get("client_id"))
	if errors.Is(err, storage.ErrNotFound) {
		p.cfg.Pages.ShowError(w, http.StatusBadRequest, titleBadRequest, msgUnknownClient)
		return false
	}
	if err != nil {
		p.serverError(w, r, "load client", err)
		return false
	}
	if rawRedirect != "" && !clients.MatchRedirectURI(rawRedirect, client.RedirectURIs) {
		p.cfg.Pages.ShowError(w, http.StatusBadRequest, titleBadRequest, msgBadRedirect)
		return false
	}
	return true
}

// fositeRequest builds the request fosite parses: always a GET with
// the parameters in the query, without the ones idp handles itself.
func (p *Provider) fositeRequest(r *http.Request, form url.Values) *http.Request {
	clean := url.Values{}
	for k, v := range form {
		switch k {
		case "id_token_hint", "request", "request_uri", "flow":
			continue
		}
		clean[k] = v
	}
	fr := r.Clone(r.Context())
	fr.Method = http.MethodGet
	fr.URL.RawQuery = clean.Encode()
	fr.Form = nil
	fr.PostForm = nil
	fr.Body = http.NoBody
	fr.ContentLength = 0
	fr.Header.Del("Content-Type")
	return fr
}

// validateAuthorize applies idp's rules on top of fosite's parsing.
func (p *Provider) validateAuthorize(r *http.Request, req *authorizeRequest) error {
	form := req.form
	ar := req.ar

	// Signed request objects are not implemented (OpenID Connect Core
	// section 6); discovery states it.
	if form.Has("request") {
		return fosite.ErrRequestNotSupported.WithHint("The request parameter is not supported; send the parameters directly.")
	}
	if form.Has("request_uri") {
		return fosite.ErrRequestURINotSupported.WithHint("The request_uri parameter is not supported; send the parameters directly.")
	}
	if ar.GetRequestedScopes().Has("openid") && form.Get("redirect_uri") == "" {
		return fosite.ErrInvalidRequest.WithHint("redirect_uri is required in OpenID Connect requests.")
	}
	// OpenID Connect Core section 3.1.2.1: none may not be combined.
	if prompt := strings.Fields(form.Get("prompt")); slices.Contains(prompt, "none") && len(prompt) > 1 {
		return fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other prompt values.")
	}
	if v := form.Get("max_age"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
			return fosite.ErrInvalidRequest.WithHintf("max_age must be a non-negative number of seconds, got %q.", v)
		}
	}
	if _, _, err := checkChallenge(ar); err != nil {
		return err
	}
	if hint := form.Get("id_token_hint"); hint != "" {
		sub, err := p.idTokens.verifyHint(r.Context(), hint)
		if err != nil {
			if errors.Is(err, errInvalidHint) {
				return fosite.ErrInvalidRequest.WithHint("id_token_hint is not a valid ID token issued by this provider.")
			}
			return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
		}
		req.hintSubject = sub
	}
	return nil
}

// decide sends the user to sign in or to consent, or issues the code,
// following prompt, max_age and id_token_hint.
func (p *Provider) decide(w http.ResponseWriter, r *http.Request, req *authorizeRequest) {
	ctx := r.Context()
	form := req.form
	prompt := strings.Fields(form.Get("prompt"))
	promptNone := slices.Contains(prompt, "none")

	cur, err := p.cfg.Sessions.Load(r)
	if err != nil {
		p.writeAuthorizeError(w, r, req.ar, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error()))
		return
	}
	var user *storage.User
	if cur.SignedIn() {
		u, err := p.cfg.Store.User(ctx, cur.UserID)
		switch {
		case err == nil && !u.Disabled:
			user = u
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			p.writeAuthorizeError(w, r, req.ar, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error()))
			return
		}
	}

	if p.needsLogin(req, cur, user, prompt) {
		if promptNone {
			p.writeAuthorizeError(w, r, req.ar, fosite.ErrLoginRequired.WithHint("The user is not signed in, and prompt=none forbids showing the login page."))
			return
		}
		p.interact(w, r, req, consent.LoginPath)
		return
	}

	client := req.ar.GetClient()
	requested := []string(req.ar.GetRequestedScopes())
	consentedHere := req.flow != nil && req.flow.ConsentGiven
	if consentedHere && req.flow.ConsentDenied {
		if p.endFlow(w, r, req) {
			p.writeAuthorizeError(w, r, req.ar, fosite.ErrAccessDenied.WithHint("The user denied the request."))
		}
		return
	}
	if !consentedHere {
		var remembered []string
		c, err := p.cfg.Store.Consent(ctx, user.ID, client.GetID())
		switch {
		case err == nil:
			remembered = c.Scopes
		case !errors.Is(err, storage.ErrNotFound):
			p.writeAuthorizeError(w, r, req.ar, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error()))
			return
		}
		if len(scopes.Missing(requested, remembered)) > 0 || slices.Contains(prompt, "consent") {
			if promptNone {
				p.writeAuthorizeError(w, r, req.ar, fosite.ErrConsentRequired.WithHint("The user has not approved these scopes, and prompt=none forbids showing the consent page."))
				return
			}
			p.interact(w, r, req, consent.ConsentPath)
			return
		}
	} else {
		for _, s := range requested {
			if !slices.Contains(req.flow.ConsentedScopes, s) {
				if p.endFlow(w, r, req) {
					p.writeAuthorizeError(w, r, req.ar, fosite.ErrAccessDenied.WithHintf("The user did not approve scope %q.", s))
				}
				return
			}
		}
	}

	p.issueCode(w, r, req, cur, user)
}

// endFlow deletes the flow of req, if any, before its outcome is sent to
// the app. A flow is single use, whether it ends in a code or in an
// error: of two tabs racing to finish it, one wins, and a denial cannot
// be replayed or turned into an approval. It reports false when it has
// written the response because the flow was already gone or the
// deletion failed.
func (p *Provider) endFlow(w http.ResponseWriter, r *http.Request, req *authorizeRequest) bool {
	if req.flow == nil {
		return true
	}
	err := p.cfg.Store.DeleteAuthFlow(r.Context(), req.flow.IDHash)
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		p.cfg.Pages.ShowError(w, http.StatusBadRequest, titleBadRequest, msgFlowGone)
		return false
	case err != nil:
		p.writeAuthorizeError(w, r, req.ar, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error()))
		return false
	}
	return true
}

// needsLogin reports whether the user must enter a password before
// this request can go on.
func (p *Provider) needsLogin(req *authorizeRequest, cur *consent.Current, user *storage.User, prompt []string) bool {
	if user == nil {
		return true
	}
	// A sign-in made during this very flow satisfies prompt=login and
	// max_age.
	if req.flow != nil && !req.flow.LoggedInAt.IsZero() && !cur.AuthTime.Before(req.flow.CreatedAt) {
		return req.hintSubject != "" && req.hintSubject != user.Subject
	}
	if slices.Contains(prompt, "login") {
		return true
	}
	if v := req.form.Get("max_age"); v != "" {
		maxAge, _ := strconv.ParseInt(v, 10, 64)
		if p.cfg.Now().Sub(cur.AuthTime) > time.Duration(maxAge)*time.Second {
			return true
		}
	}
	return req.hintSubject != "" && req.hintSubject != user.Subject
}

// interact stores the request as a flow, unless it is one already, and
// sends the browser to path with the flow id.
func (p *Provider) interact(w http.ResponseWriter, r *http.Request, req *authorizeRequest, path string) {
	ctx := r.Context()
	if req.flow == nil {
		cur, err := p.cfg.Sessions.Ensure(w, r)
		if err != nil {
			p.writeAuthorizeError(w, r, req.ar, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error()))
			return
		}
		now := p.cfg.Now().UTC()
		form := url.Values{}
		for k, v := range req.form {
			if k != "flow" {
				form[k] = v
			}
		}
		flow := &storage.AuthFlow{
			SessionID: cur.ID,
			ClientID:  req.ar.GetClient().GetID(),
			Form:      form.Encode(),
			CreatedAt: now,
			ExpiresAt: now.Add(p.cfg.Lifetimes.AuthFlow),
		}
		req.flowID = consent.RandomID()
		if err := p.cfg.Store.CreateAuthFlow(ctx, flow, req.flowID); err != nil {
			p.writeAuthorizeError(w, r, req.ar, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error()))
			return
		}
		req.flow = flow
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, path+"?flow="+url.QueryEscape(req.flowID), http.StatusSeeOther)
}

// issueCode grants the requested scopes and redirects to the app with
// an authorization code.
func (p *Provider) issueCode(w http.ResponseWriter, r *http.Request, req *authorizeRequest, cur *consent.Current, user *storage.User) {
	ctx := r.Context()
	ar := req.ar
	for _, s := range ar.GetRequestedScopes() {
		ar.GrantScope(s)
	}

	now := p.cfg.Now().UTC()
	requestedAt := now
	if req.flow != nil {
		requestedAt = req.flow.CreatedAt
	}
	challenge, method, _ := checkChallenge(ar)
	sess := NewSession()
	sess.Subject = user.Subject
	sess.Username = user.Username
	sess.Claims.Subject = user.Subject
	sess.Claims.AuthTime = cur.AuthTime.UTC()
	sess.Claims.RequestedAt = requestedAt
	sess.UserID = user.ID
	sess.SID = cur.PublicID
	sess.AuthTime = cur.AuthTime.UTC()
	sess.FamilyExpiresAt = now.Add(p.cfg.Lifetimes.RefreshFamily)
	sess.CodeChallenge = challenge
	sess.CodeChallengeMethod = method

	if !p.endFlow(w, r, req) {
		return
	}

	resp, err := p.oauth.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	// RFC 9207: the iss parameter lets the app detect mix-up attacks.
	resp.AddParameter("iss", p.cfg.Issuer)
	p.cfg.Logger.InfoContext(ctx, "authorization code issued", "client_id", ar.GetClient().GetID(), "user_id", user.ID)
	p.oauth.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// writeAuthorizeError sends an error back to the app's verified
// redirect URI with state and iss (RFC 6749 section 4.1.2.1, RFC 9207),
// or shows the error page when no verified redirect URI exists.
func (p *Provider) writeAuthorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	clientID := ""
	if ar != nil && ar.GetClient() != nil {
		clientID = ar.GetClient().GetID()
	}
	if rfc.CodeField >= http.StatusInternalServerError {
		p.cfg.Logger.ErrorContext(r.Context(), "authorization request failed", "client_id", clientID, "err", rfc.WithExposeDebug(true).GetDescription())
	} else {
		p.cfg.Logger.InfoContext(r.Context(), "authorization request rejected", "client_id", clientID, "err", rfc.ErrorField)
	}

	w.Header().Set("Cache-Control", "no-store")
	if ar == nil || !ar.IsRedirectURIValid() {
		p.cfg.Pages.ShowError(w, http.StatusBadRequest, titleBadRequest, rfc.GetDescription())
		return
	}
	target := *ar.GetRedirectURI()
	target.Fragment = ""
	q := target.Query()
	q.Set("error", rfc.ErrorField)
	if desc := rfc.GetDescription(); desc != "" {
		q.Set("error_description", desc)
	}
	if state := ar.GetState(); state != "" {
		q.Set("state", state)
	}
	q.Set("iss", p.cfg.Issuer)
	target.RawQuery = q.Encode()
	http.Redirect(w, r, target.String(), http.StatusSeeOther)
}

// serverError logs a fault and shows the error page.
func (p *Provider) serverError(w http.ResponseWriter, r *http.Request, action string, err error) {
	p.cfg.Logger.ErrorContext(r.Context(), action+" failed", "err", err)
	p.cfg.Pages.ShowError(w, http.StatusInternalServerError, "Server error", "Something went wrong on our side. Try again in a moment.")
}
