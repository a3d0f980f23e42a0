package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// restartable is a real server that can be stopped (store, ledger and
// listener closed: connections are refused) and started again on the same
// data and address.
type restartable struct {
	t    *testing.T
	path string
	addr string
	stop func()
}

func (r *restartable) start() {
	r.t.Helper()
	st, err := sqlite.Open(context.Background(), r.path, sqlite.Config{})
	if err != nil {
		r.t.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{AutoCreateTenants: true})
	if _, err := l.Bootstrap(context.Background(), sdkAdmin); err != nil {
		r.t.Fatal(err)
	}
	addr := r.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	srv := &http.Server{Handler: httpapi.New(l, httpapi.Config{})}
	go srv.Serve(ln)
	r.stop = func() {
		_ = srv.Close()
		_ = l.Close(context.Background())
		_ = st.Close()
	}
}

// The server process goes away in the middle of a stream of events and
// comes back: every event arrives once (a batch whose answer was lost is
// answered again by id), in order.
func TestRealServerRestart(t *testing.T) {
	r := &restartable{t: t, path: filepath.Join(t.TempDir(), "hashtrail.db")}
	r.start()
	t.Cleanup(func() { r.stop() })
	url := "http://" + r.addr
	c := mustNew(t, url, sdkAdmin, fast(client.WithBatchSize(20))...)
	const n = 600
	recorded := make(chan int, n)
	go func() {
		for i := range n {
			ev := newEvent("r-" + strconv.Itoa(i))
			ev.Tenant = "acme"
			if err := c.Record(context.Background(), ev); err != nil && !errors.Is(err, client.ErrClosed) {
				t.Error(err)
			}
			recorded <- i
		}
	}()
	for range n / 3 {
		<-recorded
	}
	r.stop()
	waitFor(t, func() bool { return c.Stats().Retried > 0 })
	r.start()
	for range n - n/3 {
		<-recorded
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := &realServer{URL: url, t: t}
	checkEvents(t, s, "acme", ids("r", n))
	if st := c.Stats(); st.Sent != n || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}
