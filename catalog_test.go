package hashtrail_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

// ocsfSchemaDir is the OCSF schema kept beside the project (see its README);
// the test is skipped where it is absent.
const ocsfSchemaDir = "../shared/vectors/ocsf-schema"

// ocsfNewerClasses are classes the schema copy (1.9.0-dev) has that OCSF
// 1.8.0, the version exports follow, does not.
var ocsfNewerClasses = map[int]bool{3007: true, 3008: true}

// TestCatalogOCSF checks every catalog entry's OCSF class and activity
// against the OCSF schema: the class uid is the category uid times 1000
// plus the class uid, the class caption is the name, and the activity is
// one of the class's (or the base event's Unknown/Other).
func TestCatalogOCSF(t *testing.T) {
	dir := ocsfSchemaDir
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no OCSF schema at", dir)
	}
	var cats struct {
		Attributes map[string]struct {
			UID int `json:"uid"`
		} `json:"attributes"`
	}
	readJSON(t, filepath.Join(dir, "categories.json"), &cats)
	type class struct {
		Caption    string
		Activities map[int]string
	}
	classes := map[int]class{}
	base := activities(t, filepath.Join(dir, "events", "base_event.json"))
	files, err := filepath.Glob(filepath.Join(dir, "events", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no OCSF event classes under %s: %v", dir, err)
	}
	for _, f := range files {
		var c struct {
			UID     *int   `json:"uid"`
			Caption string `json:"caption"`
		}
		readJSON(t, f, &c)
		cat, ok := cats.Attributes[filepath.Base(filepath.Dir(f))]
		if c.UID == nil || !ok {
			continue // an abstract class such as iam.json
		}
		acts := activities(t, f)
		for id, name := range base {
			acts[id] = name
		}
		classes[cat.UID*1000+*c.UID] = class{c.Caption, acts}
	}
	for _, e := range hashtrail.Catalog {
		o := e.OCSF
		c, ok := classes[o.ClassUID]
		switch {
		case !ok:
			t.Errorf("%s: OCSF class %d does not exist", e.Action, o.ClassUID)
		case ocsfNewerClasses[o.ClassUID]:
			t.Errorf("%s: OCSF class %d is newer than %s", e.Action, o.ClassUID, hashtrail.OCSFVersion)
		case c.Caption != o.ClassName:
			t.Errorf("%s: OCSF class %d is %q, not %q", e.Action, o.ClassUID, c.Caption, o.ClassName)
		case c.Activities[o.ActivityID] != o.ActivityName:
			t.Errorf("%s: OCSF class %d activity %d is %q, not %q", e.Action, o.ClassUID, o.ActivityID, c.Activities[o.ActivityID], o.ActivityName)
		}
	}
}

func activities(t *testing.T, path string) map[int]string {
	var c struct {
		Attributes struct {
			ActivityID struct {
				Enum map[string]struct {
					Caption string `json:"caption"`
				} `json:"enum"`
			} `json:"activity_id"`
		} `json:"attributes"`
	}
	readJSON(t, path, &c)
	out := map[int]string{}
	for k, v := range c.Attributes.ActivityID.Enum {
		id, err := strconv.Atoi(k)
		if err != nil {
			t.Fatalf("%s: activity id %q", path, k)
		}
		out[id] = v.Caption
	}
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestCatalogDefaults checks the defaults every entry carries.
func TestCatalogDefaults(t *testing.T) {
	for _, e := range hashtrail.Catalog {
		if !e.Severity.Valid() || !e.Outcome.Valid() {
			t.Errorf("%s: severity %q outcome %q", e.Action, e.Severity, e.Outcome)
		}
		got, ok := hashtrail.LookupCatalog(e.Action)
		if !ok || got.Action != e.Action || !hashtrail.InCatalog(e.Action) {
			t.Errorf("LookupCatalog(%s) = %v, %v", e.Action, got, ok)
		}
	}
	if _, ok := hashtrail.LookupCatalog("widget.frobnicate"); ok || hashtrail.InCatalog("widget.frobnicate") {
		t.Error("LookupCatalog found an action outside the catalog")
	}
	e, _ := hashtrail.LookupCatalog("user.login_failed")
	if e.Outcome != hashtrail.OutcomeFailure || e.Severity != hashtrail.SeverityMedium {
		t.Errorf("user.login_failed defaults %s %s", e.Severity, e.Outcome)
	}
}
