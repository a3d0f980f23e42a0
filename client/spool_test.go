package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail/client"
)

func recordTo(t *testing.T, c *client.Client, tenant, prefix string, n int) []string {
	t.Helper()
	want := ids(tenant+"-"+prefix, n)
	for _, id := range want {
		ev := newEvent(id)
		ev.Tenant = tenant
		if err := c.Record(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// The app closes without flushing while the server is down; a new Client
// on the same spool sends every event once, in order, when the server is
// back, before the events recorded since.
func TestSpoolSurvivesRestart(t *testing.T) {
	s := startServer(t)
	f := newFault(t, s.URL)
	dir := t.TempDir()
	c1, err := client.New(f.URL, sdkAdmin, fast(client.WithSpool(dir), client.WithBatchSize(7), client.WithSpoolSegmentBytes(2000))...)
	if err != nil {
		t.Fatal(err)
	}
	x1 := recordTo(t, c1, "x", "a", 10)
	if err := c1.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.setDown(true)
	x2 := recordTo(t, c1, "x", "b", 40)
	y2 := recordTo(t, c1, "y", "b", 40)
	waitFor(t, func() bool { return c1.Stats().Spooled > 0 })
	if err := c1.Close(cancelled()); err != nil {
		t.Fatalf("Close with a spool lost events: %v", err)
	}
	st := c1.Stats()
	if st.Dropped != 0 || st.SpoolEvents != 80 {
		t.Fatalf("stats after close %+v", st)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) < 2 {
		t.Errorf("%d segments; the small segment size should have made several", len(segs))
	}

	c2 := mustNew(t, f.URL, sdkAdmin, fast(client.WithSpool(dir))...)
	if st := c2.Stats(); st.SpoolEvents != 80 {
		t.Fatalf("reopened spool holds %d events", st.SpoolEvents)
	}
	x3 := recordTo(t, c2, "x", "c", 5)
	f.setDown(false)
	if err := c2.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "x", append(append(x1, x2...), x3...))
	checkEvents(t, s, "y", y2)
	if st := c2.Stats(); st.SpoolEvents != 0 || st.SpoolBytes != 0 || st.Sent != 85 {
		t.Errorf("stats %+v", st)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) != 0 {
		t.Errorf("segments left: %v", segs)
	}
}

// A spool sent again from the start (its head file lost after a crash)
// duplicates nothing: the server answers the replays by id.
func TestSpoolReplayIsIdempotent(t *testing.T) {
	s := startServer(t)
	f := newFault(t, s.URL)
	dir := t.TempDir()
	f.setDown(true)
	c1, err := client.New(f.URL, sdkAdmin, fast(client.WithSpool(dir))...)
	if err != nil {
		t.Fatal(err)
	}
	want := recordTo(t, c1, "x", "r", 30)
	if err := c1.Close(cancelled()); err != nil {
		t.Fatal(err)
	}
	copyDir(t, dir, dir+".copy")
	f.setDown(false)
	c2, err := client.New(f.URL, sdkAdmin, fast(client.WithSpool(dir))...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "x", want)
	// The copy still holds everything: sending it again changes nothing.
	c3 := mustNew(t, f.URL, sdkAdmin, fast(client.WithSpool(dir+".copy"))...)
	if err := c3.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "x", want)
	if st := c3.Stats(); st.Sent != 30 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A record cut short by a crash is dropped when the spool opens; the rest
// is sent.
func TestSpoolTornTail(t *testing.T) {
	s := startServer(t)
	f := newFault(t, s.URL)
	dir := t.TempDir()
	f.setDown(true)
	c1, err := client.New(f.URL, sdkAdmin, fast(client.WithSpool(dir))...)
	if err != nil {
		t.Fatal(err)
	}
	want := recordTo(t, c1, "x", "t", 12)
	if err := c1.Close(cancelled()); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	last := segs[len(segs)-1]
	fh, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.Write([]byte{0, 0, 1, 0, 9, 9, 9, 9, '{', '"'}) // a header and a few bytes of payload
	fh.Close()
	f.setDown(false)
	c2 := mustNew(t, f.URL, sdkAdmin, fast(client.WithSpool(dir))...)
	if st := c2.Stats(); st.SpoolEvents != 12 {
		t.Fatalf("spool holds %d events", st.SpoolEvents)
	}
	if err := c2.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "x", want)
}

// RecordSync and Flush wait for the spool to be sent; a RecordSync whose
// event is spooled when the client closes learns it.
func TestSpoolSyncAndFlush(t *testing.T) {
	s := startServer(t)
	f := newFault(t, s.URL)
	dir := t.TempDir()
	f.setDown(true)
	c := mustNew(t, f.URL, sdkAdmin, fast(client.WithSpool(dir))...)
	first := recordTo(t, c, "x", "f", 5)
	waitFor(t, func() bool { return c.Stats().Spooled > 0 })
	res := make(chan error, 1)
	go func() {
		ev := newEvent("x-sync")
		ev.Tenant = "x"
		r, err := c.RecordSync(t.Context(), ev)
		if err == nil && r.Seq != 5 {
			err = errors.New("seq " + strconv.FormatInt(r.Seq, 10))
		}
		res <- err
	}()
	flushed := make(chan error, 1)
	go func() { flushed <- c.Flush(t.Context()) }()
	waitFor(t, func() bool { return c.Stats().Spooled >= 6 })
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned %v while the server is down", err)
	default:
	}
	f.setDown(false)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "x", append(first, "x-sync"))

	// Closing while a RecordSync waits in the spool.
	f.setDown(true)
	c2, err := client.New(f.URL, sdkAdmin, fast(client.WithSpool(t.TempDir()))...)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		ev := newEvent("x-sync-2")
		ev.Tenant = "x"
		_, err := c2.RecordSync(context.Background(), ev)
		res <- err
	}()
	waitFor(t, func() bool { return c2.Stats().Spooled > 0 })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := c2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, client.ErrSpooled) {
		t.Fatalf("RecordSync: %v", err)
	}
}

