package storage

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStringListScan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  any
		want StringList
	}{
		{"empty", "[]", StringList{}},
		{"one", `["openid"]`, StringList{"openid"}},
		{"several", `["openid","profile","offline_access"]`, StringList{"openid", "profile", "offline_access"}},
		{"empty items", `["",""]`, StringList{"", ""}},
		{"comma inside", `["a,b","c"]`, StringList{"a,b", "c"}},
		{"non-ASCII", `["é","日本"]`, StringList{"é", "日本"}},
		{"escaped quote", `["a\"b"]`, StringList{`a"b`}},
		{"escaped HTML", `["\u003cx\u003e"]`, StringList{"<x>"}},
		{"whitespace", `[ "a" , "b" ]`, StringList{"a", "b"}},
		{"bytes", []byte(`["https://app.example.com/cb"]`), StringList{"https://app.example.com/cb"}},
		{"null", "null", nil},
		{"nil", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got StringList
			if err := got.Scan(tc.src); err != nil {
				t.Fatalf("Scan(%v): %v", tc.src, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Scan(%v) (-want +got):\n%s", tc.src, diff)
			}
		})
	}
}

func TestStringListScanInvalid(t *testing.T) {
	t.Parallel()
	for _, src := range []string{`["a",]`, `["a""b"]`, `["a"`, `[a]`, `{}`, `["a` + "\n" + `"]`, ``} {
		var got StringList
		if err := got.Scan(src); err == nil {
			t.Errorf("Scan(%q) = %q, want an error", src, got)
		}
	}
}

func TestStringListRoundTrip(t *testing.T) {
	t.Parallel()
	for _, list := range []StringList{nil, {}, {"a"}, {`"quoted"`, `back\slash`, "<tag>", "tab\there", "é"}} {
		value, err := list.Value()
		if err != nil {
			t.Fatalf("Value(%q): %v", list, err)
		}
		var got StringList
		if err := got.Scan(value); err != nil {
			t.Fatalf("Scan(%q): %v", value, err)
		}
		want := list
		if want == nil {
			want = StringList{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip of %q (-want +got):\n%s", list, diff)
		}
	}
}

// FuzzStringListScan checks that the fast path of Scan agrees with
// json.Unmarshal on every input it accepts.
func FuzzStringListScan(f *testing.F) {
	for _, seed := range []string{`[]`, `["a","b"]`, `["a\"b"]`, `[""]`, `["a",]`, "[\"\xff\"]"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fast, ok := parsePlainArray(text)
		if !ok {
			return
		}
		var want []string
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			t.Fatalf("parsePlainArray(%q) accepted what json.Unmarshal rejects: %v", text, err)
		}
		if diff := cmp.Diff(want, fast); diff != "" {
			t.Errorf("parsePlainArray(%q) (-json.Unmarshal +fast):\n%s", text, diff)
		}
	})
}
