package accounts

import (
	"strings"
	"testing"
)

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name     string
		password string
		wantErr  string
	}{
		{name: "eight ASCII", password: "abcdefgh"},
		{name: "eight runes of two bytes", password: "éééééééé"},
		{name: "spaces allowed", password: "   a   b   "},
		{name: "maximum bytes", password: strings.Repeat("a", MaxPasswordBytes)},
		{name: "empty", password: "", wantErr: "minimum is 8 characters"},
		{name: "seven", password: "abcdefg", wantErr: "minimum is 8 characters"},
		{name: "seven runes of four bytes", password: strings.Repeat("😀", 7), wantErr: "minimum is 8 characters"},
		{name: "too long", password: strings.Repeat("a", MaxPasswordBytes+1), wantErr: "maximum is 1024 bytes"},
		{name: "too long in bytes", password: strings.Repeat("é", 513), wantErr: "maximum is 1024 bytes"},
		{name: "invalid UTF-8", password: "abcdefgh\xff", wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, "ValidatePassword", ValidatePassword(tt.password), tt.wantErr)
		})
	}
}

func TestValidateUsername(t *testing.T) {
	tests := []struct {
		name     string
		username string
		wantErr  string
	}{
		{name: "plain", username: "alice"},
		{name: "email address", username: "alice@example.com"},
		{name: "inner space", username: "Alice Liddell"},
		{name: "other script", username: "Алиса"},
		{name: "one character", username: "a"},
		{name: "maximum", username: strings.Repeat("ü", MaxUsernameLength)},
		{name: "empty", username: "", wantErr: "empty"},
		{name: "too long", username: strings.Repeat("a", MaxUsernameLength+1), wantErr: "maximum is 200 characters"},
		{name: "leading space", username: " alice", wantErr: "white space"},
		{name: "trailing newline", username: "alice\n", wantErr: "control"},
		{name: "trailing no-break space", username: "alice\u00a0", wantErr: "white space"},
		{name: "only space", username: " ", wantErr: "white space"},
		{name: "inner tab", username: "al\tice", wantErr: "control"},
		{name: "NUL", username: "al\x00ice", wantErr: "U+0000"},
		{name: "right-to-left override", username: "alice\u202egnp", wantErr: "U+202E"},
		{name: "zero width space", username: "al\u200bice", wantErr: "format"},
		{name: "invalid UTF-8", username: "al\xffice", wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, "ValidateUsername", ValidateUsername(tt.username), tt.wantErr)
		})
	}
}

// checkError fails t unless err is nil when wantErr is empty, or contains
// wantErr otherwise.
func checkError(t *testing.T, call string, err error, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Errorf("%s() error = %v, want nil", call, err)
		}
		return
	}
	if err == nil {
		t.Errorf("%s() error = nil, want one containing %q", call, wantErr)
		return
	}
	if !strings.Contains(err.Error(), wantErr) {
		t.Errorf("%s() error = %q, want one containing %q", call, err, wantErr)
	}
}
