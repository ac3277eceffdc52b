package provider

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/idp/idp/storage"
)

// Signing algorithms idp can sign ID tokens with.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// rsaKeyBits is the size of generated RSA keys.
const rsaKeyBits = 2048

// KeyStore is the part of the database that holds signing keys.
type KeyStore interface {
	CreateSigningKey(ctx context.Context, k *storage.SigningKey) error
	SigningKeys(ctx context.Context) ([]storage.SigningKey, error)
	AllSigningKeys(ctx context.Context) ([]storage.SigningKey, error)
	WithdrawSigningKey(ctx context.Context, kid string) error
}

// KeySet manages ID token signing keys kept in the database. Every
// instance reads the key list from the database on each use, so a
// rotation or withdrawal made by one instance or by the CLI takes
// effect everywhere on the next request. Only decrypted private keys
// are cached, by kid, because a key's material never changes.
type KeySet struct {
	Store KeyStore
	// Secrets are the derived system-secret keys, current first; older
	// ones open keys sealed before a secret rotation.
	Secrets []SecretKeys
	// IDTokenLifetime and ClockSkew decide how long a key stays
	// published after it stopped signing.
	IDTokenLifetime time.Duration
	ClockSkew       time.Duration
	Now             func() time.Time

	mu      sync.Mutex
	private map[string]crypto.Signer
}

// KeyState is the stage of a key's life.
type KeyState string

// Key states, in the order a key passes through them.
const (
	KeyNext      KeyState = "next"      // published, not signing yet
	KeyCurrent   KeyState = "current"   // signs new ID tokens
	KeyRetiring  KeyState = "retiring"  // published until its tokens expire
	KeyRetired   KeyState = "retired"   // no longer published
	KeyWithdrawn KeyState = "withdrawn" // removed by an admin
)

