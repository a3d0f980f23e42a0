package main

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/export"
)

// TestExportFormats exports the sample in every encoder format, offline and
// through the API, checks that both give the same events, and that the API
// export is recorded as data.export.
func TestExportFormats(t *testing.T) {
	clearEnv(t)
	l, url := newServer(t)
	ingest(t, l, "acme", sampleEvents...)
	for _, f := range []string{"jsonl", "csv", "ocsf", "cef", "ecs"} {
		remote := cli(t, "export", "--url", url, "--api-key", adminSecret, "--tenant", "acme", "--format", f, "-q", "actor:user:42")
		lines := strings.Count(remote, "\n")
		want := 3
		if f == "csv" {
			rows, err := csv.NewReader(strings.NewReader(remote)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			lines = len(rows) - 1
		}
		if lines != want {
			t.Errorf("%s through the API: %d events, want %d:\n%s", f, lines, want, remote)
		}
		switch f {
		case "ocsf":
			mustContain(t, remote, `"class_uid":3002`, `"type_uid":300201`, `"class_uid":3006`)
		case "cef":
			mustContain(t, remote, "CEF:0|Hashtrail|Hashtrail|", "|user.login|a user signed in|1|", "externalId=e0")
		case "ecs":
			mustContain(t, remote, `"@timestamp":"2026-01-02T10:00:00.000000Z"`, `"event":{"id":"e0"`)
		case "csv":
			mustContain(t, remote, strings.Join(export.CSVColumns, ","))
		}
	}
	// The five API exports are in the log, with their filter.
	list, err := l.Events(t.Context(), &hashtrail.Query{Tenant: "acme", Actions: []string{hashtrail.ActionDataExport}, Limit: 10})
	if err != nil || len(list.Events) != 5 {
		t.Fatalf("data.export events: %v, %v", list, err)
	}
	if md := string(list.Events[0].Metadata); !strings.Contains(md, `"format":"ecs"`) || !strings.Contains(md, "actor:user:42") {
		t.Errorf("data.export metadata %s", md)
	}

	bad := cliErrText(t, "export", "--url", url, "--api-key", adminSecret, "--tenant", "acme", "--format", "xml")
	if !strings.Contains(bad, "--format") {
		t.Errorf("a bad format: %s", bad)
	}
}

// TestExportOffline exports a data directory in every encoder format.
func TestExportOffline(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	l, closeAll := MustOpen(t, dir)
	ingest(t, l, "acme", sampleEvents...)
	closeAll()
	jsonl := cli(t, "export", "--data", dir, "--tenant", "acme", "--format", "jsonl", "--action", "user.login")
	if evs := jsonLines(t, jsonl); ids(evs) != "e0,e1" {
		t.Errorf("jsonl: %s", ids(evs))
	}
	for _, f := range []string{"csv", "ocsf", "cef", "ecs"} {
		out := cli(t, "export", "--data", dir, "--tenant", "acme", "--format", f, "--action", "user.login")
		if n := bytes.Count([]byte(out), []byte("\n")); n != 2 && !(f == "csv" && n == 3) {
			t.Errorf("%s: %d lines:\n%s", f, n, out)
		}
	}
}

func cliErrText(t *testing.T, args ...string) string {
	t.Helper()
	_, errOut, err := cliErr(t, args...)
	if err == nil {
		t.Fatalf("hashtrail %s succeeded", strings.Join(args, " "))
	}
	return err.Error() + errOut
}