// With a spool limit, a long outage fills the spool, then the queue, then
// the full policy drops.
func TestSpoolLimit(t *testing.T) {
	f := newFault(t, unusedAddr(t))
	f.setDown(true)
	c := mustNew(t, f.URL, sdkAdmin, fast(client.WithSpool(t.TempDir()), client.WithSpoolLimit(2000), client.WithQueueSize(5),
		client.WithDropWhenFull(), client.WithBatchSize(5))...)
	var dropped int
	for i := range 200 {
		ev := newEvent("l" + strconv.Itoa(i))
		ev.Tenant = "x"
		if err := c.Record(t.Context(), ev); errors.Is(err, client.ErrQueueFull) {
			dropped++
		}
		if i%10 == 0 {
			time.Sleep(time.Millisecond) // let the sender spool
		}
	}
	st := c.Stats()
	if dropped == 0 || st.Dropped != uint64(dropped) {
		t.Fatalf("dropped %d, stats %+v", dropped, st)
	}
	if st.SpoolBytes < 2000 || st.SpoolBytes > 2000+5*400 {
		t.Errorf("spool bytes %d for a limit of 2000", st.SpoolBytes)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// The server flaps while goroutines record: with a spool every event
// arrives once, each tenant in order, through every switch between
// sending from memory and from the spool.
func TestSpoolFlappingServer(t *testing.T) {
	s := startServer(t)
	f := newFault(t, s.URL)
	c := mustNew(t, f.URL, sdkAdmin, fast(client.WithSpool(t.TempDir()), client.WithBatchSize(13), client.WithSpoolSegmentBytes(4096))...)
	const tenants, rounds, each = 3, 4, 25
	want := map[string][]string{}
	for r := range rounds {
		f.setDown(r%2 == 0)
		before := c.Stats().Spooled
		done := make(chan []string, tenants)
		for i := range tenants {
			tenant := "f" + strconv.Itoa(i)
			go func() {
				var got []string
				for j := range each {
					id := tenant + "-" + strconv.Itoa(r) + "-" + strconv.Itoa(j)
					ev := newEvent(id)
					ev.Tenant = tenant
					if err := c.Record(context.Background(), ev); err != nil {
						t.Error(err)
					}
					got = append(got, id)
				}
				done <- append([]string{tenant}, got...)
			}()
		}
		for range tenants {
			l := <-done
			want[l[0]] = append(want[l[0]], l[1:]...)
		}
		if r%2 == 0 {
			waitFor(t, func() bool { return c.Stats().Spooled > before })
		}
	}
	f.setDown(false)
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for tenant, ids := range want {
		checkEvents(t, s, tenant, ids)
	}
	if m := f.maxInflight.Load(); m != 1 {
		t.Errorf("%d requests in flight at once; one sender sends one at a time", m)
	}
	if st := c.Stats(); st.Sent != tenants*rounds*each || st.SpoolEvents != 0 {
		t.Errorf("stats %+v", st)
	}
}
