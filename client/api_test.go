package client_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/merkle"
)

// fakeServer serves a memLog over the v1 routes APISource uses.
func fakeServer(t *testing.T, l *memLog, key string) *httptest.Server {
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+key {
				http.Error(w, `{"title":"bad key"}`, http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	num := func(r *http.Request, name string) int64 {
		n, _ := strconv.ParseInt(r.URL.Query().Get(name), 10, 64)
		return n
	}
	writeJSON := func(w http.ResponseWriter, v any) { json.NewEncoder(w).Encode(v) }
	mux.HandleFunc("GET /v1/tenants/acme/log/checkpoint", auth(func(w http.ResponseWriter, r *http.Request) {
		w.Write(l.notes[len(l.notes)-1])
	}))
	mux.HandleFunc("GET /v1/tenants/acme/events", auth(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		after := int64(-1)
		if q.Has("after_seq") {
			after = num(r, "after_seq")
		}
		limit := int(num(r, "limit"))
		var out hashtrail.EventList
		for _, e := range l.events {
			if e == nil || e.Seq <= after || (q.Has("action") && !slices.Contains(q["action"], e.Action)) {
				continue
			}
			if len(out.Events) == limit {
				break
			}
			out.Events = append(out.Events, e)
		}
		writeJSON(w, out)
	}))
	mux.HandleFunc("GET /v1/tenants/acme/log/proof/inclusion", auth(func(w http.ResponseWriter, r *http.Request) {
		seq, size := num(r, "seq"), num(r, "size")
		p, err := merkle.ProveRecord(size, seq, &l.tree)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := hashtrail.InclusionProof{LeafIndex: seq, TreeSize: size}
		for _, h := range p {
			out.Hashes = append(out.Hashes, h[:])
		}
		writeJSON(w, out)
	}))
	mux.HandleFunc("GET /v1/tenants/acme/log/proof/consistency", auth(func(w http.ResponseWriter, r *http.Request) {
		from, to := num(r, "from"), num(r, "to")
		p, err := merkle.ProveTree(to, from, &l.tree)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := hashtrail.ConsistencyProof{From: from, To: to}
		for _, h := range p {
			out.Hashes = append(out.Hashes, h[:])
		}
		writeJSON(w, out)
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestAPISource(t *testing.T) {
	l := cleanLog(t)
	l.announce(client.ActionSubjectErased, client.SubjectErased{Roles: []client.ErasedRole{{Seq: 7, Role: "/actor"}}})
	l.announce(client.ActionRetentionPurge, client.RetentionPurge{Ranges: [][2]int64{{2, 3}}, Policy: "p"})
	l.sign()
	l.erase(7, "/actor")
	l.events[2], l.events[3] = nil, nil
	l.addN(2) // not yet in a checkpoint
	srv := fakeServer(t, l, "k")
	get := client.HTTPGetter(srv.URL, "k", nil)
	for name, src := range map[string]*client.APISource{
		"all":    {Get: get, TenantID: testTenant, PersonalData: true},
		"sample": {Get: get, TenantID: testTenant, Sample: 20, PersonalData: true, Rand: rand.New(rand.NewPCG(1, 2))},
		"every":  {Get: get, TenantID: testTenant, Sample: 1000},
	} {
		t.Run(name, func(t *testing.T) {
			rep := verify(t, verifier(), src)
			wantOK(t, rep)
			if rep.Size != 302 {
				t.Errorf("size %d", rep.Size)
			}
			if name != "sample" && (rep.Purged != 2 || rep.Redacted != 1) {
				t.Errorf("purged %d, redacted %d", rep.Purged, rep.Redacted)
			}
			t.Log(rep.Summary())
		})
	}
	// Tampering shows through the API too.
	l.events[150].Reason = "edited"
	wantFail(t, verify(t, verifier(), &client.APISource{Get: get, TenantID: testTenant}), 150, "leaf hash differs")
	// A bad key is an error, not a verdict.
	if _, err := verifier().Verify(t.Context(), &client.APISource{Get: client.HTTPGetter(srv.URL, "wrong", nil), TenantID: testTenant}); err == nil {
		t.Error("no error with a wrong API key")
	}
}
