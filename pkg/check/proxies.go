package check

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"skiff.dev/skiff/pkg/proxystatus"
	"skiff.dev/skiff/pkg/xds"
)

const (
	groupProxies      = "skiff-proxies"
	nameProxiesSynced = "skiff-proxies-synced"
)

func (in *inspector) proxiesSynced(ctx context.Context) Result {
	var unread []string
	doc, err := proxystatus.ReadAll(ctx, in.c, in.ns, io.Discard, func(err error) { unread = append(unread, firstLine(err)) })
	if err != nil {
		hint := "the controller must be running and ready (" + nameControllerReady + ")"
		switch {
		case strings.Contains(err.Error(), "forbidden"):
			hint = "skiff check needs permission to create pods/portforward in namespace " + in.ns
		case strings.Contains(err.Error(), "does not serve"):
			hint = "the controller may be an older release without " + xds.SynczPath + " (" + nameVersionSkew + ")"
		}
		return result(groupProxies, nameProxiesSynced, StatusError, "reading the controller's "+xds.SynczPath+": "+firstLine(err), hint)
	}
	if len(unread) > 0 {
		// The proxies of an unreadable replica are unknown, so the mesh cannot be called synced.
		return result(groupProxies, nameProxiesSynced, StatusError, "could not read "+xds.SynczPath+" from every controller replica: "+strings.Join(unread, "; "),
			"each replica knows only its own proxies; make every istiod pod reachable ("+nameControllerReady+")")
	}
	return proxiesSynced(doc.Proxies)
}

// proxiesSynced fails on STALE proxies (they did not acknowledge the newest configuration, or rejected it)
// and warns on proxies waiting for a type they asked for (NOT SENT); a type never asked for is fine.
func proxiesSynced(proxies []xds.ProxySync) Result {
	if len(proxies) == 0 {
		return result(groupProxies, nameProxiesSynced, StatusOK, "no proxies connected", "")
	}
	var stale, waiting []string
	for _, p := range proxies {
		if t := typesWhere(p, func(t string) bool { return p.Sync[t] == xds.Stale }); t != "" {
			stale = append(stale, p.ID+" ("+t+")")
		} else if t := typesWhere(p, p.Waiting); t != "" {
			waiting = append(waiting, p.ID+" ("+t+")")
		}
	}
	hint := "run 'skiff proxy-status <proxy>' for the NACK's error, or read the controller's " + xds.SynczPath +
		" and /debug/config_dump?proxy=<id> (port 15014) and the proxy's logs; restarting the pod reconnects it"
	switch {
	case len(stale) > 0:
		return result(groupProxies, nameProxiesSynced, StatusError, fmt.Sprintf("%d of %s STALE: %s", len(stale), count(len(proxies), "proxy is", "proxies are"), list(stale)), hint)
	case len(waiting) > 0:
		return result(groupProxies, nameProxiesSynced, StatusWarning, fmt.Sprintf("%d of %s xDS types NOT SENT: %s", len(waiting), count(len(proxies), "proxy has", "proxies have"), list(waiting)), hint)
	}
	return result(groupProxies, nameProxiesSynced, StatusOK, fmt.Sprintf("all %s SYNCED", count(len(proxies), "proxy is", "proxies are")), "")
}

// typesWhere lists, sorted, the xDS types of p that match.
func typesWhere(p xds.ProxySync, match func(string) bool) string {
	var ts []string
	for t := range p.Sync {
		if match(t) {
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
