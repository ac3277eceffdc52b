package main

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/idp/idp/scopes"
)

// secretKeys are YAML keys people may try for values that idp reads
// only from files or the environment, mapped to the setting to use.
var secretKeys = map[string]string{
	"system_secret": "system_secret_file, or the environment variable IDP_SYSTEM_SECRET",
	"admin_token":   "admin_token_file, or the environment variable IDP_ADMIN_TOKEN",
}

// loadFile applies the settings of a YAML file: a mapping from the keys
// of settings to values, a sequence for list settings, and a scopes
// list. An unknown or repeated key is an error that names it and its
// line.
//
// The file is walked as a yaml.Node instead of decoded into a struct
// with Decoder.KnownFields. So its values go through the same parsers as
// flags and environment variables, and errors name the YAML key and line
// instead of a Go type.
func (c *Config) loadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config file %s line %d: the top level must be a mapping of setting names to values",
			path, root.Line)
	}

	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		keyNode, valueNode := root.Content[i], root.Content[i+1]
		key := keyNode.Value
		if seen[key] {
			return fmt.Errorf("config file %s line %d: %s is set twice", path, keyNode.Line, key)
		}
		seen[key] = true

		if err := c.applyFileValue(key, valueNode); err != nil {
			return fmt.Errorf("config file %s line %d: %w", path, keyNode.Line, err)
		}
	}
	return nil
}

// applyFileValue applies the value of one top-level key.
func (c *Config) applyFileValue(key string, node *yaml.Node) error {
	if key == "scopes" {
		list, err := decodeScopes(node)
		if err != nil {
			return err
		}
		c.Scopes = list
		return nil
	}

	s, ok := settingByKey(key)
	if !ok {
		if use, secret := secretKeys[key]; secret {
			return fmt.Errorf("%s cannot be set in the config file; use %s", key, use)
		}
		return fmt.Errorf("unknown setting %q%s", key, suggestKey(key))
	}

	values, err := scalarValues(key, node, s.list)
	if err != nil {
		return err
	}
	if values == nil {
		return nil // "key:" with no value keeps the default
	}
	v := s.bind(c)
	for _, value := range values {
		if err := v.Set(value); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	c.origins[s.flag] = fmt.Sprintf("config file %s line %d", c.ConfigFile, node.Line)
	return nil
}

// scalarValues returns the strings of a scalar node, or of a sequence of
// scalars when list is true. A null value returns nil.
func scalarValues(key string, node *yaml.Node, list bool) ([]string, error) {
	switch {
	case node.Kind == yaml.ScalarNode && node.Tag == "!!null":
		return nil, nil
	case node.Kind == yaml.ScalarNode:
		return []string{node.Value}, nil
	case node.Kind == yaml.SequenceNode && list:
		values := []string{}
		for _, item := range node.Content {
			if item.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s: line %d: each item must be a single value", key, item.Line)
			}
			values = append(values, item.Value)
		}
		return values, nil
	case list:
		return nil, fmt.Errorf("%s: want a list of values", key)
	default:
		return nil, fmt.Errorf("%s: want a single value, not a list or mapping", key)
	}
}

// decodeScopes reads the scopes list: a sequence of mappings with the
// keys name and description.
func decodeScopes(node *yaml.Node) ([]scopes.Scope, error) {
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil, nil
	}
	if node.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("scopes: want a list of {name, description} entries")
	}

	var list []scopes.Scope
	for _, item := range node.Content {
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("scopes: line %d: want an entry with name and description", item.Line)
		}
		var sc scopes.Scope
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if k.Value != "name" && k.Value != "description" {
				return nil, fmt.Errorf("scopes: line %d: unknown key %q; a scope has only name and description",
					k.Line, k.Value)
			}
			if v.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("scopes: line %d: %s must be a string", v.Line, k.Value)
			}
			if k.Value == "name" {
				sc.Name = v.Value
			} else {
				sc.Description = v.Value
			}
		}
		if sc.Name == "" {
			return nil, fmt.Errorf("scopes: line %d: the name is missing", item.Line)
		}
		list = append(list, sc)
	}
	return list, nil
}

// suggestKey returns "; did you mean KEY?" for the known key closest to
// key in edit distance, or "" when none is close.
func suggestKey(key string) string {
	best, bestDistance := "", 4
	for _, s := range settings {
		if s.key == "" {
			continue
		}
		if d := editDistance(strings.ToLower(key), s.key); d < bestDistance {
			best, bestDistance = s.key, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance returns the Levenshtein distance between a and b, in
// bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
