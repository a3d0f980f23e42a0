package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail/internal/browser"
)

// chromium is the one browser every browser test of this binary shares
// (HASHTRAIL_CHROMIUM; the tests skip without it).
var chromium browser.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	chromium.Close()
	os.Exit(code)
}

// repoFile returns the path of a file of the repository from its root.
func repoFile(t testing.TB, rel string) string {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(here), "..", "..", filepath.FromSlash(rel))
}

// staticHandler serves the UI's static scripts from the checkout under
// /static/ (a test page on another origin loads them as a host page would).
func staticHandler(t testing.TB) http.Handler {
	dir := repoFile(t, "httpapi/ui/static")
	return http.StripPrefix("/static/", http.FileServer(http.Dir(dir)))
}

// servePage answers an HTML page.
func servePage(html string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(html))
	}
}

// serveJSON answers v as JSON.
func serveJSON(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
}

// hostURL returns a test server's URL with its host replaced by name (a
// .test name the browser maps to 127.0.0.1).
func hostURL(url, name string) string {
	_, port, _ := strings.Cut(strings.TrimPrefix(url, "http://"), ":")
	return "http://" + name + ":" + port
}
