package consent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/idp/idp/accounts"
	"github.com/idp/idp/storage"
)

// authenticate checks a sign-in under the throttle. A throttled
// attempt does the same hashing work and gets the same error as a wrong
// password, so a guesser cannot tell a locked account from a wrong password, and
// the lock applies to the account from this address only.
func (p *Pages) authenticate(r *http.Request, fc *flowContext, username, password string) (*storage.User, error) {
	ctx := r.Context()
	addr := p.ClientIP(r)
	key := accounts.SignInKey(username, addr)

	wait, failing, err := p.Throttle.Wait(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read sign-in throttle: %w", err)
	}
	if wait > 0 {
		userID := p.userIDOf(ctx, username)
		p.Logger.InfoContext(ctx, "sign-in throttled", "client_id", fc.client.ID, "user_id", userID, "retry_after_s", int(wait.Seconds()))
		p.record(r, storage.EventSignInFailed, userID, fc.client.ID, "throttled; retry in "+strconv.Itoa(int(wait.Seconds())+1)+"s")
		return nil, p.Users.Reject(ctx, password)
	}

	user, err := p.Users.Authenticate(ctx, username, password)
	if errors.Is(err, accounts.ErrInvalidCredentials) {
		delay, ferr := p.Throttle.Fail(ctx, key)
		if ferr != nil {
			return nil, fmt.Errorf("record failed sign-in: %w", ferr)
		}
		userID := p.userIDOf(ctx, username)
		p.Logger.InfoContext(ctx, "sign-in failed", "client_id", fc.client.ID, "user_id", userID)
		p.record(r, storage.EventSignInFailed, userID, fc.client.ID, "wrong username or password")
		if delay > 0 {
			p.record(r, storage.EventSignInLockedOut, userID, fc.client.ID,
				"further attempts for this account from this address wait "+delay.String())
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if failing {
		if err := p.Throttle.Succeed(ctx, key); err != nil {
			p.Logger.ErrorContext(ctx, "clear sign-in throttle failed", "user_id", user.ID, "err", err)
		}
	}
	p.record(r, storage.EventSignInSucceeded, user.ID, fc.client.ID, "")
	return user, nil
}

// userIDOf returns the id of the user called username, "" when there is
// none. Events name the account attacked; they are read by admins only,
// so this reveals nothing to the person signing in.
func (p *Pages) userIDOf(ctx context.Context, username string) string {
	if u, err := p.Store.UserByUsername(ctx, username); err == nil {
		return u.ID
	}
	return ""
}

// record stores a security event about a page request. A failure is
// logged, not returned: the person's request goes on.
func (p *Pages) record(r *http.Request, kind storage.EventKind, userID, clientID, detail string) {
	if p.Events == nil {
		return
	}
	e := &storage.SecurityEvent{
		Kind:       kind,
		UserID:     userID,
		ClientID:   clientID,
		RemoteAddr: p.ClientIP(r).String(),
		UserAgent:  r.UserAgent(),
		Method:     r.Method,
		Path:       r.URL.Path,
		Detail:     detail,
	}
	if kind == storage.EventSignInFailed || kind == storage.EventSignInSucceeded || kind == storage.EventSignInLockedOut {
		e.CredentialKind = "password"
	}
	if err := p.Events.RecordEvent(r.Context(), e); err != nil {
		p.Logger.ErrorContext(r.Context(), "record security event failed", "err", err)
	}
}
