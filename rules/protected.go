package rules

import "strings"

// protectedSchemas are belay's own: its records (belay), the before-images
// it keeps (belay_images) and the tables DROP TABLE set aside
// (belay_quarantine). Only belay writes there; clients may not, nor call
// belay's functions, nor point their search_path at them.
var protectedSchemas = map[string]bool{"belay": true, "belay_images": true, "belay_quarantine": true}

func isProtectedSchema(name string) bool { return protectedSchemas[name] }

// isBelaySetting reports whether a setting is belay's own (belay.capture,
// which decides whether writes are captured). belay.expect_rows is the
// operator's: a holding profile reads it.
func isBelaySetting(name string) bool {
	name = strings.ToLower(name)
	return strings.HasPrefix(name, "belay.") && name != "belay.expect_rows"
}
