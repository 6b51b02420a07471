package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"strconv"
	"strings"

	"skiff.dev/skiff/pkg/errs"
)

// LabelsJSONEnv is Istio's way to give a proxy its labels without the downward API file (gateways).
const LabelsJSONEnv = "ISTIO_METAJSON_LABELS"

// podLabels reads the pod's labels, which the controller matches workload selectors against: the
// downward API file the injector mounts (key="value" lines) merged with ISTIO_METAJSON_LABELS. A
// missing file is not an error; a malformed one is.
func podLabels(file, labelsJSON string) (map[string]string, error) {
	labels := map[string]string{}
	if file != "" {
		raw, err := os.ReadFile(file)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, errs.BadInput("pod labels: %v", err)
		default:
			for i, line := range strings.Split(string(raw), "\n") {
				if strings.TrimSpace(line) == "" {
					continue
				}
				k, quoted, ok := strings.Cut(line, "=")
				v, err := strconv.Unquote(quoted)
				if !ok || err != nil {
					return nil, errs.BadInput("%s:%d: want key=\"value\"", file, i+1)
				}
				labels[k] = v
			}
		}
	}
	if strings.TrimSpace(labelsJSON) != "" {
		var extra map[string]string
		if err := json.Unmarshal([]byte(labelsJSON), &extra); err != nil {
			return nil, errs.BadInput("env %s: %v", LabelsJSONEnv, err)
		}
		maps.Copy(labels, extra)
	}
	return labels, nil
}
