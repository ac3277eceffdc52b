package accounts

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// testParams are cheap enough for the race detector; production hashes
// use DefaultParams.
var testParams = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(testParams, 2)

	encoded, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	format := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !format.MatchString(encoded) {
		t.Errorf("Hash() = %q, want a PHC string matching %s", encoded, format)
	}

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{name: "same password", password: "correct horse", want: true},
		{name: "other password", password: "correct horsE", want: false},
		{name: "prefix", password: "correct hors", want: false},
		{name: "empty", password: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Verify(ctx, encoded, tt.password)
			if err != nil {
				t.Fatalf("Verify() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("Verify(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}
}

func TestHashUsesNewSalt(t *testing.T) {
	h := NewHasher(testParams, 1)
	first, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	second, err := h.Hash(context.Background(), "same password")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	if first == second {
		t.Errorf("two hashes of one password are equal (%q), want different salts", first)
	}
}

// TestVerifyReferenceVectors checks hashes made by the argon2 command of
// the reference implementation (Debian package argon2 0~20171227), for
// example: printf password | argon2 somesalt12345678 -id -t 3 -k 128 -p 2 -l 24 -e
func TestVerifyReferenceVectors(t *testing.T) {
	tests := []struct {
		name     string
		encoded  string
		password string
	}{
		{
			name:     "one lane",
			encoded:  "$argon2id$v=19$m=64,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$08SGGcDJOWTOHrI9opI1oxYYPVyI3Xbz6vQjWzSpV7w",
			password: "correct horse battery staple",
		},
		{
			name:     "two lanes short key",
			encoded:  "$argon2id$v=19$m=128,t=3,p=2$c29tZXNhbHQxMjM0NTY3OA$CoGPMhnoc6EPnG0W690mULuQHkqMt2EB",
			password: "password",
		},
	}
	h := NewHasher(testParams, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), tt.encoded, tt.password)
			if err != nil {
				t.Fatalf("Verify() error = %v", err)
			}
			if !ok {
				t.Errorf("Verify(%q) = false, want true", tt.password)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	const good = "$argon2id$v=19$m=64,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$08SGGcDJOWTOHrI9opI1oxYYPVyI3Xbz6vQjWzSpV7w"
	tests := []struct {
		name    string
		encoded string
	}{
		{name: "empty", encoded: ""},
		{name: "plain text", encoded: "hunter22"},
		{name: "argon2i", encoded: strings.Replace(good, "argon2id", "argon2i", 1)},
		{name: "bcrypt", encoded: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{name: "version 16", encoded: strings.Replace(good, "v=19", "v=16", 1)},
		{name: "version missing", encoded: "$argon2id$m=64,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$08SGGcDJOWTOHrI9opI1oxYYPVyI3Xbz6vQjWzSpV7w"},
		{name: "cost order", encoded: strings.Replace(good, "m=64,t=2,p=1", "t=2,m=64,p=1", 1)},
		{name: "extra cost parameter", encoded: strings.Replace(good, "p=1", "p=1,keyid=x", 1)},
		{name: "leading zero", encoded: strings.Replace(good, "m=64", "m=064", 1)},
		{name: "negative", encoded: strings.Replace(good, "t=2", "t=-2", 1)},
		{name: "lanes overflow", encoded: strings.Replace(good, "p=1", "p=256", 1)},
		{name: "zero lanes", encoded: strings.Replace(good, "p=1", "p=0", 1)},
		{name: "zero iterations", encoded: strings.Replace(good, "t=2", "t=0", 1)},
		{name: "memory below lanes", encoded: strings.Replace(good, "m=64,t=2,p=1", "m=8,t=2,p=2", 1)},
		{name: "memory too large", encoded: strings.Replace(good, "m=64", "m=4294967295", 1)},
		{name: "padded salt", encoded: strings.Replace(good, "c2FsdHNhbHRzYWx0c2FsdA", "c2FsdHNhbHRzYWx0c2FsdA==", 1)},
		{name: "url alphabet", encoded: strings.Replace(good, "O", "_", 1)},
		{name: "short salt", encoded: strings.Replace(good, "c2FsdHNhbHRzYWx0c2FsdA", "c2FsdA", 1)},
		{name: "short key", encoded: "$argon2id$v=19$m=64,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$08SGGcDJOWTOHrI9"},
		{name: "trailing field", encoded: good + "$x"},
	}
	h := NewHasher(testParams, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), tt.encoded, "correct horse battery staple")
			if !errors.Is(err, errMalformedHash) {
				t.Errorf("Verify(%q) error = %v, want one wrapping %v", tt.encoded, err, errMalformedHash)
			}
			if ok {
				t.Errorf("Verify(%q) = true, want false", tt.encoded)
			}
			if !h.NeedsRehash(tt.encoded) {
				t.Errorf("NeedsRehash(%q) = false, want true for a malformed hash", tt.encoded)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	base := Params{Memory: 128, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32}
	h := NewHasher(base, 1)
	tests := []struct {
		name   string
		params Params
		want   bool
	}{
		{name: "same params", params: base, want: false},
		{name: "stronger", params: Params{Memory: 256, Iterations: 3, Parallelism: 2, SaltLength: 32, KeyLength: 64}, want: false},
		{name: "fewer lanes", params: Params{Memory: 128, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}, want: false},
		{name: "less memory", params: Params{Memory: 64, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 32}, want: true},
		{name: "fewer iterations", params: Params{Memory: 128, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32}, want: true},
		{name: "shorter salt", params: Params{Memory: 128, Iterations: 2, Parallelism: 2, SaltLength: 8, KeyLength: 32}, want: true},
		{name: "shorter key", params: Params{Memory: 128, Iterations: 2, Parallelism: 2, SaltLength: 16, KeyLength: 16}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded, err := NewHasher(tt.params, 1).Hash(context.Background(), "password")
			if err != nil {
				t.Fatalf("Hash() error = %v", err)
			}
			if got := h.NeedsRehash(encoded); got != tt.want {
				t.Errorf("NeedsRehash(%q) = %v, want %v", encoded, got, tt.want)
			}
		})
	}
}

func TestDefaultParamsHash(t *testing.T) {
	h := NewHasher(DefaultParams, 1)
	encoded, err := h.Hash(context.Background(), "correct horse")
	if err != nil {
		t.Fatalf("Hash() error = %v", err)
	}
	if want := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(encoded, want) {
		t.Errorf("Hash() = %q, want prefix %q", encoded, want)
	}
	ok, err := h.Verify(context.Background(), encoded, "correct horse")
	if err != nil {
		t.Fatalf("Verify() error = %v", err)
	}
	if !ok {
		t.Error("Verify() = false for the hashed password, want true")
	}
	if h.NeedsRehash(encoded) {
		t.Errorf("NeedsRehash(%q) = true for a hash of the Hasher's own params", encoded)
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name    string
		params  Params
		wantErr string
	}{
		{name: "default", params: DefaultParams},
		{name: "test params", params: testParams},
		{name: "zero", params: Params{}, wantErr: "parallelism"},
		{name: "memory below 8 KiB per lane", params: Params{Memory: 31, Iterations: 1, Parallelism: 4, SaltLength: 16, KeyLength: 32}, wantErr: "memory"},
		{name: "memory too large", params: Params{Memory: maxMemory + 1, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, wantErr: "memory"},
		{name: "zero iterations", params: Params{Memory: 64, Parallelism: 1, SaltLength: 16, KeyLength: 32}, wantErr: "iterations"},
		{name: "short salt", params: Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 7, KeyLength: 32}, wantErr: "salt"},
		{name: "short key", params: Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 15}, wantErr: "key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.params.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() error = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewHasherPanicsOnInvalidParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewHasher(Params{}) did not panic")
		}
	}()
	NewHasher(Params{}, 1)
}

