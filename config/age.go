package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Age is a length of time as people write retention: 30d, 12h, 90m. The
// file and `belay purge --older-than` read it the same way.
type Age time.Duration

// ParseAge reads a duration that may also count whole days (30d).
func ParseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > maxAgeDays {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (30d, 12h, 90m)", s)
	}
	return d, nil
}

// maxAgeDays keeps n days within a time.Duration (about 292 years).
const maxAgeDays = 100000

// FormatAge writes d as ParseAge reads it, in the largest whole unit:
// 720h is 30d, 90m stays 90m.
func FormatAge(d time.Duration) string {
	switch {
	case d == 0:
		return "0d"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

func (a Age) String() string { return FormatAge(time.Duration(a)) }

// UnmarshalYAML implements yaml.Unmarshaler.
func (a *Age) UnmarshalYAML(n *yaml.Node) error {
	d, err := ParseAge(n.Value)
	if err != nil {
		// A *yaml.TypeError lets the decoder go on and report every error.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d, column %d: %v", n.Line, n.Column, err)}}
	}
	*a = Age(d)
	return nil
}
