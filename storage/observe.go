package storage

import (
	"time"

	"gorm.io/gorm"
)

// observeStartKey names the statement start time kept on a gorm
// statement between the before and after callbacks.
const observeStartKey = "idp:observe_start"

// registerObserver times every statement gorm runs and reports it to
// observe with the kind of statement: create, query, update, delete,
// row or raw.
func registerObserver(db *gorm.DB, observe func(operation string, d time.Duration)) error {
	before := func(tx *gorm.DB) { tx.InstanceSet(observeStartKey, time.Now()) }
	after := func(operation string) func(*gorm.DB) {
		return func(tx *gorm.DB) {
			if v, ok := tx.InstanceGet(observeStartKey); ok {
				if start, ok := v.(time.Time); ok {
					observe(operation, time.Since(start))
				}
			}
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().Before("gorm:create").Register("idp:observe_before_create", before),
		cb.Create().After("gorm:create").Register("idp:observe_after_create", after("create")),
		cb.Query().Before("gorm:query").Register("idp:observe_before_query", before),
		cb.Query().After("gorm:query").Register("idp:observe_after_query", after("query")),
		cb.Update().Before("gorm:update").Register("idp:observe_before_update", before),
		cb.Update().After("gorm:update").Register("idp:observe_after_update", after("update")),
		cb.Delete().Before("gorm:delete").Register("idp:observe_before_delete", before),
		cb.Delete().After("gorm:delete").Register("idp:observe_after_delete", after("delete")),
		cb.Row().Before("gorm:row").Register("idp:observe_before_row", before),
		cb.Row().After("gorm:row").Register("idp:observe_after_row", after("row")),
		cb.Raw().Before("gorm:raw").Register("idp:observe_before_raw", before),
		cb.Raw().After("gorm:raw").Register("idp:observe_after_raw", after("raw")),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
