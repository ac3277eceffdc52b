package provider

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/idp/idp/consent"
)

// Paths of the demo relying party that --dev serves, so a newcomer can
// watch a whole sign-in without writing an app.
const (
	DevStartPath    = "/dev/start"
	DevCallbackPath = "/dev/callback"
	// devCookie holds the demo relying party's state, nonce and PKCE
	// verifier between the start and the callback.
	devCookie = "idp_dev_rp"
	// DevScope is the scope the demo relying party requests.
	DevScope = "openid profile email offline_access"
)

// DevRedirectURI returns the demo client's redirect URI for an issuer.
func DevRedirectURI(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + DevCallbackPath
}

type devState struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
}

// devStart begins an authorization code flow with PKCE as the demo
// client, the way any relying party would.
func (p *Provider) devStart(w http.ResponseWriter, r *http.Request) {
	st := devState{State: devRandom(), Nonce: devRandom(), Verifier: devRandom() + devRandom()}
	raw, _ := json.Marshal(st)
	http.SetCookie(w, &http.Cookie{
		Name:     devCookie,
		Value:    base64.RawURLEncoding.EncodeToString(raw),
		Path:     "/dev/",
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(p.cfg.Lifetimes.AuthFlow.Seconds()),
	})
	sum := sha256.Sum256([]byte(st.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {p.cfg.DevClientID},
		"redirect_uri":          {DevRedirectURI(p.cfg.Issuer)},
		"scope":                 {DevScope},
		"state":                 {st.State},
		"nonce":                 {st.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, consent.AuthorizePath+"?"+q.Encode(), http.StatusSeeOther)
}

// devCallback redeems the code at idp's own token endpoint, checks the
// ID token and calls the UserInfo endpoint, then shows what came back.
// The calls go through the same handlers a remote app reaches, without
// a network round trip.
func (p *Provider) devCallback(w http.ResponseWriter, r *http.Request) {
	page := consent.DevResultPage{
		PageCommon: consent.PageCommon{DevMode: true},
		StartURL:   DevStartPath,
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	fail := func(format string, args ...any) {
		page.Error = fmt.Sprintf(format, args...)
		p.cfg.Pages.Views.DevResult(w, http.StatusBadRequest, page)
	}

	var st devState
	cookie, err := r.Cookie(devCookie)
	if err == nil {
		raw, _ := base64.RawURLEncoding.DecodeString(cookie.Value)
		_ = json.Unmarshal(raw, &st)
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		fail("The provider returned %s: %s", e, q.Get("error_description"))
		return
	}
	if st.State == "" || q.Get("state") != st.State {
		fail("The state parameter does not match this browser's sign-in; start again.")
		return
	}
	if q.Get("iss") != p.cfg.Issuer {
		fail("The iss parameter %q is not this provider's issuer.", q.Get("iss"))
		return
	}

	tok, err := p.devExchange(r, q.Get("code"), st.Verifier)
	if err != nil {
		fail("Code exchange failed: %v", err)
		return
	}
	claims, err := p.devVerifyIDToken(r, tok.IDToken, st.Nonce)
	if err != nil {
		fail("ID token rejected: %v", err)
		return
	}
	info, err := p.devUserinfo(tok.AccessToken)
	if err != nil {
		fail("UserInfo request failed: %v", err)
		return
	}

	page.IDTokenClaims = claims
	page.UserInfo = info
	page.Scope = tok.Scope
	page.AccessTokenExpiresIn = (time.Duration(tok.ExpiresIn) * time.Second).String()
	page.RefreshTokenIssued = tok.RefreshToken != ""
	p.cfg.Pages.Views.DevResult(w, http.StatusOK, page)
}

type devTokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
	ExpiresIn    int64  `json:"expires_in"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

func (p *Provider) devExchange(r *http.Request, code, verifier string) (*devTokenResponse, error) {
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {DevRedirectURI(p.cfg.Issuer)},
		"code_verifier": {verifier},
	}
	req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(p.cfg.DevClientID), url.QueryEscape(p.cfg.DevClientSecret))
	rec := httptest.NewRecorder()
	p.token(rec, req)

	var tok devTokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil {
		return nil, fmt.Errorf("token endpoint returned %d with a body that is not JSON", rec.Code)
	}
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", tok.Error, tok.Description)
	}
	return &tok, nil
}

// devVerifyIDToken checks the ID token as a relying party must (OpenID
// Connect Core section 3.1.3.7) and returns its claims as indented JSON.
func (p *Provider) devVerifyIDToken(r *http.Request, idToken, nonce string) (string, error) {
	jws, err := jose.ParseSigned(idToken, idTokenAlgorithms)
	if err != nil {
		return "", err
	}
	set, err := p.cfg.Keys.Published(r.Context())
	if err != nil {
		return "", err
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		return "", fmt.Errorf("no published key has kid %q", jws.Signatures[0].Header.KeyID)
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	switch {
	case claims["iss"] != p.cfg.Issuer:
		return "", fmt.Errorf("iss is %v", claims["iss"])
	case claims["nonce"] != nonce:
		return "", fmt.Errorf("nonce does not match")
	case claims["azp"] != p.cfg.DevClientID:
		return "", fmt.Errorf("azp is %v", claims["azp"])
	}
	if exp, _ := claims["exp"].(float64); time.Unix(int64(exp), 0).Before(p.cfg.Now()) {
		return "", fmt.Errorf("the ID token has expired")
	}
	return devIndent(payload)
}

func (p *Provider) devUserinfo(accessToken string) (string, error) {
	req := httptest.NewRequest(http.MethodGet, UserinfoPath, nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	rec := httptest.NewRecorder()
	p.userinfo(rec, req)
	if rec.Code != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", rec.Code, rec.Body.String())
	}
	return devIndent(rec.Body.Bytes())
}

func devIndent(raw []byte) (string, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func devRandom() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
