package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"

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
		return cfg, cfg.validate(&root)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			list := make([]FieldError, 0, len(te.Errors))
			for _, msg := range te.Errors {
				list = append(list, unknownKey(&root, yamlErrorText(msg)))
			}
			return nil, &Errors{File: name, List: list}
		}
		return nil, &Errors{File: name, List: []FieldError{yamlError(err)}}
	}
	cfg.Source = name
	return cfg, cfg.validate(&root)
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

// unknownKey rewords the yaml library's "field x not found in type
// config.Upstream" and adds the column, found in the document tree.
func unknownKey(root *yaml.Node, fe FieldError) FieldError {
	m := notFound.FindStringSubmatch(fe.Message)
	if m == nil {
		return fe
	}
	fe.Message = fmt.Sprintf("unknown key %q", m[1])
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Value == m[1] && k.Line == fe.Line {
					fe.Column = k.Column
					return true
				}
			}
		}
		for _, c := range n.Content {
			if walk(c) {
				return true
			}
		}
		return false
	}
	walk(root)
	return fe
}
