package check

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

const (
	groupProxies      = "skiff-proxies"
	nameProxiesSynced = "skiff-proxies-synced"
	debugProxiesPath  = "/debug/proxies"
)

// Sync states, as `istioctl proxy-status` names them.
const (
	syncSynced  = "SYNCED"
	syncStale   = "STALE"
	syncNotSent = "NOT SENT"
)

// proxyState is one connected proxy and the sync state of each xDS type the controller reports for it.
type proxyState struct {
	id    string
	types map[string]string // "clusters" -> "SYNCED"
}

func (in *inspector) proxiesSynced(ctx context.Context) Result {
	body, err := in.getMonitoring(ctx, debugProxiesPath)
	if err != nil {
		hint := "the controller must be running and ready (" + nameControllerReady + ")"
		if strings.Contains(err.Error(), "forbidden") {
			hint = "skiff check needs permission to create pods/portforward in namespace " + in.ns
		}
		return result(groupProxies, nameProxiesSynced, StatusError, "reading the controller's "+debugProxiesPath+": "+firstLine(err), hint)
	}
	proxies, err := parseProxies(body)
	if err != nil {
		return result(groupProxies, nameProxiesSynced, StatusError, "the controller's "+debugProxiesPath+": "+err.Error(),
			"the client and controller may be different releases ("+nameVersionSkew+")")
	}
	return proxiesSynced(proxies)
}

// parseProxies reads {"proxies": [...]}, where each proxy is its node ID or an object with an "id" and its
// per-type sync state, either as top-level fields or under "sync" ({"id": "...", "sync": {"clusters": "SYNCED"}}).
func parseProxies(body []byte) ([]proxyState, error) {
	var doc struct {
		Proxies []json.RawMessage `json:"proxies"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not the JSON document expected: %v", err)
	}
	out := make([]proxyState, 0, len(doc.Proxies))
	for i, raw := range doc.Proxies {
		var id string
		if json.Unmarshal(raw, &id) == nil {
			out = append(out, proxyState{id: id})
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("proxy %d is neither a node ID nor an object", i+1)
		}
		p := proxyState{types: map[string]string{}}
		for _, k := range []string{"id", "proxy", "node", "nodeID"} {
			if s, ok := fields[k].(string); ok && s != "" {
				p.id = s
				break
			}
		}
		if p.id == "" {
			return nil, fmt.Errorf("proxy %d has no id", i+1)
		}
		collectStates(fields, p.types)
		out = append(out, p)
	}
	return out, nil
}

// collectStates picks every string field whose value is a sync state, one level of nesting deep.
func collectStates(fields map[string]any, into map[string]string) {
	for k, v := range fields {
		switch v := v.(type) {
		case string:
			if s := syncState(v); s != "" {
				into[k] = s
			}
		case map[string]any:
			for k2, v2 := range v {
				if s, ok := v2.(string); ok && syncState(s) != "" {
					into[k2] = syncState(s)
				}
			}
		}
	}
}

func syncState(s string) string {
	switch strings.ReplaceAll(strings.ToUpper(strings.TrimSpace(s)), "_", " ") {
	case syncSynced:
		return syncSynced
	case syncStale:
		return syncStale
	case syncNotSent:
		return syncNotSent
	}
	return ""
}

// proxiesSynced fails on STALE proxies (they did not acknowledge the newest configuration) and warns on
// NOT SENT ones (the controller has not pushed them a type yet).
func proxiesSynced(proxies []proxyState) Result {
	if len(proxies) == 0 {
		return result(groupProxies, nameProxiesSynced, StatusOK, "no proxies connected", "")
	}
	var stale, notSent []string
	reported := 0
	for _, p := range proxies {
		if len(p.types) > 0 {
			reported++
		}
		if t := typesIn(p, syncStale); t != "" {
			stale = append(stale, p.id+" ("+t+")")
		} else if t := typesIn(p, syncNotSent); t != "" {
			notSent = append(notSent, p.id+" ("+t+")")
		}
	}
	hint := "look at the controller's " + debugProxiesPath + " (port 15014) and the proxy's logs; restarting the pod reconnects it"
	switch {
	case len(stale) > 0:
		return result(groupProxies, nameProxiesSynced, StatusError, fmt.Sprintf("%d of %s STALE: %s", len(stale), count(len(proxies), "proxy is", "proxies are"), list(stale)), hint)
	case len(notSent) > 0:
		return result(groupProxies, nameProxiesSynced, StatusWarning, fmt.Sprintf("%d of %s xDS types NOT SENT: %s", len(notSent), count(len(proxies), "proxy has", "proxies have"), list(notSent)), hint)
	case reported == 0:
		return result(groupProxies, nameProxiesSynced, StatusOK, count(len(proxies), "proxy", "proxies")+" connected (the controller reports no per-type sync state)", "")
	}
	return result(groupProxies, nameProxiesSynced, StatusOK, fmt.Sprintf("all %s SYNCED", count(len(proxies), "proxy is", "proxies are")), "")
}

// typesIn lists, sorted, the xDS types of p in state.
func typesIn(p proxyState, state string) string {
	var ts []string
	for t, s := range p.types {
		if s == state {
			ts = append(ts, t)
		}
	}
	sort.Strings(ts)
	return strings.Join(ts, ", ")
}

// list shows up to five items, so one line stays readable with many proxies.
func list(items []string) string {
	sort.Strings(items)
	if len(items) > 5 {
		return strings.Join(items[:5], "; ") + fmt.Sprintf("; and %d more", len(items)-5)
	}
	return strings.Join(items, "; ")
}
