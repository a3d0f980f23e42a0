package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

// TestServeGracefulShutdownKeepsAcknowledged loads the server from several
// clients, shuts it down while requests are in flight, restarts it on the
// same data directory, and checks that every acknowledged event is there
// exactly once and that seq has no gaps.
func TestServeGracefulShutdownKeepsAcknowledged(t *testing.T) {
	isolateEnv(t)
	dir := t.TempDir()
	s := runServeCmd(t, "--data", dir)
	key := s.bootstrapKey()

	const clients, batch = 8, 20
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		wg    sync.WaitGroup
	)
	enough := make(chan struct{})
	var enoughOnce sync.Once
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				events := make([]any, batch)
				for i := range events {
					events[i] = loginEvent(fmt.Sprintf("w%d-r%d-e%d", w, n, i))
				}
				body, _ := json.Marshal(map[string]any{"events": events})
				req, _ := http.NewRequestWithContext(t.Context(), "POST", s.url+"/v1/tenants/load/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					return // the server has gone: not acknowledged
				}
				var ack struct{ Events []hashtrail.Receipt }
				err = json.NewDecoder(resp.Body).Decode(&ack)
				resp.Body.Close()
				if resp.StatusCode != 200 || err != nil {
					return // 503 while shutting down, or a cut answer: not acknowledged
				}
				mu.Lock()
				for _, r := range ack.Events {
					acked[r.ID] = true
				}
				if len(acked) >= 40*batch {
					enoughOnce.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-t.Context().Done():
		t.Fatal("the load never got going")
	}
	// The clients keep sending while the server shuts down.
	if err := s.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, s.out)
	}
	wg.Wait()

	s2 := runServeCmd(t, "--data", dir)
	seen := map[string]bool{}
	var seqs []int64
	q := url.Values{"order": {"asc"}, "limit": {"1000"}}
	for {
		var page hashtrail.EventList
		if code := callJSON(t, http.DefaultClient, "GET", s2.url+"/v1/tenants/load/events?"+q.Encode(), key, nil, &page); code != 200 {
			t.Fatalf("list: status %d", code)
		}
		for _, ev := range page.Events {
			if seen[ev.ID] {
				t.Fatalf("event %s stored twice", ev.ID)
			}
			seen[ev.ID] = true
			seqs = append(seqs, ev.Seq)
		}
		if page.NextCursor == "" {
			break
		}
		q.Set("cursor", page.NextCursor)
	}
	for i, seq := range seqs {
		if seq != int64(i) {
			t.Fatalf("seq %d at position %d: the log has a gap", seq, i)
		}
	}
	lost := 0
	for id := range acked {
		if !seen[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged events are missing after a graceful shutdown", lost, len(acked))
	}
	t.Logf("%d events acknowledged, %d stored", len(acked), len(seen))
	if err := s2.stop(); err != nil {
		t.Fatal(err)
	}
}
