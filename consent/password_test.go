package consent

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func renderPasswordPage(t *testing.T, page PasswordPage) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	viewsForTest(t).Password(rec, http.StatusOK, page)
	return rec
}

func TestViewsPassword(t *testing.T) {
	for _, devMode := range []bool{false, true} {
		rec := renderPasswordPage(t, PasswordPage{
			PageCommon: PageCommon{DevMode: devMode, CSRFToken: viewsTestToken},
			Action:     "/login?flow=abc&step=password",
			ClientName: viewsTestHostile,
			ClientURI:  "https://app.example/home",
			Username:   viewsTestHostile,
			MinLength:  8,
			Error:      viewsTestHostile,
		})
		body := rec.Body.String()

		viewsCheckHeaders(t, rec)
		viewsCheckSafeHTML(t, body)
		for _, want := range []string{
			`action="/login?flow=abc&amp;step=password"`,
			`<input type="hidden" name="csrf_token" value="` + viewsTestToken + `">`,
			`name="new_password"`,
			`name="confirm_password"`,
			`autocomplete="new-password"`,
			`minlength="8"`,
			`autocomplete="username"`,
			`<label for="new_password">`,
			`<label for="confirm_password">`,
			`href="/static/idp.css"`,
			viewsTestEscaped,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("dev mode %v: body does not contain %s", devMode, want)
			}
		}
		if got := strings.Contains(body, viewsTestBanner); got != devMode {
			t.Errorf("dev banner shown = %v, want %v", got, devMode)
		}
	}
}

func TestViewsPasswordInputsHaveLabels(t *testing.T) {
	body := renderPasswordPage(t, PasswordPage{PageCommon: PageCommon{CSRFToken: viewsTestToken}}).Body.String()
	inputID := regexp.MustCompile(`<input[^>]*\sid="([^"]+)"`)
	ids := inputID.FindAllStringSubmatch(body, -1)
	if len(ids) != 2 {
		t.Errorf("found %d inputs with an id, want 2", len(ids))
	}
	for _, m := range ids {
		if !strings.Contains(body, `<label for="`+m[1]+`">`) {
			t.Errorf("input %q has no label", m[1])
		}
	}
}

func TestViewsPasswordError(t *testing.T) {
	tests := []struct {
		name      string
		message   string
		wantAlert bool
	}{
		{name: "no error", message: ""},
		{name: "error", message: "The two new passwords do not match.", wantAlert: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := renderPasswordPage(t, PasswordPage{Username: "alice", MinLength: 8, Error: tt.message}).Body.String()

			if got := strings.Contains(body, `role="alert"`); got != tt.wantAlert {
				t.Errorf("alert shown = %v, want %v", got, tt.wantAlert)
			}
			if tt.wantAlert && !strings.Contains(body, `aria-describedby="password-rules password-error"`) {
				t.Error("new password input does not refer to the error")
			}
		})
	}
}

func TestPasswordAction(t *testing.T) {
	if got, want := passwordAction("a+b/c"), "/login?flow=a%2Bb%2Fc&step=password"; got != want {
		t.Errorf("passwordAction = %q, want %q", got, want)
	}
}
