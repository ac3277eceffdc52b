package storage

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// StringList is a list of strings stored as a JSON array in one text
// column.
type StringList []string

// Value encodes the list as a JSON array; a nil list is stored as "[]".
func (l StringList) Value() (driver.Value, error) {
	return l.encoded(), nil
}

// encoded returns the list as stored: a JSON array.
func (l StringList) encoded() string {
	if l == nil {
		return "[]"
	}
	b, err := json.Marshal([]string(l))
	if err != nil {
		// Marshaling a []string cannot fail.
		panic(err)
	}
	return string(b)
}

// Scan decodes a JSON array read from the database.
func (l *StringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("scan string list: unsupported type %T", src)
	}
	return json.Unmarshal(b, (*[]string)(l))
}