// KeyInfo describes one signing key for listings.
type KeyInfo struct {
	KID       string    `json:"kid"`
	Algorithm string    `json:"alg"`
	State     KeyState  `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	NotBefore time.Time `json:"not_before"`
	// PublishedUntil is when a retiring key leaves the JWKS document;
	// zero while no successor has started signing.
	PublishedUntil time.Time `json:"published_until,omitzero"`
}

// Generate creates a key of the given algorithm that starts signing
// at notBefore and stores it sealed with the current system secret.
// Key ids are random so that they reveal nothing about the key.
func (ks *KeySet) Generate(ctx context.Context, alg string, notBefore time.Time) (*storage.SigningKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaKeyBits)
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("signing algorithm %q is not supported; use %s or %s", alg, AlgRS256, AlgES256)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}

	kidBytes := make([]byte, 16)
	rand.Read(kidBytes)
	kid := base64.RawURLEncoding.EncodeToString(kidBytes)

	pub := jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: alg, Use: "sig"}
	pubJSON, err := json.Marshal(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	current := ks.Secrets[0]
	sealed, err := seal(current.KeyEncryption, der, []byte(kid))
	if err != nil {
		return nil, err
	}

	now := ks.Now().UTC()
	if notBefore.Before(now) {
		notBefore = now
	}
	k := &storage.SigningKey{
		KID:           kid,
		Algorithm:     alg,
		PublicJWK:     string(pubJSON),
		PrivateSealed: sealed,
		SecretVersion: current.Version,
		CreatedAt:     now,
		NotBefore:     notBefore.UTC(),
	}
	if err := ks.Store.CreateSigningKey(ctx, k); err != nil {
		return nil, fmt.Errorf("store signing key: %w", err)
	}
	return k, nil
}

// SigningAlgorithms are the algorithms idp keeps a key for: RS256 for
// every client by default, ES256 for clients that register it.
var SigningAlgorithms = []string{AlgRS256, AlgES256}

// EnsureKey creates a key that signs at once for each algorithm in
// SigningAlgorithms that has none, as on the first start.
func (ks *KeySet) EnsureKey(ctx context.Context) error {
	keys, err := ks.Store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	for _, alg := range SigningAlgorithms {
		if slices.ContainsFunc(keys, func(k storage.SigningKey) bool { return k.Algorithm == alg }) {
			continue
		}
		if _, err := ks.Generate(ctx, alg, ks.Now()); err != nil {
			return err
		}
	}
	return nil
}

// LastKeyError is the error Withdraw returns for the only key of an
// algorithm that may sign now. Without it the provider could not sign
// ID tokens with that algorithm: RS256 is the default for every client,
// and a client can register ES256 at any time.
type LastKeyError struct {
	KID       string
	Algorithm string
	// NextKID and NextStart name the key of the same algorithm that
	// starts signing soonest, if one is waiting. NextKID is "" when
	// none is.
	NextKID   string
	NextStart time.Time
}

// Error names the key and its algorithm and the commands that replace it.
func (e *LastKeyError) Error() string {
	if e.NextKID != "" {
		return fmt.Sprintf("key %s is the only %s key that can sign until key %s starts signing at %s; "+
			"withdraw %s after that, or run idp keys rotate --alg %s --delay 0 for a key that signs at once",
			e.KID, e.Algorithm, e.NextKID, e.NextStart.UTC().Format(time.RFC3339), e.KID, e.Algorithm)
	}
	return fmt.Sprintf("key %s is the only %s key that can sign, and ID tokens for clients using %s would fail; "+
		"run idp keys rotate --alg %s first (--delay 0 makes the new key sign at once), "+
		"then withdraw %s after the new key is current (see idp keys list)",
		e.KID, e.Algorithm, e.Algorithm, e.Algorithm, e.KID)
}

// Withdraw removes a key from the JWKS document and from signing at
// once. ID tokens it signed stop verifying at relying parties that
// re-fetch the JWKS. It returns a *LastKeyError, and withdraws nothing,
// when no other key of the same algorithm may sign now.
//
// NOTE: the check and the withdrawal are two statements, so two
// withdrawals of different keys of one algorithm at the same moment can
// still leave it without a key.
func (ks *KeySet) Withdraw(ctx context.Context, kid string) error {
	keys, err := ks.Store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	if err := ks.checkWithdraw(keys, kid); err != nil {
		return err
	}
	if err := ks.Store.WithdrawSigningKey(ctx, kid); err != nil {
		return err
	}
	ks.mu.Lock()
	delete(ks.private, kid)
	ks.mu.Unlock()
	return nil
}

// checkWithdraw returns a *LastKeyError when kid may sign now and no
// other key of its algorithm in keys, the keys not withdrawn, may. A
// kid missing from keys passes, so the store decides whether it exists.
func (ks *KeySet) checkWithdraw(keys []storage.SigningKey, kid string) error {
	now := ks.Now()
	i := slices.IndexFunc(keys, func(k storage.SigningKey) bool { return k.KID == kid })
	if i < 0 || keys[i].NotBefore.After(now) {
		return nil
	}
	alg := keys[i].Algorithm

	last := &LastKeyError{KID: kid, Algorithm: alg}
	for _, k := range keys {
		if k.KID == kid || k.Algorithm != alg {
			continue
		}
		if !k.NotBefore.After(now) {
			return nil
		}
		if last.NextKID == "" || k.NotBefore.Before(last.NextStart) {
			last.NextKID, last.NextStart = k.KID, k.NotBefore
		}
	}
	return last
}

// List describes every stored key, newest first.
func (ks *KeySet) List(ctx context.Context) ([]KeyInfo, error) {
	all, err := ks.Store.AllSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return ks.describe(all), nil
}

// describe assigns each key its state. Keys come newest NotBefore
// first. Per algorithm, a key is current when it is the newest one
// whose NotBefore has passed, and the key it replaced stays published
// until everything it signed has expired.
func (ks *KeySet) describe(keys []storage.SigningKey) []KeyInfo {
	now := ks.Now()
	var out []KeyInfo
	// successorStart is, per algorithm, the NotBefore of the newer key
	// that replaced the one being looked at.
	successors := map[string]time.Time{}
	for _, k := range keys {
		successorStart := successors[k.Algorithm]
		info := KeyInfo{KID: k.KID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt, NotBefore: k.NotBefore}
		switch {
		case k.Withdrawn:
			info.State = KeyWithdrawn
		case k.NotBefore.After(now):
			info.State = KeyNext
		case successorStart.IsZero():
			info.State = KeyCurrent
			successors[k.Algorithm] = k.NotBefore
		default:
			info.PublishedUntil = successorStart.Add(ks.IDTokenLifetime + ks.ClockSkew)
			info.State = KeyRetiring
			if !now.Before(info.PublishedUntil) {
				info.State = KeyRetired
			}
			successors[k.Algorithm] = k.NotBefore
		}
		out = append(out, info)
	}
	return out
}

// Published returns the public keys relying parties should accept:
// next, current and retiring keys.
func (ks *KeySet) Published(ctx context.Context) (jose.JSONWebKeySet, error) {
	keys, err := ks.Store.SigningKeys(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("load signing keys: %w", err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for i, info := range ks.describe(keys) {
		if info.State == KeyRetired || info.State == KeyWithdrawn {
			continue
		}
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(keys[i].PublicJWK), &jwk); err != nil {
			return jose.JSONWebKeySet{}, fmt.Errorf("decode public key %q: %w", keys[i].KID, err)
		}
		set.Keys = append(set.Keys, jwk)
	}
	return set, nil
}

// errNoSigningKey means no stored key of an algorithm may sign yet.
var errNoSigningKey = errors.New("no signing key is active")

// Current returns the key that signs new ID tokens for alg.
func (ks *KeySet) Current(ctx context.Context, alg string) (kid string, signer crypto.Signer, err error) {
	keys, err := ks.Store.SigningKeys(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("load signing keys: %w", err)
	}
	now := ks.Now()
	for i := range keys {
		k := &keys[i]
		if k.Algorithm != alg || k.NotBefore.After(now) {
			continue
		}
		signer, err := ks.open(k)
		if err != nil {
			return "", nil, err
		}
		return k.KID, signer, nil
	}
	// A running serve creates missing keys only when it starts, and a
	// key made by keys rotate signs once its delay has passed.
	return "", nil, fmt.Errorf("%s: %w; run idp keys rotate --alg %s --delay 0 to create a key that signs at once, "+
		"or restart idp serve, which creates a key for an algorithm that has none; "+
		"if idp keys list shows a %s key that should sign, check the server clock",
		alg, errNoSigningKey, alg, alg)
}

// open decrypts a stored private key, caching the result by kid.
func (ks *KeySet) open(k *storage.SigningKey) (crypto.Signer, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if s, ok := ks.private[k.KID]; ok {
		return s, nil
	}

	var sealingKey []byte
	for _, sk := range ks.Secrets {
		if sk.Version == k.SecretVersion {
			sealingKey = sk.KeyEncryption
		}
	}
	if sealingKey == nil {
		return nil, fmt.Errorf("signing key %q is sealed with system secret version %s, which is not configured; add that secret as a previous secret", k.KID, k.SecretVersion)
	}
	der, err := unseal(sealingKey, k.PrivateSealed, []byte(k.KID))
	if err != nil {
		return nil, fmt.Errorf("open signing key %q: %w", k.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %q: %w", k.KID, err)
	}
	signer, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %q has unsupported type %T", k.KID, parsed)
	}
	if ks.private == nil {
		ks.private = make(map[string]crypto.Signer)
	}
	ks.private[k.KID] = signer
	return signer, nil
}

// seal encrypts plaintext with AES-256-GCM; the kid is bound as
// additional data so a sealed key cannot be moved to another row.
func seal(key, plaintext, additional []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, additional), nil
}

func unseal(key, sealed, additional []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed key is truncated")
	}
	nonce, box := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, box, additional)
	if err != nil {
		return nil, errors.New("decryption failed: the system secret does not match the one the key was sealed with")
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("key encryption: %w", err)
	}
	return cipher.NewGCM(block)
}
