package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

// TestRedactionAndReadAuditCommands sets a tenant's redaction rules and its
// read audit from the command line, offline and through the API, and checks
// that the rules apply to the next event and each change is in the log.
func TestRedactionAndReadAuditCommands(t *testing.T) {
	for _, c := range connections() {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			flags, ingestRaw := c.setup(t)
			with := func(args ...string) []string { return append(args, flags...) }
			cli(t, with("tenants", "create", "acme")...)

			out := cli(t, with("redaction", "show", "--tenant", "acme")...)
			mustContain(t, out, "version 0", "secret names:      true", "card_number")

			var doc hashtrail.RedactionDocument
			decode(t, cli(t, with("redaction", "show", "--tenant", "acme", "--json")...), &doc)
			doc.Rules.Fields = append(doc.Rules.Fields, "metadata.note")
			file := filepath.Join(t.TempDir(), "r.json")
			if err := os.WriteFile(file, []byte(mustJSON(t, doc)), 0o600); err != nil {
				t.Fatal(err)
			}
			mustContain(t, cli(t, with("redaction", "set", "--tenant", "acme", "--file", file)...), "version 1", "fields:            metadata.note")
			_, _, err := cliErr(t, with("redaction", "set", "--tenant", "acme", "--file", file)...) // version 0 again: stale
			if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
				t.Errorf("a stale version: %v, want a conflict", err)
			}

			ingestRaw(`{"id":"e1","action":"user.login","actor":{"type":"user","id":"1"},"metadata":{"note":"call me at 555"}}`)
			evs := jsonLines(t, cli(t, with("events", "--tenant", "acme", "--action", "user.login", "--json")...))
			if len(evs) != 1 || !strings.Contains(mustJSON(t, evs[0].Metadata), hashtrail.RedactedValue) {
				t.Errorf("the new rule did not apply: %+v", evs)
			}

			mustContain(t, cli(t, with("read-audit", "show", "--tenant", "acme")...), "read audit of acme: off")
			mustContain(t, cli(t, with("read-audit", "on", "--tenant", "acme")...), "read audit of acme: on")
			mustContain(t, cli(t, with("read-audit", "off", "--tenant", "acme")...), "read audit of acme: off")
			if _, _, err := cliErr(t, with("read-audit", "maybe", "--tenant", "acme")...); err == nil {
				t.Error("read-audit maybe succeeded")
			}
			sys := cli(t, with("events", "--tenant", "acme", "--category", "system", "--json")...)
			mustContain(t, sys, "redaction", "read_audit")
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
