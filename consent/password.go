package consent

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/storage"
)

// passwordStep is the value of the step query parameter that selects
// the password change form on the login path, where it lives because it
// is a step of signing in. The parameter only picks the form. Whether
// the form may be used is decided by the flow's stored state.
const passwordStep = "password"

// Messages of the password change form.
const (
	msgPasswordMismatch  = "The two new passwords do not match. Enter the same password twice."
	msgPasswordUnchanged = "The new password is your current password. Choose a different one."
)

// showLoginStep shows the login form, or the password change form when
// the request names that step.
func (p *Pages) showLoginStep(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("step") == passwordStep {
		p.showPassword(w, r)
		return
	}
	p.showLogin(w, r)
}

// submitLoginStep handles the login form, or the password change form
// when the request names that step.
func (p *Pages) submitLoginStep(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("step") == passwordStep {
		p.submitPassword(w, r)
		return
	}
	p.submitLogin(w, r)
}

func passwordAction(flowID string) string {
	return LoginPath + "?flow=" + url.QueryEscape(flowID) + "&step=" + passwordStep
}

// startPasswordChange runs instead of signing in when user entered a
// correct password but must change it. The user is remembered in the
// flow, which only this browser session can load, and the session is
// left signed out. Its cookie value is replaced all the same, as at
// sign-in, so a value planted in the browser before cannot finish the
// change.
func (p *Pages) startPasswordChange(w http.ResponseWriter, r *http.Request, fc *flowContext, user *storage.User) {
	ctx := r.Context()
	// SignIn with an empty user id replaces the cookie value and signs
	// out any user signed in to this session before.
	if err := p.Sessions.SignIn(ctx, w, fc.session, ""); err != nil {
		p.serverError(w, r, "replace login session cookie", err)
		return
	}
	fc.flow.PendingUserID = user.ID
	if err := p.Store.UpdateAuthFlow(ctx, fc.flow); err != nil {
		p.flowUpdateFailed(w, r, err)
		return
	}
	p.Logger.InfoContext(ctx, "password change required at sign-in", "user_id", user.ID, "client_id", fc.client.ID)
	http.Redirect(w, r, passwordAction(fc.flowID), http.StatusSeeOther)
}

// loadPending loads the flow and the user who must change their
// password in it. Without such a user, or when the user no longer
// needs the change, is disabled or another sign-in happened in this
// session meanwhile, the browser is sent back to the login form.
func (p *Pages) loadPending(w http.ResponseWriter, r *http.Request) (*flowContext, *storage.User, bool) {
	fc, ok := p.loadFlow(w, r)
	if !ok {
		return nil, nil, false
	}
	toLogin := func() {
		http.Redirect(w, r, LoginPath+"?flow="+url.QueryEscape(fc.flowID), http.StatusSeeOther)
	}
	if fc.flow.PendingUserID == "" || fc.session.SignedIn() {
		toLogin()
		return nil, nil, false
	}
	user, err := p.Store.User(r.Context(), fc.flow.PendingUserID)
	if errors.Is(err, storage.ErrNotFound) {
		toLogin()
		return nil, nil, false
	}
	if err != nil {
		p.serverError(w, r, "load user", err)
		return nil, nil, false
	}
	if user.Disabled || !user.PasswordChangeRequired {
		toLogin()
		return nil, nil, false
	}
	return fc, user, true
}

func (p *Pages) showPassword(w http.ResponseWriter, r *http.Request) {
	fc, user, ok := p.loadPending(w, r)
	if !ok {
		return
	}
	p.renderPassword(w, fc, user, http.StatusOK, "")
}

func (p *Pages) renderPassword(w http.ResponseWriter, fc *flowContext, user *storage.User, status int, message string) {
	p.Views.Password(w, status, PasswordPage{
		PageCommon: p.common(fc.session),
		Action:     passwordAction(fc.flowID),
		ClientName: fc.client.Name,
		ClientURI:  fc.client.URI,
		Username:   user.Username,
		MinLength:  accounts.MinPasswordLength,
		Error:      message,
	})
}

// submitPassword sets the new password, then signs the user in and
// returns to the authorization endpoint, as a successful login does.
func (p *Pages) submitPassword(w http.ResponseWriter, r *http.Request) {
	fc, user, ok := p.loadPending(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil || RepeatedParameter(r.PostForm) != "" || !p.Sessions.CheckCSRF(fc.session, r.PostForm.Get("csrf_token")) {
		p.showError(w, http.StatusForbidden, "Form rejected", msgBadForm)
		return
	}
	ctx := r.Context()
	password := r.PostForm.Get("new_password")

	if password != r.PostForm.Get("confirm_password") {
		p.renderPassword(w, fc, user, http.StatusBadRequest, msgPasswordMismatch)
		return
	}
	if err := accounts.ValidatePassword(password); err != nil {
		p.renderPassword(w, fc, user, http.StatusBadRequest, "Choose another password: "+err.Error()+".")
		return
	}
	// The current password is the one that must go, so it is rejected.
	_, err := p.Users.Authenticate(ctx, user.Username, password)
	if err == nil {
		p.renderPassword(w, fc, user, http.StatusBadRequest, msgPasswordUnchanged)
		return
	}
	if !errors.Is(err, accounts.ErrInvalidCredentials) {
		p.serverError(w, r, "compare new password with current one", err)
		return
	}

	if !p.setPassword(w, r, user.ID, password) {
		return
	}
	if err := p.Sessions.SignIn(ctx, w, fc.session, user.ID); err != nil {
		p.serverError(w, r, "sign in", err)
		return
	}
	fc.flow.PendingUserID = ""
	fc.flow.LoggedInAt = fc.session.AuthTime
	if err := p.Store.UpdateAuthFlow(ctx, fc.flow); err != nil {
		p.flowUpdateFailed(w, r, err)
		return
	}
	p.Logger.InfoContext(ctx, "password changed at sign-in", "user_id", user.ID, "client_id", fc.client.ID)
	http.Redirect(w, r, AuthorizePath+"?flow="+url.QueryEscape(fc.flowID), http.StatusSeeOther)
}

// setPassword stores the new password, which also ends the user's
// other sessions and grants.
func (p *Pages) setPassword(w http.ResponseWriter, r *http.Request, userID, password string) bool {
	if err := p.Users.SetPassword(r.Context(), userID, password); err != nil {
		p.serverError(w, r, "set password", err)
		return false
	}
	return true
}
