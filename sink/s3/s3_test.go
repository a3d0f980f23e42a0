package s3_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeS3 is gofakes3 (an S3-compatible server) on a free port, with
// Content-MD5 checked, behind a check that every request is signed with
// SigV4 for the test's key and that x-amz-content-sha256 is the body's
// hash.
type fakeS3 struct {
	url     string
	backend *s3mem.Backend
	mu      sync.Mutex
	puts    int
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDTEST/\d{8}/eu-west-1/s3/aws4_request,SignedHeaders=[a-z0-9;-]+,Signature=[0-9a-f]{64}$`)

func startS3(tb testing.TB) *fakeS3 {
	tb.Helper()
	f := &fakeS3{backend: s3mem.New()}
	if err := f.backend.CreateBucket("archive"); err != nil {
		tb.Fatal(err)
	}
	faker := gofakes3.New(f.backend, gofakes3.WithIntegrityCheck(true))
	h := faker.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		if !authRE.MatchString(r.Header.Get("Authorization")) || r.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]) {
			http.Error(w, "<Error><Code>SignatureDoesNotMatch</Code><Message>bad signature</Message></Error>", http.StatusForbidden)
			return
		}
		if r.Method == http.MethodPut {
			f.mu.Lock()
			f.puts++
			f.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// objects returns every key of the bucket with its bytes and metadata.
func (f *fakeS3) objects(tb testing.TB) map[string]*gofakes3.Object {
	tb.Helper()
	list, err := f.backend.ListBucket("archive", &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]*gofakes3.Object{}
	for _, c := range list.Contents {
		o, err := f.backend.GetObject("archive", c.Key, nil)
		if err != nil {
			tb.Fatal(err)
		}
		out[c.Key] = o
	}
	return out
}

func read(tb testing.TB, o *gofakes3.Object) []byte {
	tb.Helper()
	b, err := io.ReadAll(o.Contents)
	if err != nil {
		tb.Fatal(err)
	}
	o.Contents.Close()
	return b
}

// checkpoints is a fake of the dispatcher's store: a checkpoint every 10
// events, absent beyond signedUpTo.
type checkpoints struct{ signedUpTo int64 }

func (c *checkpoints) CheckpointCovering(_ context.Context, tenant string, seq int64) (*hashtrail.SignedCheckpoint, error) {
	if seq >= c.signedUpTo {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "no checkpoint covers %d", seq)
	}
	size := (seq/10 + 1) * 10
	note := fmt.Sprintf("example.com/%s\n%d\nROOT=\n\n— example.com/%s SIGNATURE\n", tenant, size, tenant)
	return &hashtrail.SignedCheckpoint{Tenant: tenant, Size: size, Note: []byte(note)}, nil
}

func events(tenant string, from, n int, received func(i int) time.Time) []*hashtrail.Event {
	out := make([]*hashtrail.Event, n)
	for i := range out {
		seq := int64(from + i)
		out[i] = &hashtrail.Event{
			ID: fmt.Sprintf("evt-%d", seq), Time: hashtrail.NewTime(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)),
			Action: "user.login", Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo,
			Outcome: hashtrail.OutcomeSuccess, Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "a@example.com"},
			Tenant: tenant, Seq: seq, ReceivedAt: hashtrail.NewTime(received(from + i)), LeafHash: strings.Repeat("cd", 32),
		}
	}
	return out
}

func config(f *fakeS3) s3.Config {
	return s3.Config{Endpoint: f.url, Region: "eu-west-1", Bucket: "archive", AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}
}

func open(tb testing.TB, cfg s3.Config, opts s3.Options) *s3.Sink {
	tb.Helper()
	s, err := s3.New(cfg, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestArchive(t *testing.T) {
	f := startS3(t)
	s := open(t, config(f), s3.Options{Checkpoints: &checkpoints{signedUpTo: 1 << 62}})
	// seq 0-5 received in the 09:00 hour, 6-9 in the 10:00 hour.
	batch := events("acme", 0, 10, func(i int) time.Time {
		return time.Date(2026, 11, 23, 9, 50, 0, 0, time.UTC).Add(time.Duration(i) * 2 * time.Minute)
	})
	if err := s.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	objs := f.objects(t)
	k1 := "hashtrail/acme/2026/11/23/09/00000000000000000000-00000000000000000004.jsonl.gz"
	k2 := "hashtrail/acme/2026/11/23/10/00000000000000000005-00000000000000000009.jsonl.gz"
	var keys []string
	for k := range objs {
		keys = append(keys, k)
	}
	want := []string{k1, k2, strings.TrimSuffix(k1, ".jsonl.gz") + ".checkpoint", strings.TrimSuffix(k2, ".jsonl.gz") + ".checkpoint"}
	if len(keys) != 4 {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	for _, k := range want {
		if objs[k] == nil {
			t.Fatalf("no object %s among %v", k, keys)
		}
	}
	for key, evs := range map[string][]*hashtrail.Event{k1: batch[:5], k2: batch[5:]} {
		o := objs[key]
		zr, err := gzip.NewReader(bytes.NewReader(read(t, o)))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		i := 0
		for ; sc.Scan(); i++ {
			var got hashtrail.Event
			if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&got, evs[i]) {
				t.Errorf("%s line %d: %s", key, i, sc.Bytes())
			}
		}
		if i != len(evs) {
			t.Errorf("%s holds %d lines, want %d", key, i, len(evs))
		}
		last := fmt.Sprint(evs[len(evs)-1].Seq)
		if o.Metadata["X-Amz-Meta-Hashtrail-Last-Seq"] != last || o.Metadata["X-Amz-Meta-Hashtrail-Tenant"] != "acme" ||
			o.Metadata["Content-Type"] != "application/gzip" || o.Metadata["X-Amz-Meta-Hashtrail-Checkpoint-Size"] != "10" {
			t.Errorf("%s metadata %v", key, o.Metadata)
		}
		note := string(read(t, objs[strings.TrimSuffix(key, ".jsonl.gz")+".checkpoint"]))
		if !strings.HasPrefix(note, "example.com/acme\n10\n") {
			t.Errorf("checkpoint of %s: %q", key, note)
		}
	}
}

// A replay (or a retry) writes the same bytes under the same keys.
func TestReplayIsIdempotent(t *testing.T) {
	f := startS3(t)
	s := open(t, config(f), s3.Options{Checkpoints: &checkpoints{signedUpTo: 1 << 62}})
	batch := events("acme", 100, 50, func(i int) time.Time { return time.Date(2026, 11, 23, 9, 0, i, 0, time.UTC) })
	if err := s.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	before := map[string][32]byte{}
	for k, o := range f.objects(t) {
		before[k] = sha256.Sum256(read(t, o))
	}
	// A new sink (as after a restart) replays the same batch.
	s2 := open(t, config(f), s3.Options{Checkpoints: &checkpoints{signedUpTo: 1 << 62}})
	if err := s2.Deliver(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	after := f.objects(t)
	if len(after) != len(before) || len(after) != 2 {
		t.Fatalf("%d objects after the replay, %d before", len(after), len(before))
	}
	for k, o := range after {
		if sha256.Sum256(read(t, o)) != before[k] {
			t.Errorf("%s changed on replay", k)
		}
	}
}

// Without a covering checkpoint the batch fails (retryable) and nothing is
// written.
func TestWaitsForCheckpoint(t *testing.T) {
	f := startS3(t)
	cfg := config(f)
	cfg.CheckpointWait = "300ms"
	s := open(t, cfg, s3.Options{Checkpoints: &checkpoints{signedUpTo: 5}})
	err := s.Deliver(t.Context(), events("acme", 0, 10, func(int) time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }))
	if err == nil || hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "checkpoint") {
		t.Fatalf("Deliver = %v, want a retryable error about the checkpoint", err)
	}
	if n := len(f.objects(t)); n != 0 {
		t.Errorf("%d objects written", n)
	}
	// Without a checkpoint source, no sidecar.
	s = open(t, config(f), s3.Options{})
	if err := s.Deliver(t.Context(), events("acme", 0, 3, func(int) time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) })); err != nil {
		t.Fatal(err)
	}
	if n := len(f.objects(t)); n != 1 {
		t.Errorf("%d objects written, want 1 (no sidecar)", n)
	}
}

func TestErrors(t *testing.T) {
	f := startS3(t)
	batch := events("acme", 0, 1, func(int) time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) })

	cfg := config(f)
	cfg.Bucket = "no-such-bucket"
	if err := open(t, cfg, s3.Options{}).Deliver(t.Context(), batch); !hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("missing bucket: %v, want a permanent NoSuchBucket", err)
	}
	cfg = config(f)
	cfg.AccessKeyID = "AKIDWRONG"
	if err := open(t, cfg, s3.Options{}).Deliver(t.Context(), batch); !hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("wrong key: %v, want a permanent SignatureDoesNotMatch", err)
	}
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>", http.StatusServiceUnavailable)
	}))
	defer busy.Close()
	cfg = config(f)
	cfg.Endpoint = busy.URL
	if err := open(t, cfg, s3.Options{}).Deliver(t.Context(), batch); err == nil || hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "SlowDown") {
		t.Errorf("503 SlowDown: %v, want a retryable error", err)
	}
	cfg.Endpoint = "http://127.0.0.1:1"
	if err := open(t, cfg, s3.Options{}).Deliver(t.Context(), batch); err == nil || hashtrail.IsPermanent(err) {
		t.Errorf("server down: %v, want a retryable error", err)
	}
}

func TestKeysAndWindows(t *testing.T) {
	s := open(t, s3.Config{Endpoint: "https://s3.example.com", Bucket: "b-1", Prefix: "audit/prod", Window: "day", AccessKeyID: "a", SecretAccessKey: "s"}, s3.Options{})
	batch := events("acme", 7, 3, func(i int) time.Time {
		return time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC).Add(time.Duration(i-7) * time.Second)
	})
	objs := s.Objects(batch)
	if len(objs) != 2 || objs[0].Key != "audit/prod/acme/2026/11/23/00000000000000000007-00000000000000000007.jsonl.gz" ||
		objs[1].Key != "audit/prod/acme/2026/11/24/00000000000000000008-00000000000000000009.jsonl.gz" {
		t.Errorf("objects %+v", objs)
	}
	if got := s3.CheckpointKey(objs[0].Key); got != "audit/prod/acme/2026/11/23/00000000000000000007-00000000000000000007.checkpoint" {
		t.Errorf("CheckpointKey = %s", got)
	}
	a, _ := s3.Encode(batch)
	b, _ := s3.Encode(batch)
	if !bytes.Equal(a, b) {
		t.Error("Encode is not deterministic")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := `"endpoint":"https://s3.eu-west-1.amazonaws.com","bucket":"audit-archive","access_key_id":"AKID","secret_access_key":"s"`
	for _, tc := range []struct{ settings, field string }{
		{`{}`, "settings.endpoint"},
		{`{"endpoint":"ftp://x","bucket":"abc"}`, "settings.endpoint"},
		{`{"endpoint":"https://x/path","bucket":"abc"}`, "settings.endpoint"},
		{`{"endpoint":"https://x","bucket":"AB"}`, "settings.bucket"},
		{`{"endpoint":"https://x","bucket":"abc"}`, "settings.access_key_id"},
		{`{"endpoint":"https://x","bucket":"abc","access_key_id":"a"}`, "settings.secret_access_key"},
		{`{` + ok + `,"prefix":"/x"}`, "settings.prefix"},
		{`{` + ok + `,"prefix":"a/../b"}`, "settings.prefix"},
		{`{` + ok + `,"window":"week"}`, "settings.window"},
		{`{` + ok + `,"checkpoint_wait":"x"}`, "settings.checkpoint_wait"},
		{`{` + ok + `,"timeout":"-1s"}`, "settings.timeout"},
		{`{` + ok + `,"nope":1}`, "settings"},
	} {
		_, err := s3.ParseConfig(json.RawMessage(tc.settings))
		he, isErr := err.(*hashtrail.Error)
		if !isErr || len(he.Fields) != 1 || he.Fields[0].Field != tc.field {
			t.Errorf("%s: %v, want an error naming %s", tc.settings, err, tc.field)
		}
	}
	if _, err := s3.ParseConfig(json.RawMessage(`{` + ok + `,"prefix":"audit/prod","window":"day","virtual_hosted":true}`)); err != nil {
		t.Error(err)
	}
}

// BenchmarkDeliver measures archiving batches of 1,000 events (one object
// and its checkpoint each) into gofakes3 over HTTP, reporting events/s.
func BenchmarkDeliver(b *testing.B) {
	f := startS3(b)
	s := open(b, config(f), s3.Options{Checkpoints: &checkpoints{signedUpTo: 1 << 62}})
	const batch = 1000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs := events("acme", i*batch, batch, func(int) time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) })
		if err := s.Deliver(context.Background(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
