package analyze

import (
	"fmt"
	"strings"
)

// Level is a message's severity, ordered so that a higher value is more severe.
type Level int

const (
	Info Level = iota
	Warning
	Error
)

func (l Level) String() string {
	switch l {
	case Error:
		return "Error"
	case Warning:
		return "Warning"
	default:
		return "Info"
	}
}

// ParseLevel reads a level name case-insensitively, as istioctl does for its threshold flags.
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(s) {
	case "error":
		return Error, nil
	case "warning", "warn":
		return Warning, nil
	case "info":
		return Info, nil
	}
	return Info, fmt.Errorf("unknown level %q (want Error, Warning or Info)", s)
}

// MarshalText makes levels print as words in JSON and YAML.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }
