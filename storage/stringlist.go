package storage

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
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
		// encoding/json fails only on unsupported types and values,
		// and a []string contains neither.
		panic(err)
	}
	return string(b)
}

// Scan decodes a JSON array read from the database.
func (l *StringList) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case string:
		text = v
	case []byte:
		// The driver may reuse b after Scan returns, so copy it.
		text = string(v)
	default:
		return fmt.Errorf("scan string list: unsupported type %T", src)
	}
	if list, ok := parsePlainArray(text); ok {
		*l = list
		return nil
	}
	return json.Unmarshal([]byte(text), (*[]string)(l))
}

// parsePlainArray decodes a JSON array of strings that contains no
// whitespace and no escape sequences, the form Value writes for ordinary
// values, in a fraction of json.Unmarshal's time. It reports false for
// anything else, which json.Unmarshal then decodes or rejects. Like
// json.Unmarshal, it returns an empty, non-nil list for "[]".
func parsePlainArray(text string) ([]string, bool) {
	if len(text) < 2 || text[0] != '[' || text[len(text)-1] != ']' {
		return nil, false
	}
	rest := text[1 : len(text)-1]
	if rest == "" {
		return []string{}, true
	}
	list := make([]string, 0, strings.Count(rest, ",")+1)
	for {
		if len(rest) < 2 || rest[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(rest[1:], '"') + 1
		if end == 0 {
			return nil, false
		}
		item := rest[1:end]
		if !isPlainJSONString(item) {
			return nil, false
		}
		list = append(list, item)
		rest = rest[end+1:]
		if rest == "" {
			return list, true
		}
		if rest[0] != ',' {
			return nil, false
		}
		rest = rest[1:]
	}
}

// isPlainJSONString reports whether s, the text between two quotes, is a
// valid JSON string without decoding: valid UTF-8 with no backslash and no
// control character.
func isPlainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] < 0x20 {
			return false
		}
	}
	return utf8.ValidString(s)
}
