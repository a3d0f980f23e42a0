package file_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/file"
	"github.com/hashtrail/hashtrail/sink/sinktest"
)

// received reads back what a file sink wrote under dir.
func received(t *testing.T, dir string) []sinktest.Received {
	lines, err := file.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]sinktest.Received, 0, len(lines))
	for _, l := range lines {
		var e struct {
			Tenant string `json:"tenant"`
			ID     string `json:"id"`
			Seq    int64  `json:"seq"`
		}
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatalf("a line that is not an event: %q: %v", l, err)
		}
		out = append(out, sinktest.Received{Tenant: e.Tenant, ID: e.ID, Seq: e.Seq})
	}
	return out
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type:        file.Type,
		Destination: file.Destination(),
		Receiver: func(t *testing.T, env sink.Env) (json.RawMessage, func(t *testing.T) []sinktest.Received) {
			// Small files, so rotation happens during the suite.
			return json.RawMessage(`{"dir":"out","max_bytes":20000}`), func(t *testing.T) []sinktest.Received {
				return received(t, filepath.Join(env.FileRoot, "out"))
			}
		},
	})
}

func TestValidate(t *testing.T) {
	env := sink.Env{FileRoot: t.TempDir()}
	for _, tc := range []struct {
		settings, field string
	}{
		{`{"dir":"ok/sub"}`, ""},
		{`{}`, "dir"},
		{`{"dir":"/etc"}`, "dir"},
		{`{"dir":"../up"}`, "dir"},
		{`{"dir":"a/../../up"}`, "dir"},
		{`{"dir":"x","max_age":"1ms"}`, "max_age"},
		{`{"dir":"x","max_bytes":-1}`, "max_bytes"},
		{`{"dir":"x","prefix":"a/b"}`, "prefix"},
		{`{"dir":"x","nope":1}`, ""},
	} {
		_, errs := file.Validate(json.RawMessage(tc.settings), env)
		switch {
		case tc.field == "" && tc.settings != `{"dir":"x","nope":1}` && len(errs) > 0:
			t.Errorf("%s: %v", tc.settings, errs)
		case tc.field != "" && (len(errs) == 0 || errs[0].Field != tc.field):
			t.Errorf("%s: errors %v, want one on %s", tc.settings, errs, tc.field)
		case tc.settings == `{"dir":"x","nope":1}` && len(errs) == 0:
			t.Errorf("%s: an unknown member was accepted", tc.settings)
		}
	}
	if _, errs := file.Validate(json.RawMessage(`{"dir":"x"}`), sink.Env{}); len(errs) == 0 {
		t.Error("a file sink was accepted without a file root")
	}
}

// TestRotateAndRecover checks rotation by size, final names, and that a
// file left open by a crash, with a partial last line, is finished by the
// next Sink.
func TestRotateAndRecover(t *testing.T) {
	root := t.TempDir()
	env := sink.Env{FileRoot: root}
	cfg := &hashtrail.SinkConfig{ID: "s", Tenant: "acme", Type: file.Type, Settings: json.RawMessage(`{"dir":"d","max_bytes":1000}`)}
	s, err := file.New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		e := sinktest.NewEvent("acme", i)
		e.Seq = int64(i)
		if err := s.Deliver(t.Context(), []*hashtrail.Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "d", "acme")
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	open := 0
	for _, n := range names {
		if strings.HasSuffix(n, ".open") {
			open++
		}
	}
	if len(names) < 3 || open != 1 {
		t.Fatalf("files %v: want rotation by size and one open file", names)
	}
	// A crash: the open file keeps a partial line, and the Sink is never closed.
	var openPath string
	for _, n := range names {
		if strings.HasSuffix(n, ".open") {
			openPath = n
		}
	}
	f, err := os.OpenFile(openPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"tenant":"acme","id":"partial`)
	f.Close()
	s2, err := file.New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	e := sinktest.NewEvent("acme", 10)
	e.Seq = 10
	if err := s2.Deliver(t.Context(), []*hashtrail.Event{e}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	got := received(t, filepath.Join(root, "d"))
	if len(got) != 11 {
		t.Fatalf("read back %d events, want 11: %v", len(got), got)
	}
	for i, r := range got {
		if r.Seq != int64(i) {
			t.Fatalf("event %d has seq %d", i, r.Seq)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.open")); len(left) != 0 {
		t.Errorf("open files left after Close: %v", left)
	}
}
