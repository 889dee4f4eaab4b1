// Copyright 2026 The pier authors.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package serverconfig

import (
	"bytes"
	"encoding/json"

	yamlv3 "go.yaml.in/yaml/v3"
)

// Marshal renders the configuration as YAML, byte for byte the same for the same configuration: fields in the order
// of this package's types (apiVersion and kind first), users in their order, no maps anywhere. The operator relies
// on that to update the Secret only when something changed. Every string is double-quoted, so no YAML reader can
// take a username such as "yes" or "0777" for a boolean or a number.
//
// Marshal neither applies defaults nor validates; call ApplyDefaults and Validate first to render the fully
// resolved file the server expects.
func (c *Config) Marshal() ([]byte, error) {
	// encoding/json writes struct fields in declaration order; yaml.v3 keeps that order through a Node.
	jsonData, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(jsonData, &doc); err != nil {
		return nil, err
	}
	blockStyle(&doc)
	var buf bytes.Buffer
	enc := yamlv3.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// blockStyle turns the JSON-shaped node tree into block-style YAML with plain keys. String values keep the
// double-quoted style they had in JSON.
func blockStyle(n *yamlv3.Node) {
	switch n.Kind {
	case yamlv3.DocumentNode, yamlv3.SequenceNode:
		n.Style = 0
		for _, item := range n.Content {
			blockStyle(item)
		}
	case yamlv3.MappingNode:
		n.Style = 0
		for i := 0; i+1 < len(n.Content); i += 2 {
			n.Content[i].Style = 0
			blockStyle(n.Content[i+1])
		}
	}
}
