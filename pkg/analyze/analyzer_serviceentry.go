package analyze

import (
	"strings"
)

// serviceEntryAnalyzer reports TCP ServiceEntries without addresses (IST0134).
func serviceEntryAnalyzer() Analyzer {
	return Analyzer{
		Name:        "serviceentry.Analyzer",
		Description: "Checks the validity of ServiceEntry",
		Codes:       []MessageType{ServiceEntryAddressesRequired},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("ServiceEntry") {
				se := serviceEntry(r)
				if se == nil || len(se.GetAddresses()) > 0 {
					continue
				}
				for i, p := range se.GetPorts() {
					if p.GetProtocol() == "" || strings.EqualFold(p.GetProtocol(), "TCP") {
						report(newMessage(ServiceEntryAddressesRequired, r, r.Line("spec", "ports", i, "protocol")))
					}
				}
			}
		},
	}
}
