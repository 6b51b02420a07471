package analyze

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"skiff.dev/skiff/pkg/version"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/) is what code-scanning UIs ingest; results
// carry physicalLocation (file and line) so the pull request's lines get annotated.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	Name                 string            `json:"name"`
	ShortDescription     sarifText         `json:"shortDescription"`
	FullDescription      sarifText         `json:"fullDescription"`
	Help                 sarifText         `json:"help"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           map[string]string `json:"properties,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLevel(l Level) string {
	switch l {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

func writeSARIF(w io.Writer, ms []Message) error {
	cat := Catalogue()
	index := map[string]int{}
	rules := make([]sarifRule, 0, len(cat))
	for i, t := range cat {
		index[t.Code] = i
		help := t.Help
		if help == "" {
			help = t.Description
		}
		rules = append(rules, sarifRule{
			ID: t.Code, Name: t.Name,
			ShortDescription:     sarifText{Text: t.Description},
			FullDescription:      sarifText{Text: help},
			Help:                 sarifText{Text: help + " See " + t.DocPath() + ".", Markdown: fmt.Sprintf("%s\n\nSee [%s](%s).", help, t.Code, t.DocPath())},
			DefaultConfiguration: sarifRuleConfig{Level: sarifLevel(t.Level)},
			Properties:           map[string]string{"documentation": t.DocPath()},
		})
	}
	results := make([]sarifResult, 0, len(ms))
	for _, m := range ms {
		res := sarifResult{RuleID: m.Type.Code, RuleIndex: index[m.Type.Code], Level: sarifLevel(m.Level()), Message: sarifText{Text: m.Text}}
		var loc sarifLocation
		if m.File != "" {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(m.File)}}
			if m.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: m.Line}
			}
		}
		if m.Key != (Key{}) {
			loc.LogicalLocations = []sarifLogical{{Name: m.Key.Name, FullyQualifiedName: m.Key.String(), Kind: "resource"}}
		}
		if loc.PhysicalLocation != nil || loc.LogicalLocations != nil {
			res.Locations = []sarifLocation{loc}
		}
		results = append(results, res)
	}
	log := sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:    sarifTool{Driver: sarifDriver{Name: "skiff analyze", Version: version.Get().Version, Rules: rules}},
			Results: results,
		}},
	}
	b, err := json.MarshalIndent(log, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
