package consent

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

const (
	viewsTestToken   = "csrf-token-Zq8xW3"
	viewsTestHostile = `<script>alert("x")</script>`
	viewsTestEscaped = `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`
	viewsTestBanner  = "Development mode:</strong> not for production use. " +
		"Plain HTTP, demo credentials."
)

func viewsForTest(t *testing.T) *Views {
	t.Helper()
	v, err := NewViews()
	if err != nil {
		t.Fatalf("NewViews: %v", err)
	}
	return v
}

// viewsPage is one way to render a page for the shared checks.
type viewsPage struct {
	name     string
	hasForm  bool
	render   func(v *Views, w http.ResponseWriter, common PageCommon)
	contains []string
}

func viewsPages() []viewsPage {
	return []viewsPage{
		{
			name:    "login",
			hasForm: true,
			render: func(v *Views, w http.ResponseWriter, c PageCommon) {
				v.Login(w, http.StatusOK, LoginPage{
					PageCommon: c,
					Action:     "/login?flow=abc",
					ClientName: viewsTestHostile,
					ClientURI:  "https://app.example/home",
					Username:   viewsTestHostile,
					Error:      viewsTestHostile,
				})
			},
			contains: []string{
				`action="/login?flow=abc"`,
				`autocomplete="username"`,
				`autocomplete="current-password"`,
				`name="password"`,
				`<label for="username">`,
				`<label for="password">`,
			},
		},
		{
			name:    "consent",
			hasForm: true,
			render: func(v *Views, w http.ResponseWriter, c PageCommon) {
				v.Consent(w, http.StatusOK, ConsentPage{
					PageCommon: c,
					Action:     "/consent?flow=abc",
					ClientName: viewsTestHostile,
					ClientURI:  "https://app.example/home",
					Username:   viewsTestHostile,
					Scopes: []ScopeView{
						{Name: "email", Description: viewsTestHostile},
					},
					OfflineAccess: true,
				})
			},
			contains: []string{
				`name="decision" value="approve"`,
				`name="decision" value="deny"`,
				`name="remember" type="checkbox" value="on" checked`,
				"Remember this decision",
				"while you are away",
			},
		},
		{
			name:    "logout",
			hasForm: true,
			render: func(v *Views, w http.ResponseWriter, c PageCommon) {
				v.Logout(w, http.StatusOK, LogoutPage{
					PageCommon: c,
					Action:     "/logout",
					Username:   viewsTestHostile,
				})
			},
			contains: []string{"Sign out</button>"},
		},
		{
			name: "error",
			render: func(v *Views, w http.ResponseWriter, c PageCommon) {
				v.Error(w, http.StatusOK, ErrorPage{
					PageCommon: c,
					Status:     http.StatusBadRequest,
					Title:      viewsTestHostile,
					Message:    viewsTestHostile,
					RequestID:  viewsTestHostile,
				})
			},
			contains: []string{"Error 400"},
		},
		{
			name: "devresult",
			render: func(v *Views, w http.ResponseWriter, c PageCommon) {
				v.DevResult(w, http.StatusOK, DevResultPage{
					PageCommon:           c,
					IDTokenClaims:        `{"name": "` + viewsTestHostile + `"}`,
					UserInfo:             `{"sub": "` + viewsTestHostile + `"}`,
					Scope:                viewsTestHostile,
					AccessTokenExpiresIn: "5m0s",
					RefreshTokenIssued:   true,
					StartURL:             "/dev/start",
				})
			},
			contains: []string{`href="/dev/start"`, "Sign in again", "Yes"},
		},
	}
}

func TestViewsPages(t *testing.T) {
	v := viewsForTest(t)
	for _, page := range viewsPages() {
		for _, devMode := range []bool{false, true} {
			name := page.name
			if devMode {
				name += "/dev"
			}
			t.Run(name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				common := PageCommon{DevMode: devMode, CSRFToken: viewsTestToken}
				page.render(v, rec, common)
				body := rec.Body.String()

				if rec.Code != http.StatusOK {
					t.Errorf("status = %d, want %d", rec.Code, http.StatusOK)
				}
				viewsCheckHeaders(t, rec)
				viewsCheckSafeHTML(t, body)
				if !strings.Contains(body, viewsTestEscaped) {
					t.Errorf("body does not contain the escaped field %s", viewsTestEscaped)
				}
				if !strings.Contains(body, `<html lang="en">`) {
					t.Error(`body does not contain <html lang="en">`)
				}
				if !strings.Contains(body, `name="viewport"`) {
					t.Error("body does not contain the viewport meta tag")
				}
				if !strings.Contains(body, `href="/static/idp.css"`) {
					t.Error("body does not link /static/idp.css")
				}

				hasBanner := strings.Contains(body, viewsTestBanner)
				if hasBanner != devMode {
					t.Errorf("dev banner shown = %v, want %v", hasBanner, devMode)
				}

				if page.hasForm {
					token := `<input type="hidden" name="csrf_token" value="` +
						viewsTestToken + `">`
					if !strings.Contains(body, token) {
						t.Errorf("body does not contain %s", token)
					}
				}

				for _, want := range page.contains {
					if !strings.Contains(body, want) {
						t.Errorf("body does not contain %s", want)
					}
				}
			})
		}
	}
}

func viewsCheckHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if got, want := rec.Header().Get("Content-Type"), "text/html; charset=utf-8"; got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if got, want := rec.Header().Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
}

// viewsCheckSafeHTML fails when a page contains markup that the
// Content-Security-Policy would block: inline styles, style blocks, scripts
// and inline event handlers.
func viewsCheckSafeHTML(t *testing.T, body string) {
	t.Helper()
	lower := strings.ToLower(body)
	for _, bad := range []string{"style=", "<style", "<script", "javascript:"} {
		if strings.Contains(lower, bad) {
			t.Errorf("body contains %q", bad)
		}
	}
	if m := regexp.MustCompile(`\son[a-z]+\s*=`).FindString(lower); m != "" {
		t.Errorf("body contains an inline event handler %q", m)
	}
}

func TestViewsInputsHaveLabels(t *testing.T) {
	v := viewsForTest(t)
	inputID := regexp.MustCompile(`<input[^>]*\sid="([^"]+)"`)
	for _, page := range viewsPages() {
		t.Run(page.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			page.render(v, rec, PageCommon{CSRFToken: viewsTestToken})
			body := rec.Body.String()

			for _, m := range inputID.FindAllStringSubmatch(body, -1) {
				label := `<label for="` + m[1] + `">`
				if !strings.Contains(body, label) {
					t.Errorf("input %q has no %s", m[1], label)
				}
			}
		})
	}
}

func TestViewsClientLink(t *testing.T) {
	tests := []struct {
		name     string
		uri      string
		devMode  bool
		wantLink string
	}{
		{name: "https", uri: "https://app.example/home", wantLink: `href="https://app.example/home"`},
		{name: "http rejected", uri: "http://app.example/"},
		{name: "http in dev", uri: "http://localhost:8080/", devMode: true, wantLink: `href="http://localhost:8080/"`},
		{name: "javascript scheme", uri: "javascript:alert(1)", devMode: true},
		{name: "data scheme", uri: "data:text/html,hi", devMode: true},
		{name: "relative", uri: "/home", devMode: true},
		{name: "scheme relative", uri: "//evil.example/", devMode: true},
		{name: "user info", uri: "https://bank.example@evil.example/"},
		{name: "empty", uri: ""},
	}
	v := viewsForTest(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, page := range []struct {
				name   string
				render func(w http.ResponseWriter)
			}{
				{"login", func(w http.ResponseWriter) {
					v.Login(w, http.StatusOK, LoginPage{
						PageCommon: PageCommon{DevMode: tt.devMode},
						ClientName: "App",
						ClientURI:  tt.uri,
					})
				}},
				{"consent", func(w http.ResponseWriter) {
					v.Consent(w, http.StatusOK, ConsentPage{
						PageCommon: PageCommon{DevMode: tt.devMode},
						ClientName: "App",
						ClientURI:  tt.uri,
					})
				}},
			} {
				rec := httptest.NewRecorder()
				page.render(rec)
				body := rec.Body.String()

				hasLink := strings.Contains(body, `class="client-link"`)
				if hasLink != (tt.wantLink != "") {
					t.Errorf("%s: client link shown = %v, want %v", page.name, hasLink, tt.wantLink != "")
				}
				if tt.wantLink != "" && !strings.Contains(body, tt.wantLink) {
					t.Errorf("%s: body does not contain %s", page.name, tt.wantLink)
				}
			}
		})
	}
}

