// Package configs holds belay's example configuration files. The guarded
// one is also compiled into the binary: `belay lint` checks SQL against its
// policy when no --config is given, so lint and a default deployment agree.
package configs

import _ "embed"

// Guarded is the text of configs/belay.yaml, the guarded default.
//
//go:embed belay.yaml
var Guarded []byte