// TestHasherWaitsForSlot fills every slot, then checks that hashing waits
// for one and gives up when its context ends.
func TestHasherWaitsForSlot(t *testing.T) {
	h := NewHasher(testParams, 2)
	if got := cap(h.slots); got != 2 {
		t.Fatalf("slots = %d, want 2", got)
	}
	h.slots <- struct{}{}
	h.slots <- struct{}{}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := h.Hash(ctx, "password")
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Hash() with every slot taken and a canceled context: error = %v, want context.Canceled", err)
	}
	if _, err := h.Verify(ctx, "$argon2id$v=19$m=64,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$08SGGcDJOWTOHrI9opI1oxYYPVyI3Xbz6vQjWzSpV7w", "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify() with a canceled context: error = %v, want context.Canceled", err)
	}

	// Once a slot is free, a hash waiting for it runs.
	result := make(chan error)
	go func() {
		_, err := h.Hash(context.Background(), "password")
		result <- err
	}()
	<-h.slots
	if err := <-result; err != nil {
		t.Errorf("Hash() after a slot was freed: error = %v", err)
	}
	if got := len(h.slots); got != 1 {
		t.Errorf("slots in use after Hash returned = %d, want 1", got)
	}
}

func TestNewHasherMinimumConcurrency(t *testing.T) {
	if got := cap(NewHasher(testParams, 0).slots); got != 1 {
		t.Errorf("NewHasher(p, 0) slots = %d, want 1", got)
	}
}
