package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, parses and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(bytes.NewReader(data), path)
}

// Parse decodes a YAML document over Default and validates it. name is used
// in error messages. Unknown keys are errors.
func Parse(r io.Reader, name string) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Errors{File: name, List: []FieldError{yamlError(err)}}
	}
	cfg := Default()
	cfg.Source = name
	if len(root.Content) == 0 { // empty file: all defaults
		return cfg, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			list := make([]FieldError, 0, len(te.Errors))
			for _, msg := range te.Errors {
				list = append(list, locate(&root, yamlErrorText(msg)))
			}
			return nil, &Errors{File: name, List: list}
		}
		return nil, &Errors{File: name, List: []FieldError{locate(&root, yamlError(err))}}
	}
	if err := cfg.validate(&root); err != nil {
		return nil, err
	}
	cfg.root = &root
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)(?:, column (\d+))?: (.*)`)

// yamlError turns the yaml library's "line N: msg" text into a FieldError.
func yamlError(err error) FieldError {
	return yamlErrorText(err.Error())
}

func yamlErrorText(msg string) FieldError {
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return FieldError{Message: msg}
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	return FieldError{Line: line, Column: col, Message: m[3]}
}

var notFound = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

// locate completes a decoding error with the dotted path and position of
// the key it is about. The yaml library gives only a line ("line 4: field
// sslmod not found in type config.Upstream", "line 2: cannot unmarshal
// !!str `abc` into int"), or a line and column of the value (ByteSize); the
// key is found in the document tree.
func locate(root *yaml.Node, fe FieldError) FieldError {
	if fe.Line == 0 {
		return fe
	}
	unknown := ""
	if m := notFound.FindStringSubmatch(fe.Message); m != nil {
		unknown = m[1]
		fe.Message = "unknown key"
	}
	collection := strings.Contains(fe.Message, "!!map") || strings.Contains(fe.Message, "!!seq")
	match := func(k, v *yaml.Node) bool {
		if unknown != "" {
			return k.Value == unknown && k.Line == fe.Line
		}
		if fe.Column > 0 {
			return (k.Line == fe.Line && k.Column == fe.Column) || (v.Line == fe.Line && v.Column == fe.Column)
		}
		if collection { // the error is about a mapping or sequence value
			return v.Line == fe.Line && (v.Kind == yaml.MappingNode || v.Kind == yaml.SequenceNode)
		}
		return k.Line == fe.Line || (v.Kind == yaml.ScalarNode && v.Line == fe.Line)
	}
	// The deepest matching key wins: in "limits: {max_connections: x}"
	// the error is about max_connections, not limits.
	var walk func(n *yaml.Node, prefix string) bool
	walk = func(n *yaml.Node, prefix string) bool {
		if n.Kind != yaml.MappingNode {
			for i, c := range n.Content {
				p := prefix
				if n.Kind == yaml.SequenceNode { // policy.profiles[1].match
					p += "[" + strconv.Itoa(i) + "]"
				}
				if walk(c, p) {
					return true
				}
			}
			return false
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			if walk(v, path) {
				return true
			}
			if match(k, v) {
				fe.Field, fe.Line, fe.Column = path, k.Line, k.Column
				return true
			}
		}
		return false
	}
	walk(root, "")
	return fe
}
