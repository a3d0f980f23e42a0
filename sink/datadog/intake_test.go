package datadog_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/hashtrail/hashtrail/sink/datadog"
)

// fakeIntake is a local Datadog logs intake that enforces the documented
// contract of POST /api/v2/logs: the DD-API-KEY header (403 otherwise),
// application/json, optional Content-Encoding: gzip, a JSON array of at
// most 1,000 entries and at most 5,000,000 uncompressed bytes (413), each
// entry an object of at most 1,000,000 bytes with a string message (400
// otherwise); 202 on success. It can also answer a status of choice to
// the next requests.
type fakeIntake struct {
	key string

	mu       sync.Mutex
	next     []int // statuses to answer to the next requests
	entries  []map[string]any
	payloads []payload
}

type payload struct {
	gzip    bool
	entries int
	bytes   int // uncompressed
}

func (f *fakeIntake) fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"status": fmt.Sprint(status), "title": msg}}})
}

func (f *fakeIntake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != datadog.LogsPath || r.Method != http.MethodPost {
		f.fail(w, http.StatusNotFound, "Not found")
		return
	}
	if r.Header.Get("DD-API-KEY") != f.key {
		f.fail(w, http.StatusForbidden, "Forbidden")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.fail(w, http.StatusBadRequest, "Content-Type must be application/json")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.next) > 0 {
		st := f.next[0]
		f.next = f.next[1:]
		if st == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "3")
		}
		f.fail(w, st, http.StatusText(st))
		return
	}
	var in io.Reader = r.Body
	gz := false
	switch r.Header.Get("Content-Encoding") {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			f.fail(w, http.StatusBadRequest, "invalid gzip")
			return
		}
		in, gz = zr, true
	default:
		f.fail(w, http.StatusUnsupportedMediaType, "unsupported Content-Encoding")
		return
	}
	body, err := io.ReadAll(io.LimitReader(in, datadog.MaxPayloadBytes+1))
	if err != nil {
		f.fail(w, http.StatusBadRequest, "unreadable body")
		return
	}
	if len(body) > datadog.MaxPayloadBytes {
		f.fail(w, http.StatusRequestEntityTooLarge, "Payload too large")
		return
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		f.fail(w, http.StatusBadRequest, "body must be a JSON array of log entries")
		return
	}
	if len(raw) > datadog.MaxEntries {
		f.fail(w, http.StatusRequestEntityTooLarge, "too many entries")
		return
	}
	got := make([]map[string]any, 0, len(raw))
	for i, e := range raw {
		if len(e) > datadog.MaxEntryBytes {
			f.fail(w, http.StatusBadRequest, fmt.Sprintf("entry %d is over 1MB", i))
			return
		}
		var m map[string]any
		if err := json.Unmarshal(e, &m); err != nil || m == nil {
			f.fail(w, http.StatusBadRequest, fmt.Sprintf("entry %d is not an object", i))
			return
		}
		if _, ok := m["message"].(string); !ok {
			f.fail(w, http.StatusBadRequest, fmt.Sprintf("entry %d has no message string", i))
			return
		}
		for _, k := range []string{"ddsource", "ddtags", "hostname", "service", "status"} {
			if v, ok := m[k]; ok {
				if _, ok := v.(string); !ok {
					f.fail(w, http.StatusBadRequest, fmt.Sprintf("entry %d: %s must be a string", i, k))
					return
				}
			}
		}
		got = append(got, m)
	}
	f.entries = append(f.entries, got...)
	f.payloads = append(f.payloads, payload{gz, len(raw), len(body)})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.Copy(w, bytes.NewReader([]byte("{}")))
}

func (f *fakeIntake) received() ([]map[string]any, []payload) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.entries...), append([]payload(nil), f.payloads...)
}
