package scopes

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/idp/idp/storage"
)

func fullUser() *storage.User {
	return &storage.User{
		ID:                  "u1",
		Subject:             "sub-1",
		Username:            "alice",
		PasswordHash:        "$argon2id$secret",
		Name:                "Alice Liddell",
		GivenName:           "Alice",
		FamilyName:          "Liddell",
		MiddleName:          "Pleasance",
		Nickname:            "Al",
		PreferredUsername:   "alice",
		Profile:             "https://example.com/alice",
		Picture:             "https://example.com/alice.png",
		Website:             "https://alice.example.com",
		Email:               "alice@example.com",
		EmailVerified:       true,
		Gender:              "female",
		Birthdate:           "1852-05-04",
		Zoneinfo:            "Europe/London",
		Locale:              "en-GB",
		PhoneNumber:         "+44 20 7946 0000",
		PhoneNumberVerified: false,
		AddressStreet:       "1 Christ Church\nSt Aldates",
		AddressLocality:     "Oxford",
		AddressRegion:       "Oxfordshire",
		AddressPostalCode:   "OX1 1DP",
		AddressCountry:      "United Kingdom",
		UpdatedAt:           time.Unix(1700000000, 500).UTC(),
	}
}

func TestClaims(t *testing.T) {
	profile := map[string]any{
		"name":               "Alice Liddell",
		"given_name":         "Alice",
		"family_name":        "Liddell",
		"middle_name":        "Pleasance",
		"nickname":           "Al",
		"preferred_username": "alice",
		"profile":            "https://example.com/alice",
		"picture":            "https://example.com/alice.png",
		"website":            "https://alice.example.com",
		"gender":             "female",
		"birthdate":          "1852-05-04",
		"zoneinfo":           "Europe/London",
		"locale":             "en-GB",
		"updated_at":         int64(1700000000),
	}
	fullAddress := map[string]any{
		"formatted":      "1 Christ Church\nSt Aldates\nOxford Oxfordshire OX1 1DP\nUnited Kingdom",
		"street_address": "1 Christ Church\nSt Aldates",
		"locality":       "Oxford",
		"region":         "Oxfordshire",
		"postal_code":    "OX1 1DP",
		"country":        "United Kingdom",
	}

	tests := []struct {
		name    string
		user    *storage.User
		granted []string
		want    map[string]any
	}{
		{name: "openid only", user: fullUser(), granted: []string{"openid"}, want: map[string]any{}},
		{name: "profile", user: fullUser(), granted: []string{"openid", "profile"}, want: profile},
		{
			name:    "email",
			user:    fullUser(),
			granted: []string{"email"},
			want:    map[string]any{"email": "alice@example.com", "email_verified": true},
		},
		{
			name:    "phone unverified",
			user:    fullUser(),
			granted: []string{"phone"},
			want:    map[string]any{"phone_number": "+44 20 7946 0000", "phone_number_verified": false},
		},
		{name: "address", user: fullUser(), granted: []string{"address"}, want: map[string]any{"address": fullAddress}},
		{
			name:    "address partial",
			user:    &storage.User{AddressLocality: "Oxford", AddressCountry: "GB"},
			granted: []string{"address"},
			want: map[string]any{"address": map[string]any{
				"formatted": "Oxford\nGB",
				"locality":  "Oxford",
				"country":   "GB",
			}},
		},
		{name: "address empty", user: &storage.User{}, granted: []string{"address"}, want: map[string]any{}},
		{
			name:    "empty strings omitted",
			user:    &storage.User{Name: "Bob", EmailVerified: true, PhoneNumberVerified: true},
			granted: []string{"profile", "email", "phone"},
			want:    map[string]any{"name": "Bob"},
		},
		{
			name:    "custom and unknown scopes",
			user:    fullUser(),
			granted: []string{"photos.read", "offline_access", "nope"},
			want:    map[string]any{},
		},
		{name: "nil user", user: nil, granted: []string{"profile"}, want: map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Claims(tt.user, tt.granted)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Claims(%q) mismatch (-want +got):\n%s", tt.granted, diff)
			}
			if _, ok := got["sub"]; ok {
				t.Errorf("Claims(%q) contains sub, want the caller to add it", tt.granted)
			}
		})
	}
}

func TestClaimsJSONTypes(t *testing.T) {
	all := []string{"openid", "profile", "email", "address", "phone"}
	raw, err := json.Marshal(Claims(fullUser(), all))
	if err != nil {
		t.Fatalf("json.Marshal() error = %v", err)
	}

	var decoded map[string]any
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatalf("json.Unmarshal() error = %v", err)
	}
	if _, ok := decoded["email_verified"].(bool); !ok {
		t.Errorf("email_verified is %T in JSON, want a boolean", decoded["email_verified"])
	}
	if _, ok := decoded["phone_number_verified"].(bool); !ok {
		t.Errorf("phone_number_verified is %T in JSON, want a boolean", decoded["phone_number_verified"])
	}
	if got, ok := decoded["updated_at"].(float64); !ok || got != 1700000000 {
		t.Errorf("updated_at = %v (%T) in JSON, want the number 1700000000", decoded["updated_at"], decoded["updated_at"])
	}
	if _, ok := decoded["address"].(map[string]any); !ok {
		t.Errorf("address is %T in JSON, want an object", decoded["address"])
	}
}