func TestViewsLoginAutofocus(t *testing.T) {
	v := viewsForTest(t)
	tests := []struct {
		name      string
		username  string
		wantFocus string
	}{
		{name: "empty username", username: "", wantFocus: "username"},
		{name: "prefilled username", username: "alice", wantFocus: "password"},
	}
	focused := regexp.MustCompile(`<input id="([a-z]+)"[^>]*\sautofocus>`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			v.Login(rec, http.StatusOK, LoginPage{Username: tt.username})

			m := focused.FindAllStringSubmatch(rec.Body.String(), -1)
			if len(m) != 1 {
				t.Fatalf("found %d inputs with autofocus, want 1", len(m))
			}
			if m[0][1] != tt.wantFocus {
				t.Errorf("autofocus on %q, want %q", m[0][1], tt.wantFocus)
			}
		})
	}
}

func TestViewsLoginStatus(t *testing.T) {
	v := viewsForTest(t)
	rec := httptest.NewRecorder()
	v.Login(rec, http.StatusUnauthorized, LoginPage{Error: "Wrong username or password."})

	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status = %d, want %d", rec.Code, http.StatusUnauthorized)
	}
	if !strings.Contains(rec.Body.String(), `role="alert">Wrong username or password.`) {
		t.Error("body does not show the error above the form")
	}
}

func TestViewsConsentWithoutOfflineAccess(t *testing.T) {
	v := viewsForTest(t)
	rec := httptest.NewRecorder()
	v.Consent(rec, http.StatusOK, ConsentPage{
		ClientName: "App",
		Scopes:     []ScopeView{{Name: "profile", Description: "See your name"}},
	})
	body := rec.Body.String()

	if strings.Contains(body, "while you are away") {
		t.Error("body mentions offline access, but none was requested")
	}
	if !strings.Contains(body, "See your name") {
		t.Error("body does not list the scope description")
	}
}

func TestViewsLogoutDone(t *testing.T) {
	v := viewsForTest(t)
	rec := httptest.NewRecorder()
	v.Logout(rec, http.StatusOK, LogoutPage{
		PageCommon: PageCommon{CSRFToken: viewsTestToken},
		Action:     "/logout",
		Done:       true,
	})
	body := rec.Body.String()

	if !strings.Contains(body, "You are signed out.") {
		t.Error("body does not confirm the sign-out")
	}
	if strings.Contains(body, "<form") {
		t.Error("body contains a form after sign-out")
	}
}

func TestViewsErrorDefaults(t *testing.T) {
	v := viewsForTest(t)
	rec := httptest.NewRecorder()
	v.Error(rec, http.StatusNotFound, ErrorPage{})
	body := rec.Body.String()

	if rec.Code != http.StatusNotFound {
		t.Errorf("status = %d, want %d", rec.Code, http.StatusNotFound)
	}
	if !strings.Contains(body, "<h1>Not Found</h1>") {
		t.Error("body does not use the status text as the title")
	}
	if !strings.Contains(body, "Error 404") {
		t.Error("body does not show the status code")
	}
	if strings.Contains(body, "Request ID") {
		t.Error("body shows a request ID, but none was set")
	}
}

func TestViewsDevResultError(t *testing.T) {
	v := viewsForTest(t)
	rec := httptest.NewRecorder()
	v.DevResult(rec, http.StatusBadGateway, DevResultPage{
		PageCommon: PageCommon{DevMode: true},
		Error:      "code exchange failed: invalid_grant",
		StartURL:   "/dev/start",
	})
	body := rec.Body.String()

	if rec.Code != http.StatusBadGateway {
		t.Errorf("status = %d, want %d", rec.Code, http.StatusBadGateway)
	}
	if !strings.Contains(body, "code exchange failed: invalid_grant") {
		t.Error("body does not show the exchange error")
	}
	if strings.Contains(body, "Refresh token issued") {
		t.Error("body shows token results although the exchange failed")
	}
}

func TestViewsRenderFailure(t *testing.T) {
	v := viewsForTest(t)
	tests := []struct {
		name string
		page string
		data any
	}{
		// The login template reads fields that an int does not have, so
		// execution fails after part of the layout has been written.
		{name: "execution error", page: viewsLoginPage, data: 42},
		{name: "unknown page", page: "missing", data: LoginPage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			v.render(rec, tt.page, http.StatusOK, tt.data)
			body := rec.Body.String()

			if rec.Code != http.StatusInternalServerError {
				t.Errorf("status = %d, want %d", rec.Code, http.StatusInternalServerError)
			}
			if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", got)
			}
			if strings.Contains(body, "<html") {
				t.Errorf("body contains part of a page: %q", body)
			}
		})
	}
}
