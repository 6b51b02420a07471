package fastyaml

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// scalar builds a scalar with yaml.v3's tag resolution for the unambiguous cases and declines
// otherwise.
func scalar[T any](b builder[T], s string, line, col int) (T, bool) {
	tag, value, style, ok := resolveScalar(s)
	if !ok {
		var zero T
		return zero, false
	}
	return b.scalar(tag, value, style, line, col)
}

func resolveScalar(s string) (tag, value string, style yaml.Style, ok bool) {
	switch s[0] {
	case '"':
		if closingQuote(s) != len(s)-1 {
			return "", "", 0, false
		}
		body, ok := unescape(s[1 : len(s)-1])
		return "!!str", body, yaml.DoubleQuotedStyle, ok
	case '\'':
		if closingQuote(s) != len(s)-1 {
			return "", "", 0, false
		}
		return "!!str", strings.ReplaceAll(s[1:len(s)-1], "''", "'"), yaml.SingleQuotedStyle, true
	case '&', '*', '!', '|', '>', '%', '@', '`', '{', '[', ']', '}', ',', '#', '?', '-', ':':
		if !(s[0] == '-' && len(s) > 1 && s[1] != ' ') {
			return "", "", 0, false
		}
	}
	if strings.Contains(s, ": ") || strings.HasSuffix(s, ":") || strings.Contains(s, " #") {
		return "", "", 0, false
	}
	switch s {
	case "~", "null", "Null", "NULL":
		return "!!null", s, 0, true
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool", s, 0, true
	case "<<":
		return "", "", 0, false
	}
	c := s[0]
	if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' {
		switch {
		case isPlainInt(s):
			return "!!int", s, 0, true
		case isPlainFloat(s):
			return "!!float", s, 0, true
		case strings.Trim(s, "0123456789abcdefABCDEFxXoO_+-.:") == "" || strings.ContainsAny(s, " tTzZ") ||
			strings.HasPrefix(strings.TrimLeft(s, "+-"), "."):
			return "", "", 0, false // hex, octal, sexagesimal, timestamps: yaml.v3 decides
		}
	}
	return "!!str", s, 0, true
}

// unescape resolves the \" and \\ escapes of a double-quoted scalar (embedded JSON has plenty); other
// escapes differ between YAML and JSON in corner cases, so they go to yaml.v3.
func unescape(s string) (string, bool) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			if i == len(s) || (s[i] != '"' && s[i] != '\\') {
				return "", false
			}
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

// isPlainInt matches [-+]?(0|[1-9][0-9]{0,17}): decimal integers that fit int64 without leading zeros.
func isPlainInt(s string) bool {
	s = strings.TrimLeft(s[:1], "+-") + s[1:]
	if s == "" || len(s) > 18 || s[0] == '0' && len(s) > 1 {
		return false
	}
	return digits(s) == len(s)
}

// isPlainFloat matches [-+]?(\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?.
func isPlainFloat(s string) bool {
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	whole := digits(s)
	s = s[whole:]
	if s == "" || s[0] != '.' {
		return false
	}
	s = s[1:]
	frac := digits(s)
	if whole == 0 && frac == 0 {
		return false
	}
	s = s[frac:]
	if s == "" {
		return true
	}
	if s[0] != 'e' && s[0] != 'E' {
		return false
	}
	s = s[1:]
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return s != "" && digits(s) == len(s)
}

func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
