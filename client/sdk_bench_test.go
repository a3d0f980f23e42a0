package client_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

// BenchmarkRecord measures Record alone: the sender takes each event off
// the queue and drops it (WithDiscard), so allocs/op counts only what
// Record allocates. Events are built before the timer starts.
//
//	go test -run '^$' -bench 'Record$' -benchmem ./client/
func BenchmarkRecord(b *testing.B) {
	run := func(b *testing.B, ctx context.Context) {
		c, err := client.New("http://127.0.0.1:1", "k", client.WithTenant("acme"), client.WithDiscard(),
			client.WithQueueSize(1<<16), client.WithBlockWhenFull(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close(context.Background())
		evs := make([]hashtrail.Event, 4096)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ev := &evs[i%len(evs)]
			*ev = hashtrail.Event{Action: "user.login"}
			if err := c.Record(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, context.Background()) })
	b.Run("middleware-context", func(b *testing.B) {
		var ctx context.Context
		mw := client.Middleware(client.MiddlewareConfig{Source: "web"})
		r := httptest.NewRequest("GET", "/x", nil)
		mw(httpHandlerFunc(func(r2 context.Context) { ctx = r2 })).ServeHTTP(httptest.NewRecorder(), r)
		ctx = client.WithActor(ctx, &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42"})
		run(b, ctx)
	})
	b.Run("parallel", func(b *testing.B) {
		c, err := client.New("http://127.0.0.1:1", "k", client.WithTenant("acme"), client.WithDiscard(),
			client.WithQueueSize(1<<16), client.WithBlockWhenFull(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close(context.Background())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			evs := make([]hashtrail.Event, 4096)
			i := 0
			for pb.Next() {
				ev := &evs[i%len(evs)]
				*ev = hashtrail.Event{Action: "user.login"}
				if err := c.Record(context.Background(), ev); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

// BenchmarkRecordEndToEnd sends b.N events through a real in-process server
// (ledger over SQLite behind the HTTP API, sharing the machine) and waits
// until the last is durable; events/s is the throughput.
//
//	go test -run '^$' -bench EndToEnd -benchtime 50000x ./client/
func BenchmarkRecordEndToEnd(b *testing.B) {
	s := startServer(b)
	c, err := client.New(s.URL, sdkAdmin, client.WithQueueSize(50000), client.WithBatchSize(1000), client.WithBlockWhenFull(time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	meta := []byte(`{"plan":"pro","seats":12}`)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ev := &hashtrail.Event{Tenant: "bench", Action: "project.update", Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: strconv.Itoa(i % 100)},
			Targets: []hashtrail.Target{{Type: "project", ID: "7"}}, Metadata: meta}
		if err := c.Record(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if st := c.Stats(); st.Sent != uint64(b.N) {
		b.Fatalf("sent %d of %d", st.Sent, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkDiff measures Diff over a small struct with a nested one and a
// secret.
func BenchmarkDiff(b *testing.B) {
	old := user{Name: "Ada", Email: "a@example.com", Password: "x", Address: &address{City: "London"}}
	new := old
	new.Email, new.Password, new.Address = "b@example.com", "y", &address{City: "Paris"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(client.Diff(old, new)) != 3 {
			b.Fatal("wrong diff")
		}
	}
}
