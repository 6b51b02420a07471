package analyze

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/ui"
)

// Output formats.
const (
	FormatLog    = "log"
	FormatJSON   = "json"
	FormatYAML   = "yaml"
	FormatSARIF  = "sarif"
	FormatGitHub = "github"
)

// Formats lists the -o values.
func Formats() []string {
	return []string{FormatLog, FormatJSON, FormatYAML, FormatSARIF, FormatGitHub}
}

// jsonMessage is a message in -o json/yaml; the first five fields are istioctl's, the rest Skiff's additions.
type jsonMessage struct {
	Code             string `json:"code"`
	Level            Level  `json:"level"`
	Message          string `json:"message"`
	Origin           string `json:"origin"`
	Reference        string `json:"reference,omitempty"`
	DocumentationURL string `json:"documentationUrl"`
	Name             string `json:"name"`
	File             string `json:"file,omitempty"`
	Line             int    `json:"line,omitempty"`
}

func toJSONMessages(ms []Message) []jsonMessage {
	out := make([]jsonMessage, 0, len(ms))
	for _, m := range ms {
		out = append(out, jsonMessage{
			Code: m.Type.Code, Level: m.Level(), Message: m.Text, Origin: origin(m), Reference: m.Location(),
			DocumentationURL: m.Type.DocPath(), Name: m.Type.Name, File: m.File, Line: m.Line,
		})
	}
	return out
}

// origin names the object ("VirtualService default/reviews"), or the file for documents that are not objects.
func origin(m Message) string {
	if m.Key == (Key{}) {
		return m.File
	}
	return m.Key.String()
}

// write prints messages in format.
func write(w io.Writer, format string, ms []Message) error {
	switch format {
	case FormatJSON:
		b, err := json.MarshalIndent(toJSONMessages(ms), "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	case FormatYAML:
		b, err := yaml.Marshal(toJSONMessages(ms))
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case FormatSARIF:
		return writeSARIF(w, ms)
	case FormatGitHub:
		return writeGitHub(w, ms)
	}
	return writeLog(w, ms)
}

// writeLog prints istioctl's log format: "Error [IST0101] (VirtualService default/reviews vs.yaml:12) text".
func writeLog(w io.Writer, ms []Message) error {
	p := ui.NewPrinter(w)
	for _, m := range ms {
		where := m.Location()
		if m.Key != (Key{}) {
			where = strings.TrimSpace(m.Key.String() + " " + where)
		}
		p.Plain("%s [%s] (%s) %s", p.Severity(m.Level().String()), m.Type.Code, where, m.Text)
	}
	return nil
}

// writeGitHub prints GitHub Actions workflow commands, which annotate the pull request's files.
func writeGitHub(w io.Writer, ms []Message) error {
	for _, m := range ms {
		cmd := map[Level]string{Error: "error", Warning: "warning", Info: "notice"}[m.Level()]
		var props []string
		if m.File != "" && m.File != "-" {
			props = append(props, "file="+escapeGitHubProperty(m.File))
			if m.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", m.Line))
			}
		}
		props = append(props, "title="+escapeGitHubProperty(m.Type.Code+" "+m.Type.Name))
		text := m.Text
		if m.Key != (Key{}) {
			text = "(" + m.Key.String() + ") " + text
		}
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeGitHubData(text)); err != nil {
			return err
		}
	}
	return nil
}

func escapeGitHubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeGitHubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
