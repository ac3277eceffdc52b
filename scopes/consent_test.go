package scopes

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMissing(t *testing.T) {
	tests := []struct {
		name       string
		requested  []string
		remembered []string
		want       []string
	}{
		{name: "nothing remembered", requested: []string{"openid", "email"}, want: []string{"openid", "email"}},
		{name: "all remembered", requested: []string{"openid", "email"}, remembered: []string{"email", "openid", "phone"}, want: nil},
		{name: "some remembered", requested: []string{"openid", "profile", "email"}, remembered: []string{"openid", "email"}, want: []string{"profile"}},
		{name: "openid counts like others", requested: []string{"openid"}, remembered: []string{"profile"}, want: []string{"openid"}},
		{name: "offline_access always asked", requested: []string{"openid", "offline_access"}, remembered: []string{"openid", "offline_access"}, want: []string{"offline_access"}},
		{name: "offline alias always asked", requested: []string{"offline"}, remembered: []string{"offline"}, want: []string{"offline"}},
		{name: "repeats once", requested: []string{"email", "email", "phone"}, remembered: nil, want: []string{"email", "phone"}},
		{name: "nothing requested", requested: nil, remembered: []string{"openid"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Missing(tt.requested, tt.remembered)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Missing(%q, %q) mismatch (-want +got):\n%s", tt.requested, tt.remembered, diff)
			}
		})
	}
}
