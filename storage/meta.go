package storage

import (
	"context"
	"fmt"

	"gorm.io/gorm/clause"
)

// Setting is a named value that belongs to the database rather than to
// one process, such as the marker of a development seed.
type Setting struct {
	Name  string `gorm:"primaryKey;size:100"`
	Value string `gorm:"type:text;not null"`
}

// Setting names.
const (
	// SettingDevSeed marks a database seeded by --dev; serve without
	// --dev rejects such a database.
	SettingDevSeed = "dev_seed"
	// SettingDevSecret is the system secret --dev generated for this
	// database.
	SettingDevSecret = "dev_system_secret"
	// SettingDevClientSecret is the demo client's secret, kept so the
	// dev-only callback page can redeem codes.
	SettingDevClientSecret = "dev_client_secret"
	// SettingDevClientID is the demo client's id.
	SettingDevClientID = "dev_client_id"
	// SettingDevUserPassword is the demo user's password, kept so every
	// --dev start can print it.
	SettingDevUserPassword = "dev_user_password"
)

// Setting loads a setting; a missing one is ErrNotFound.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var st Setting
	if err := s.conn(ctx).Where("name = ?", name).Take(&st).Error; err != nil {
		return "", fmt.Errorf("setting %q: %w", name, notFound(err))
	}
	return st.Value, nil
}

// SetSetting creates or replaces a setting.
func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	return s.conn(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"value"}),
	}).Create(&Setting{Name: name, Value: value}).Error
}
