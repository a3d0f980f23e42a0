// Package archtest checks the import rules of DESIGN §6 over `go list`, so a
// change that couples packages the wrong way fails the build.
package archtest

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/hashtrail/hashtrail"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", mod+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// project returns the project-relative name of an import path, or "" if it
// is not part of the project.
func project(path string) string {
	if path == mod {
		return "."
	}
	if rest, ok := strings.CutPrefix(path, mod+"/"); ok {
		return rest
	}
	return ""
}

func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

// adapter returns the adapter family a package belongs to, or "".
func adapter(rel string) string {
	for _, a := range []string{"store", "sink", "httpapi", "client"} {
		if under(rel, a) {
			return a
		}
	}
	return ""
}

// member returns the store driver or sink destination a package belongs to
// ("sink/webhook", "store/sqlite"), or "" for the family's own package and
// for packages outside store and sink.
func member(rel string) string {
	for _, fam := range []string{"store", "sink"} {
		if rest, ok := strings.CutPrefix(rel, fam+"/"); ok {
			first, _, _ := strings.Cut(rest, "/")
			return fam + "/" + first
		}
	}
	return ""
}

// shared reports whether a member of store or sink is a helper the drivers
// or destinations of its family share rather than a driver or destination:
// the conformance suites (…test), store/internal and sink/sinkutil.
func shared(m string) bool {
	return strings.HasSuffix(m, "test") || m == "store/internal" || m == "sink/sinkutil"
}

func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := project(p.ImportPath)
		for _, imp := range p.Imports {
			irel := project(imp)
			switch {
			case irel != "" && under(irel, "cmd"):
				t.Errorf("%s imports %s: nothing imports cmd/", rel, irel)
			case rel == "." && irel != "" && irel != "merkle":
				t.Errorf("the root package imports %s: it may import only merkle", irel)
			case rel == "merkle" && irel != "":
				t.Errorf("merkle imports %s: it imports nothing of the project", irel)
			case rel == "api" && irel != "" && irel != ".":
				t.Errorf("api imports %s: it imports only the root", irel)
			case under(rel, "ledger") && (irel != "" && adapter(irel) != "" || imp == "database/sql" || imp == "net/http"):
				t.Errorf("ledger imports %s: it talks only to root interfaces", imp)
			case adapter(rel) != "" && adapter(irel) != "" && adapter(irel) != adapter(rel) && !strings.HasSuffix(irel, "test"):
				t.Errorf("adapter %s imports adapter %s", rel, irel)
			case member(rel) != "" && member(irel) != "" && member(irel) != member(rel) && !shared(member(irel)):
				// Destinations (and store drivers) share code through the
				// family's package or a shared helper, never each other.
				t.Errorf("%s imports %s: %s and %s are separate adapters", rel, irel, member(rel), member(irel))
			case member(rel) != "" && shared(member(rel)) && member(irel) != "" && !shared(member(irel)):
				t.Errorf("%s imports %s: a shared helper imports no driver or destination", rel, irel)
			case under(rel, "httpapi") && (under(irel, "store") || under(irel, "sink")):
				t.Errorf("httpapi imports %s", irel)
			case under(rel, "export") && irel != "" && irel != ".":
				// export is a pure helper (encoders) that adapters (httpapi,
				// sink/syslog), cmd and the ledger may import; it is no
				// adapter, so importing it joins no two adapters.
				t.Errorf("export imports %s: it imports only the root", irel)
			}
		}
	}
}

// TestClientBuildsWithoutDrivers checks that the Go SDK pulls in no database
// driver and no server-side package, and builds with cgo disabled (net and
// os/user use cgo when it is available, which is fine; needing it is not).
func TestClientBuildsWithoutDrivers(t *testing.T) {
	cmd := exec.Command("go", "build", "./client/...")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("client does not build with CGO_ENABLED=0: %v\n%s", err, out)
	}
	for _, p := range listPackages(t) {
		if !under(project(p.ImportPath), "client") {
			continue
		}
		for _, d := range p.Deps {
			rel := project(d)
			if strings.Contains(d, "sqlite") || strings.Contains(d, "pgx") ||
				under(rel, "store") || under(rel, "ledger") || under(rel, "httpapi") || under(rel, "sink") {
				t.Errorf("client package %s depends on %s", p.ImportPath, d)
			}
		}
	}
}
