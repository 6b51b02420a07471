package analyze

// applicationUIDAnalyzer reports pods and pod templates running as the proxy's UID 1337 (IST0144).
func applicationUIDAnalyzer() Analyzer {
	return Analyzer{
		Name:        "deployment.ApplicationUIDAnalyzer",
		Description: "Checks invalid application UID",
		Codes:       []MessageType{InvalidApplicationUID},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Resources() {
				if t := r.Template; t != nil && t.RunAsUser1337Path != nil {
					report(newMessage(InvalidApplicationUID, r, r.Line(t.RunAsUser1337Path...)))
				}
			}
		},
	}
}
