// Package export turns events into the formats other systems read: JSON
// Lines, CSV, OCSF 1.8.0, ArcSight CEF and the Elastic Common Schema.
//
// It is pure: an Encoder writes to an io.Writer the events it is handed, one
// at a time (Begin, Encode for each event, End), and holds none of them, so
// an export of any size runs in constant memory. The HTTP API, the CLI and
// the sinks (sink/syslog's CEF) share these encoders, so each format exists
// once. Evidence bundles, which need proofs, are written by client.BundleWriter.
//
// The field mappings are documented in docs/exports.md.
package export

import (
	"fmt"
	"io"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Format names an export format, as ?format= and --format spell it.
type Format string

// The formats. FormatBundle is listed for completeness: it is not an
// Encoder (see client.BundleWriter).
const (
	FormatJSONL  Format = "jsonl"
	FormatCSV    Format = "csv"
	FormatOCSF   Format = "ocsf"
	FormatCEF    Format = "cef"
	FormatECS    Format = "ecs"
	FormatBundle Format = "bundle"
)

// Formats lists every format, bundle included.
var Formats = []Format{FormatJSONL, FormatCSV, FormatOCSF, FormatCEF, FormatECS, FormatBundle}

// ParseFormat reads a format name; "" is JSON Lines.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return FormatJSONL, nil
	}
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("must be one of %s", strings.Join(names, ", "))
}

// ContentType is the media type of an export in format f.
func (f Format) ContentType() string {
	switch f {
	case FormatCSV:
		return "text/csv; charset=utf-8; header=present"
	case FormatCEF:
		return "text/plain; charset=utf-8"
	case FormatBundle:
		return "application/json"
	}
	return "application/x-ndjson" // JSON Lines: jsonl, ocsf and ecs
}

// Extension is the file name extension of an export in format f.
func (f Format) Extension() string {
	switch f {
	case FormatCSV:
		return ".csv"
	case FormatCEF:
		return ".cef"
	case FormatBundle:
		return ".bundle.json"
	case FormatOCSF:
		return ".ocsf.jsonl"
	case FormatECS:
		return ".ecs.jsonl"
	}
	return ".jsonl"
}

// Options configure an Encoder. Every field is optional.
type Options struct {
	// Version is Hashtrail's version, written as the product version
	// (OCSF metadata.product.version, the CEF header). "" is "dev".
	Version string
	// Classify returns the OCSF class and activity of an action outside
	// the standard catalog (a tenant's own, from its catalog). Nil, or
	// false, uses the fallback (see OCSFFallback).
	Classify func(action string) (hashtrail.OCSFClass, bool)
}

func (o Options) version() string {
	if o.Version == "" {
		return "dev"
	}
	return o.Version
}

// Encoder writes events in one format. Begin writes what comes before the
// first event (the CSV header), Encode one event, End what comes after the
// last and flushes. Flush writes out what is buffered (between pages of a
// streamed answer). An Encoder keeps no event after Encode returns and is
// not safe for concurrent use.
type Encoder interface {
	Begin() error
	Encode(e *hashtrail.Event) error
	Flush() error
	End() error
}

// New returns an Encoder for f writing to w.
func New(f Format, w io.Writer, opt Options) (Encoder, error) {
	switch f {
	case FormatJSONL:
		return NewJSONL(w), nil
	case FormatCSV:
		return NewCSV(w), nil
	case FormatOCSF:
		return NewOCSF(w, opt), nil
	case FormatCEF:
		return NewCEF(w, opt), nil
	case FormatECS:
		return NewECS(w, opt), nil
	}
	return nil, fmt.Errorf("export: format %q has no encoder", f)
}

// verb is the part of an action after its last dot: "login" of "user.login".
func verb(action string) string {
	if i := strings.LastIndexByte(action, '.'); i >= 0 {
		return action[i+1:]
	}
	return action
}

// object is the part of an action before its first dot.
func object(action string) string {
	o, _, _ := strings.Cut(action, ".")
	return o
}

// severityRank is 1 (info) to 5 (critical), 0 for none.
func severityRank(s hashtrail.Severity) int {
	switch s {
	case hashtrail.SeverityInfo:
		return 1
	case hashtrail.SeverityLow:
		return 2
	case hashtrail.SeverityMedium:
		return 3
	case hashtrail.SeverityHigh:
		return 4
	case hashtrail.SeverityCritical:
		return 5
	}
	return 0
}

// describe is the event's description, else its catalog entry's, else "".
func describe(e *hashtrail.Event) string {
	if e.Description != "" {
		return e.Description
	}
	if c, ok := hashtrail.LookupCatalog(e.Action); ok {
		return c.Description
	}
	return ""
}
