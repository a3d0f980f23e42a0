package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

// node is one engine of a cluster test: a ledger over a shared store,
// seen through a wrapper that records which node signed what.
type node struct {
	hashtrail.Store
	name string
	rec  *signings
	// dead makes ReleaseLease a no-op, as for a node killed with SIGKILL.
	dead bool
}

// signings records, per tenant, the nodes that stored its checkpoints.
type signings struct {
	mu  sync.Mutex
	by  map[string]map[string]int // tenant -> node -> checkpoints
	ins map[string]int            // node -> installation checkpoints
}

func (n *node) AddCheckpoint(ctx context.Context, cp *hashtrail.SignedCheckpoint) error {
	err := n.Store.AddCheckpoint(ctx, cp)
	if err == nil {
		n.rec.mu.Lock()
		if n.rec.by[cp.Tenant] == nil {
			n.rec.by[cp.Tenant] = map[string]int{}
		}
		n.rec.by[cp.Tenant][n.name]++
		n.rec.mu.Unlock()
	}
	return err
}

func (n *node) AddInstallationCheckpoint(ctx context.Context, cp *hashtrail.SignedCheckpoint) error {
	err := n.Store.AddInstallationCheckpoint(ctx, cp)
	if err == nil {
		n.rec.mu.Lock()
		n.rec.ins[n.name]++
		n.rec.mu.Unlock()
	}
	return err
}

func (n *node) ReleaseLease(ctx context.Context, name, holder string) error {
	if n.dead {
		return nil
	}
	return n.Store.ReleaseLease(ctx, name, holder)
}

func (s *signings) signers(tenant string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.by[tenant] {
		out[k] = v
	}
	return out
}

// TestClusterSignsEachLogOnce runs two engines on one store, as two nodes
// on one PostgreSQL database do: both take writes for the same tenants, one
// node signs each log (and the installation log) at a time, every log gets
// checkpoints covering what either node wrote, and when the signing node
// dies without releasing its leases the other takes over after LeaseTTL.
// The lease lasts seconds so that a loaded test machine (-race, other
// packages) cannot stall a renewal past it.
func TestClusterSignsEachLogOnce(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "hashtrail.db"))
	t.Cleanup(func() { st.Close() })
	key := testKey("a")
	if _, err := ledger.SetupLog(t.Context(), st, ledger.LogSetup{ServerName: testServerName, Signer: key}); err != nil {
		t.Fatal(err)
	}
	rec := &signings{by: map[string]map[string]int{}, ins: map[string]int{}}
	cfg := func(name string) ledger.Config {
		return ledger.Config{Signer: key, ServerName: testServerName, AutoCreateTenants: true, Cluster: true,
			NodeName: name, LeaseTTL: 3 * time.Second, CheckpointInterval: 20 * time.Millisecond}
	}
	a := &node{Store: st, name: "a", rec: rec}
	b := &node{Store: st, name: "b", rec: rec}
	la := ledger.New(a, cfg("a"))
	lb := ledger.New(b, cfg("b"))
	t.Cleanup(func() { lb.Close(context.Background()) })
	ctx := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)

	tenants := []string{"acme", "globex", "initech"}
	var wg sync.WaitGroup
	for i, l := range []*ledger.Ledger{la, lb} {
		wg.Go(func() {
			for j := range 30 {
				for _, tn := range tenants {
					raw := fmt.Sprintf(`{"id":"n%d-%d","action":"user.login","actor":{"type":"user","id":"1"}}`, i, j)
					if _, err := ingest(t, ctx, l, tn, raw); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, tn := range tenants {
		waitCheckpoint(t, st, tn, 60)
		waitInstalled(t, st, tn, 60)
		if got := rec.signers(tn); len(got) != 1 {
			t.Errorf("tenant %s was signed by %v; want exactly one node", tn, got)
		}
	}

	// Kill the node that signs acme (no lease released) and write on both:
	// the survivor takes acme over once the lease expires.
	var killed, survivor *ledger.Ledger
	var killedNode, survivorNode *node
	if _, ok := rec.signers("acme")["a"]; ok {
		killed, survivor, killedNode, survivorNode = la, lb, a, b
	} else {
		killed, survivor, killedNode, survivorNode = lb, la, b, a
	}
	killedNode.dead = true
	if err := killed.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if survivor == la {
		t.Cleanup(func() { la.Close(context.Background()) })
	}
	if _, err := ingest(t, ctx, survivor, "acme", `{"id":"after","action":"user.login","actor":{"type":"user","id":"1"}}`); err != nil {
		t.Fatal(err)
	}
	waitCheckpoint(t, st, "acme", 61)
	waitInstalled(t, st, "acme", 61)
	if got := rec.signers("acme"); got[survivorNode.name] == 0 {
		t.Errorf("after the signing node died, acme was signed by %v; want the survivor %s too", got, survivorNode.name)
	}
}

// waitInstalled waits until the installation log holds tenant's checkpoint
// of size.
func waitInstalled(tb testing.TB, st hashtrail.Store, tenant string, size int64) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := st.HasInstallationEntry(context.Background(), tenant, size)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the installation log has no checkpoint of %s at size %d: %v", tenant, size, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// upkeepNode is a node whose store needs upkeep, counting the runs.
type upkeepNode struct {
	*node
	mu   *sync.Mutex
	runs map[string]int
}

func (n upkeepNode) Upkeep(context.Context) error {
	n.mu.Lock()
	n.runs[n.name]++
	n.mu.Unlock()
	return nil
}

// TestClusterUpkeepOnOneNode checks that store upkeep runs on one node of
// two at a time, at its interval, and moves to the other when that node
// dies without releasing its lease.
func TestClusterUpkeepOnOneNode(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "hashtrail.db"))
	t.Cleanup(func() { st.Close() })
	rec := &signings{by: map[string]map[string]int{}, ins: map[string]int{}}
	var mu sync.Mutex
	runs := map[string]int{}
	count := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range runs {
			out[k] = v
		}
		return out
	}
	cfg := func(name string) ledger.Config {
		return ledger.Config{Cluster: true, NodeName: name, LeaseTTL: 2 * time.Second, UpkeepInterval: 50 * time.Millisecond}
	}
	a := upkeepNode{&node{Store: st, name: "a", rec: rec}, &mu, runs}
	b := upkeepNode{&node{Store: st, name: "b", rec: rec}, &mu, runs}
	la := ledger.New(a, cfg("a"))
	lb := ledger.New(b, cfg("b"))
	t.Cleanup(func() { la.Close(context.Background()); lb.Close(context.Background()) })

	time.Sleep(600 * time.Millisecond)
	got := count()
	if len(got) != 1 {
		t.Fatalf("upkeep ran on %v; want exactly one node", got)
	}
	holder, holderNode, otherName := la, a.node, "b"
	if got["b"] > 0 {
		holder, holderNode, otherName = lb, b.node, "a"
	}
	if n := got[holderNode.name]; n < 3 {
		t.Errorf("upkeep ran %d times in 600ms at a 50ms interval; want it repeated", n)
	}
	holderNode.dead = true
	holder.Close(context.Background())
	deadline := time.Now().Add(15 * time.Second)
	for count()[otherName] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("upkeep did not move to node %s after %s died: %v", otherName, holderNode.name, count())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
