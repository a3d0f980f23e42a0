package s3_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/s3"
	"github.com/hashtrail/hashtrail/sink/sinktest"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestConformance runs the dispatcher's suite against gofakes3. The
// receiver is every object PUT, in arrival order: a replay overwrites an
// object in the bucket, but the server did receive its events again.
func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type:        s3.Type,
		Destination: s3.Destination(&checkpoints{signedUpTo: 1 << 62}),
		Receiver: func(t *testing.T, env sink.Env) (json.RawMessage, func(t *testing.T) []sinktest.Received) {
			backend := s3mem.New()
			if err := backend.CreateBucket("archive"); err != nil {
				t.Fatal(err)
			}
			h := gofakes3.New(backend, gofakes3.WithIntegrityCheck(true)).Server()
			var mu sync.Mutex
			var got []sinktest.Received
			var bad error
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".jsonl.gz") && rec.Code == http.StatusOK {
					mu.Lock()
					if err := decodeObject(body, &got); err != nil && bad == nil {
						bad = err
					}
					mu.Unlock()
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
			}))
			t.Cleanup(srv.Close)
			settings, _ := json.Marshal(map[string]any{"endpoint": srv.URL, "bucket": "archive", "access_key_id": "AKIDTEST", "secret_access_key": "secret"})
			return settings, func(t *testing.T) []sinktest.Received {
				mu.Lock()
				defer mu.Unlock()
				if bad != nil {
					t.Fatal(bad)
				}
				return append([]sinktest.Received(nil), got...)
			}
		},
	})
}

func decodeObject(body []byte, got *[]sinktest.Received) error {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var r sinktest.Received
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return err
		}
		*got = append(*got, r)
	}
	return sc.Err()
}
