package clients

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/ory/fosite"
)

var urlSafe = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func TestGenerateClientID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, err := GenerateClientID()
		if err != nil {
			t.Fatalf("GenerateClientID: %v", err)
		}
		if len(id)*4 < 128 {
			t.Fatalf("client_id %q carries fewer than 128 bits as hex", id)
		}
		if !urlSafe.MatchString(id) {
			t.Fatalf("client_id %q is not URL-safe", id)
		}
		if seen[id] {
			t.Fatalf("client_id %q generated twice", id)
		}
		seen[id] = true
	}
}

func TestGenerateSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		secret, err := GenerateSecret()
		if err != nil {
			t.Fatalf("GenerateSecret: %v", err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(secret)
		if err != nil {
			t.Fatalf("secret %q is not unpadded base64url: %v", secret, err)
		}
		if len(raw) != 32 {
			t.Fatalf("secret decodes to %d bytes, want 32", len(raw))
		}
		if seen[secret] {
			t.Fatal("secret generated twice")
		}
		seen[secret] = true
	}
}

func testKey(version string, fill byte) HashKey {
	return HashKey{Version: version, Key: bytes.Repeat([]byte{fill}, 32)}
}

func TestNewSecretHasherRejects(t *testing.T) {
	tests := []struct {
		name    string
		keys    []HashKey
		wantErr string
	}{
		{name: "no keys", keys: nil, wantErr: "no key"},
		{name: "short key", keys: []HashKey{{Version: "v1", Key: make([]byte, 31)}}, wantErr: "at least 32"},
		{name: "short second key", keys: []HashKey{testKey("v1", 1), {Version: "v0", Key: []byte("short")}}, wantErr: "at least 32"},
		{name: "empty version", keys: []HashKey{testKey("", 1)}, wantErr: "non-empty version"},
		{name: "dollar in version", keys: []HashKey{testKey("v$1", 1)}, wantErr: "without '$'"},
		{name: "duplicate version", keys: []HashKey{testKey("v1", 1), testKey("v1", 2)}, wantErr: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSecretHasher(tt.keys...)
			if err == nil {
				t.Fatalf("NewSecretHasher = nil error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewSecretHasher error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSecretHasherFormat(t *testing.T) {
	ctx := context.Background()
	key := testKey("k1", 7)
	h, err := NewSecretHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	var _ fosite.Hasher = h

	hash, err := h.Hash(ctx, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key.Key)
	mac.Write([]byte("s3cret"))
	want := "hmac-sha256$k1$" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if string(hash) != want {
		t.Errorf("Hash = %q, want %q", hash, want)
	}
}

func TestSecretHasherCompare(t *testing.T) {
	ctx := context.Background()
	oldHasher, err := NewSecretHasher(testKey("old", 1))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewSecretHasher(testKey("new", 2), testKey("old", 1))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := NewSecretHasher(testKey("old", 3))
	if err != nil {
		t.Fatal(err)
	}

	secret := []byte("correct-secret")
	oldHash, err := oldHasher.Hash(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	newHash, err := rotated.Hash(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(newHash), "hmac-sha256$new$") {
		t.Fatalf("rotated hasher made %q, want the first key's version", newHash)
	}

	mac := strings.Split(string(oldHash), "$")[2]
	tests := []struct {
		name    string
		hasher  *SecretHasher
		hash    string
		data    string
		wantErr string
	}{
		{name: "match", hasher: oldHasher, hash: string(oldHash), data: string(secret)},
		{name: "old hash after rotation", hasher: rotated, hash: string(oldHash), data: string(secret)},
		{name: "new hash after rotation", hasher: rotated, hash: string(newHash), data: string(secret)},
		{name: "wrong secret", hasher: oldHasher, hash: string(oldHash), data: "wrong-secret", wantErr: "does not match"},
		{name: "empty secret", hasher: oldHasher, hash: string(oldHash), data: "", wantErr: "does not match"},
		{name: "same version other key", hasher: otherKey, hash: string(oldHash), data: string(secret), wantErr: "does not match"},
		{name: "unknown version", hasher: oldHasher, hash: string(newHash), data: string(secret), wantErr: "unknown key version"},
		{name: "empty hash", hasher: oldHasher, hash: "", data: string(secret), wantErr: "malformed"},
		{name: "other algorithm", hasher: oldHasher, hash: "bcrypt$old$" + mac, data: string(secret), wantErr: "malformed"},
		{name: "too few fields", hasher: oldHasher, hash: "hmac-sha256$" + mac, data: string(secret), wantErr: "malformed"},
		{name: "too many fields", hasher: oldHasher, hash: string(oldHash) + "$x", data: string(secret), wantErr: "malformed"},
		{name: "bad base64", hasher: oldHasher, hash: "hmac-sha256$old$!!!", data: string(secret), wantErr: "malformed"},
		{name: "truncated MAC", hasher: oldHasher, hash: "hmac-sha256$old$" + mac[:20], data: string(secret), wantErr: "malformed"},
		{name: "plain secret as hash", hasher: oldHasher, hash: string(secret), data: string(secret), wantErr: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.hasher.Compare(ctx, []byte(tt.hash), []byte(tt.data))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Compare = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Compare = nil, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Compare error = %q, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), string(secret)) {
				t.Errorf("Compare error %q contains the secret", err)
			}
		})
	}
}

func TestSecretHasherCopiesKey(t *testing.T) {
	ctx := context.Background()
	key := testKey("v1", 5)
	h, err := NewSecretHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(ctx, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}

	key.Key[0] ^= 0xff
	if err := h.Compare(ctx, hash, []byte("secret")); err != nil {
		t.Errorf("Compare after the caller changed its key slice = %v, want nil", err)
	}
}
