// Package storekit holds what the stores share beyond appending (see
// store/internal/ingest for that): loading embedded migrations and reading
// a witness's cosignature line.
package storekit

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one embedded schema step, from a file named
// NNNN_description.sql; migrations apply in order of NNNN and are never
// edited once released (changes are new files).
type Migration struct {
	Version int
	Name    string // the file's name
	SQL     string
}

// Migrations returns the migrations matching pattern in fsys (such as
// "migrations/*.sql" of an embed.FS) in version order; an error for a name
// that does not start with a positive number and "_", or two files of one
// version.
func Migrations(fsys fs.FS, pattern string) ([]Migration, error) {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, f := range files {
		base := path.Base(f)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", base)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// CosignatureKey returns "<name> <first 6 base64 chars>" of a signature
// line "— <name> <base64>\n": the key name and the key hash its signature
// starts with (4 bytes, the first 6 base64 characters fix them), which
// names the witness key a stored cosignature is of.
func CosignatureKey(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "— ")
	if !ok || !strings.HasSuffix(rest, "\n") || strings.Count(rest, "\n") != 1 {
		return "", false
	}
	name, sig, ok := strings.Cut(strings.TrimSuffix(rest, "\n"), " ")
	if !ok || name == "" || len(sig) < 8 || strings.Contains(sig, " ") {
		return "", false
	}
	return name + " " + sig[:6], true
}
