package proxystatus

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"skiff.dev/skiff/pkg/ui"
	"skiff.dev/skiff/pkg/xds"
)

// printTable is istioctl's layout: one row per proxy, one column per xDS type. Types beyond the four
// (SDS) get a column when some proxy has them.
func printTable(p *ui.Printer, doc *xds.Syncz) {
	if len(doc.Proxies) == 0 {
		p.Plain("No proxies are connected to the controller (%s).", doc.Controller)
		return
	}
	types := columns(doc.Proxies)
	headers := append([]string{"NAME"}, types...)
	headers = append(headers, "ISTIOD", "VERSION")
	rows := make([][]string, 0, len(doc.Proxies))
	for _, px := range doc.Proxies {
		row := []string{name(px)}
		for _, t := range types {
			state := string(px.Sync[t])
			if state == "" {
				state = string(xds.NotSent)
			}
			row = append(row, p.Severity(state))
		}
		rows = append(rows, append(row, orDash(px.Controller), orDash(px.Version)))
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	p.Table(headers, rows)
}

func columns(proxies []xds.ProxySync) []string {
	types := xds.ReportedTypes()
	var extra []string
	for _, px := range proxies {
		for t := range px.Sync {
			if !slices.Contains(types, t) && !slices.Contains(extra, t) {
				extra = append(extra, t)
			}
		}
	}
	sort.Strings(extra)
	return append(types, extra...)
}

// printDetail shows one proxy: per type what was sent and acknowledged, and the reason of a rejection.
func printDetail(p *ui.Printer, px xds.ProxySync, now time.Time) {
	field := func(label, value string) { p.Plain("%s %s", p.Bold(fmt.Sprintf("%-11s", label+":")), value) }
	field("Proxy", name(px))
	field("Node ID", px.ID)
	field("Controller", orDash(px.Controller))
	field("Version", orDash(px.Version))
	if px.Cluster != "" {
		field("Cluster", px.Cluster)
	}
	p.Plain("")
	rows := [][]string{}
	for _, t := range columns([]xds.ProxySync{px}) {
		d, requested := px.Types[t]
		protocol := d.Protocol
		if !requested {
			protocol = "not requested"
		}
		rows = append(rows, []string{t, p.Severity(string(px.Sync[t])), orDash(protocol),
			orDash(d.SentVersion), orDash(d.SentNonce), age(d.SentAt, now),
			orDash(d.AckedVersion), orDash(d.AckedNonce), age(d.AckedAt, now)})
	}
	p.Table([]string{"TYPE", "STATUS", "PROTOCOL", "SENT VERSION", "SENT NONCE", "SENT", "ACKED VERSION", "ACKED NONCE", "ACKED"}, rows)
	for _, t := range columns([]xds.ProxySync{px}) {
		d := px.Types[t]
		switch {
		case d.Error != "":
			rejected := "the configuration"
			if d.LastNack != nil {
				rejected = "version " + orDash(d.LastNack.Version) + " (nonce " + d.LastNack.Nonce + ")"
			}
			p.Plain("")
			p.Failure("%s: the proxy rejected %s: %s", t, rejected, d.Error)
		case d.LastNack != nil:
			p.Plain("")
			p.Warning("%s: earlier rejected version %s (%s): %s", t, orDash(d.LastNack.Version), age(d.LastNack.At, now), d.LastNack.Error)
		}
	}
}

func writeJSON(w io.Writer, doc *xds.Syncz) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
