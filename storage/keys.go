package storage

import (
	"context"
	"fmt"
	"time"
)

// SigningKey is a key that signs ID tokens. The private part is
// encrypted with a key derived from the system secret.
type SigningKey struct {
	KID       string `gorm:"primaryKey;size:64"`
	Algorithm string `gorm:"size:10;not null"`
	// PublicJWK is the public key as a JSON Web Key.
	PublicJWK string `gorm:"type:text;not null"`
	// PrivateSealed is the AES-GCM nonce followed by the sealed PKCS #8
	// private key.
	PrivateSealed []byte `gorm:"not null"`
	// SecretVersion names the system secret the private key is sealed with.
	SecretVersion string `gorm:"size:64;not null"`
	CreatedAt     time.Time
	// NotBefore is when the key starts signing; it is published from
	// CreatedAt on.
	NotBefore time.Time `gorm:"index"`
	// Withdrawn reports whether an admin removed the key at once.
	Withdrawn bool
}

// CreateSigningKey stores a new key. Its times are stored in UTC
// because SQLite orders times by their text.
func (s *Store) CreateSigningKey(ctx context.Context, k *SigningKey) error {
	k.CreatedAt = k.CreatedAt.UTC()
	k.NotBefore = k.NotBefore.UTC()
	return s.conn(ctx).Create(k).Error
}

// SigningKeys returns every key not withdrawn, newest NotBefore first.
func (s *Store) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	var keys []SigningKey
	err := s.conn(ctx).Where("withdrawn = ?", false).
		Order("not_before DESC, created_at DESC").Find(&keys).Error
	return keys, err
}

// AllSigningKeys returns every key including withdrawn ones.
func (s *Store) AllSigningKeys(ctx context.Context) ([]SigningKey, error) {
	var keys []SigningKey
	err := s.conn(ctx).Order("not_before DESC, created_at DESC").Find(&keys).Error
	return keys, err
}

// WithdrawSigningKey stops publishing and using a key at once; a
// missing one is ErrNotFound.
func (s *Store) WithdrawSigningKey(ctx context.Context, kid string) error {
	// gorm's naming strategy maps the field KID to the column k_id.
	res := s.conn(ctx).Model(&SigningKey{}).Where("k_id = ?", kid).Update("withdrawn", true)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("signing key %q: %w", kid, ErrNotFound)
	}
	return nil
}
