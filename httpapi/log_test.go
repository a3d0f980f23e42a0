package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// integrityAnswers are the fake service's canned tamper-evidence answers.
type integrityAnswers struct {
	keys       *hashtrail.LogKeys
	checkpoint *hashtrail.SignedCheckpoint
	proof      *hashtrail.EventProof
	tile       []byte
	install    []byte
	witnessed  *hashtrail.WitnessedCheckpoint
}

func (f *fakeService) InstallationCheckpoint(ctx context.Context) ([]byte, error) {
	if err := f.record(ctx, "InstallationCheckpoint"); err != nil {
		return nil, err
	}
	return f.integ.install, nil
}

func (f *fakeService) Witnessed(ctx context.Context, tenant string) (*hashtrail.WitnessedCheckpoint, error) {
	if err := f.record(ctx, "Witnessed", tenant); err != nil {
		return nil, err
	}
	return f.integ.witnessed, nil
}

func (f *fakeService) LogKeys(ctx context.Context) (*hashtrail.LogKeys, error) {
	if err := f.record(ctx, "LogKeys"); err != nil {
		return nil, err
	}
	return f.integ.keys, nil
}

func (f *fakeService) Checkpoint(ctx context.Context, tenant string) (*hashtrail.SignedCheckpoint, error) {
	if err := f.record(ctx, "Checkpoint", tenant); err != nil {
		return nil, err
	}
	return f.integ.checkpoint, nil
}

func (f *fakeService) InclusionProof(ctx context.Context, tenant string, seq, size int64) (*hashtrail.InclusionProof, error) {
	if err := f.record(ctx, "InclusionProof", tenant, seq, size); err != nil {
		return nil, err
	}
	return &hashtrail.InclusionProof{LeafIndex: seq, TreeSize: size, Hashes: [][]byte{make([]byte, 32)}}, nil
}

func (f *fakeService) ConsistencyProof(ctx context.Context, tenant string, from, to int64) (*hashtrail.ConsistencyProof, error) {
	if err := f.record(ctx, "ConsistencyProof", tenant, from, to); err != nil {
		return nil, err
	}
	return &hashtrail.ConsistencyProof{From: from, To: to, Hashes: [][]byte{}}, nil
}

func (f *fakeService) EventProof(ctx context.Context, tenant, id string, wait time.Duration) (*hashtrail.EventProof, error) {
	if err := f.record(ctx, "EventProof", tenant, id, wait); err != nil {
		return nil, err
	}
	return f.integ.proof, nil
}

func (f *fakeService) Receipt(ctx context.Context, tenant, id string, wait time.Duration) ([]byte, error) {
	if err := f.record(ctx, "Receipt", tenant, id, wait); err != nil {
		return nil, err
	}
	return []byte("c2sp.org/tlog-proof@v1\nindex 0\n\nnote\n"), nil
}

func (f *fakeService) Tile(ctx context.Context, tenant, path string) ([]byte, error) {
	if err := f.record(ctx, "Tile", tenant, path); err != nil {
		return nil, err
	}
	return f.integ.tile, nil
}

func TestLogKeysNeedNoAuth(t *testing.T) {
	s := newServer(t)
	s.svc.integ.keys = &hashtrail.LogKeys{Current: "b+00000002+Ab", All: []string{"a+00000001+Aa", "b+00000002+Ab"}}
	rec := s.do(t, req{method: "GET", target: "/v1/log/key", headers: []string{"Authorization", ""}})
	if rec.Code != 200 || rec.Body.String() != "b+00000002+Ab\n" || rec.Header().Get("Content-Type") != api.ContentTypeText {
		t.Fatalf("key: %d %q %q", rec.Code, rec.Body, rec.Header().Get("Content-Type"))
	}
	rec = s.do(t, req{method: "GET", target: "/v1/log/keys", headers: []string{"Authorization", ""}})
	if rec.Code != 200 || rec.Body.String() != "a+00000001+Aa\nb+00000002+Ab\n" {
		t.Fatalf("keys: %d %q", rec.Code, rec.Body)
	}
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/log/keys?x=1"}), 400)
}

func TestCheckpointRoute(t *testing.T) {
	s := newServer(t)
	s.svc.integ.checkpoint = &hashtrail.SignedCheckpoint{Tenant: "acme", Size: 1, Note: []byte("o/acme\n1\nAAAA\n\n— o/acme sig\n")}
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/log/checkpoint"})
	if rec.Code != 200 || rec.Body.String() != string(s.svc.integ.checkpoint.Note) || rec.Header().Get("Content-Type") != api.ContentTypeText {
		t.Fatalf("checkpoint: %d %q", rec.Code, rec.Body)
	}
	if c := s.svc.last(t, "Checkpoint"); c.args[0] != "acme" || c.principal == nil {
		t.Errorf("call = %+v", c)
	}
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/log/checkpoint", headers: []string{"Authorization", ""}}), 401)
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/Bad!/log/checkpoint"}), 404)
}

func TestProofParams(t *testing.T) {
	s := newServer(t)
	var ip api.InclusionProof
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/log/proof/inclusion?seq=3&size=10"}), 200, &ip)
	if ip.LeafIndex != 3 || ip.TreeSize != 10 || len(ip.Hashes) != 1 {
		t.Errorf("proof = %+v", ip)
	}
	// Hashes are base64 on the wire.
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/log/proof/inclusion?seq=3"})
	if !strings.Contains(rec.Body.String(), `"hashes":["`+base64.StdEncoding.EncodeToString(make([]byte, 32))+`"]`) {
		t.Errorf("body = %s", rec.Body)
	}
	if c := s.svc.last(t, "InclusionProof"); c.args[2] != int64(0) {
		t.Errorf("absent size passed as %v, want 0 (latest)", c.args[2])
	}
	var cp api.ConsistencyProof
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/log/proof/consistency?from=2&to=9"}), 200, &cp)
	if cp.From != 2 || cp.To != 9 || cp.Hashes == nil {
		t.Errorf("proof = %+v", cp)
	}
	for _, tc := range []struct {
		target string
		fields []string
	}{
		{"/v1/tenants/acme/log/proof/inclusion", []string{"seq"}},
		{"/v1/tenants/acme/log/proof/inclusion?seq=-1&size=0", []string{"seq", "size"}},
		{"/v1/tenants/acme/log/proof/inclusion?seq=x&size=1&seq=2", []string{"seq"}},
		{"/v1/tenants/acme/log/proof/inclusion?seq=1&n=2", []string{"n"}},
		{"/v1/tenants/acme/log/proof/consistency?to=3", []string{"from"}},
		{"/v1/tenants/acme/log/proof/consistency?from=0&to=99999999999999999999", []string{"from", "to"}},
	} {
		p := decodeProblem(t, s.do(t, req{method: "GET", target: tc.target}), 400)
		f := fieldSet(p)
		for _, want := range tc.fields {
			if f[want] == "" {
				t.Errorf("%s: errors %+v lack %s", tc.target, p.Errors, want)
			}
		}
	}
}

func TestEventProofRoute(t *testing.T) {
	s := newServer(t)
	s.svc.integ.proof = &hashtrail.EventProof{
		Event: &hashtrail.Event{ID: "e1", Action: "user.login", Tenant: "acme", Seq: 4},
		Leaf:  []byte(`{"v":1}`), Proof: hashtrail.InclusionProof{LeafIndex: 4, TreeSize: 5, Hashes: [][]byte{make([]byte, 32)}},
		Checkpoint: "o/acme\n5\nAAAA\n\n— o/acme sig\n",
	}
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/events/e1?proof=true&wait=2s"})
	var out map[string]json.RawMessage
	decodeJSON(t, rec, 200, &out)
	for _, k := range []string{"id", "action", "seq", "leaf", "proof", "checkpoint"} {
		if out[k] == nil {
			t.Errorf("answer lacks %s: %s", k, rec.Body)
		}
	}
	if string(out["leaf"]) != `"`+base64.StdEncoding.EncodeToString([]byte(`{"v":1}`))+`"` {
		t.Errorf("leaf = %s", out["leaf"])
	}
	if c := s.svc.last(t, "EventProof"); c.args[2] != 2*time.Second {
		t.Errorf("wait = %v", c.args[2])
	}
	for _, target := range []string{
		"/v1/tenants/acme/events/e1?wait=2s",
		"/v1/tenants/acme/events/e1?proof=true&wait=1h",
		"/v1/tenants/acme/events/e1?proof=maybe",
	} {
		decodeProblem(t, s.do(t, req{method: "GET", target: target}), 400)
	}
}

func TestReceiptRoute(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/events/e1/receipt?wait=1s"})
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "c2sp.org/tlog-proof@v1\n") || rec.Header().Get("Content-Type") != api.ContentTypeText {
		t.Fatalf("receipt: %d %q", rec.Code, rec.Body)
	}
	if c := s.svc.last(t, "Receipt"); c.args[0] != "acme" || c.args[1] != "e1" || c.args[2] != time.Second {
		t.Errorf("call = %+v", c)
	}
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/events/e1/receipt?wait=soon"}), 400)
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/events/bad%20id/receipt"}), 404)
}

func TestTileRoute(t *testing.T) {
	s := newServer(t)
	s.svc.integ.tile = make([]byte, 64)
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/log/tile/0/x001/234.p/2"})
	if rec.Code != 200 || rec.Body.Len() != 64 || rec.Header().Get("Content-Type") != api.ContentTypeTile {
		t.Fatalf("tile: %d %q", rec.Code, rec.Header())
	}
	if c := s.svc.last(t, "Tile"); c.args[1] != "0/x001/234.p/2" {
		t.Errorf("path = %v", c.args[1])
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("partial tile Cache-Control = %q", cc)
	}
	rec = s.do(t, req{method: "GET", target: "/v1/tenants/acme/log/tile/1/000"})
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("full tile Cache-Control = %q", cc)
	}
}
