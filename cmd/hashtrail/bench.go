package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// benchOptions configures `hashtrail bench`.
type benchOptions struct {
	url, apiKey string
	clients     int
	batch       int
	duration    time.Duration
	rate        float64
	tenants     int
	storeOnly   bool
	baseline    string
	store       string
	compare     bool
	dir         string
	cpuProfile  string
}

// benchResult is one measured run.
type benchResult struct {
	Name      string        `json:"name"`
	Events    int64         `json:"events"`
	Requests  int64         `json:"requests"`
	Errors    int64         `json:"errors"`
	Seconds   float64       `json:"seconds"`
	EventsPS  float64       `json:"events_per_second"`
	P50       time.Duration `json:"p50"`
	P99       time.Duration `json:"p99"`
	Clients   int           `json:"clients"`
	BatchSize int           `json:"batch"`
}

func newBenchCmd() *cobra.Command {
	o := benchOptions{}
	c := &cobra.Command{
		Use:   "bench",
		Short: "Generate load and measure durable ingest (events/s, p50/p99 acknowledgement latency)",
		Long: `bench sends realistic events of about 600 bytes from N concurrent clients in
batches of B and prints events/s and p50/p99 acknowledgement latency.

Without --url it starts a Hashtrail server in-process on a temporary data
directory (SQLite) and loads it over loopback HTTP. --store-only writes the same
events straight into a fresh store (no HTTP, validation or hashing): the store's
own ceiling. --baseline postgres://... writes them one row per request into a
plain PostgreSQL table shaped like seed 003's AuditLog model, as hand-rolled
audit tables do today. --compare runs all three in one invocation and prints
the ratios, which are what docs/benchmarks.md reports: absolute figures vary
between machines, ratios measured in the same run do not.

With --store postgres://... the in-process server and --store-only use the
PostgreSQL store (in a fresh schema, dropped afterwards), and --compare adds
a fourth run, "copy": the same rows written with plain batched COPY into
the seed-shaped table, PostgreSQL's own ceiling for bulk inserts.`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd.Context(), cmd.OutOrStdout(), o) },
	}
	f := c.Flags()
	f.StringVar(&o.url, "url", "", "load this server instead of an in-process one")
	f.StringVar(&o.apiKey, "api-key", os.Getenv("HASHTRAIL_API_KEY"), "installation-wide ingest or admin key for --url")
	f.IntVar(&o.clients, "clients", 8, "concurrent clients")
	f.IntVar(&o.batch, "batch", 100, "events per request")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "how long each run lasts")
	f.Float64Var(&o.rate, "rate", 0, "offered load in events/s across all clients (0: as fast as acknowledged)")
	f.IntVar(&o.tenants, "tenants", 4, "tenants to spread events over")
	f.BoolVar(&o.storeOnly, "store-only", false, "measure only the store's own write ceiling")
	f.StringVar(&o.baseline, "baseline", "", "PostgreSQL URL: measure the seed-style one-row-per-request table")
	f.StringVar(&o.store, "store", "", "run the in-process server and --store-only on this store (postgres://...) instead of SQLite")
	f.BoolVar(&o.compare, "compare", false, "run Hashtrail, --store-only and --baseline and print ratios")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (load generator and in-process server) to this file")
	f.StringVar(&o.dir, "dir", "", "directory for the in-process server's data (default: a temporary one)")
	return c
}

func runBench(ctx context.Context, out io.Writer, o benchOptions) error {
	if o.clients < 1 || o.batch < 1 || o.batch > 1000 {
		return fmt.Errorf("--clients must be at least 1 and --batch between 1 and 1000")
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var results []benchResult
	run := func(name string, f func(context.Context, benchOptions) (benchResult, error)) error {
		fmt.Fprintf(os.Stderr, "bench: %s for %s ...\n", name, o.duration)
		r, err := f(ctx, o)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		r.Name, r.Clients = name, o.clients
		if r.BatchSize == 0 {
			r.BatchSize = o.batch
		}
		results = append(results, r)
		return nil
	}
	switch {
	case o.compare:
		if o.baseline == "" {
			return fmt.Errorf("--compare needs --baseline postgres://...")
		}
		runs := []struct {
			name string
			f    func(context.Context, benchOptions) (benchResult, error)
		}{{"hashtrail", benchServer}, {"store-only", benchStore}, {"baseline", benchBaseline}}
		if o.store != "" {
			runs = append(runs, struct {
				name string
				f    func(context.Context, benchOptions) (benchResult, error)
			}{"copy", benchCopy})
		}
		for _, s := range runs {
			if err := run(s.name, s.f); err != nil {
				return err
			}
		}
	case o.storeOnly:
		if err := run("store-only", benchStore); err != nil {
			return err
		}
	case o.baseline != "":
		if err := run("baseline", benchBaseline); err != nil {
			return err
		}
	default:
		if err := run("hashtrail", benchServer); err != nil {
			return err
		}
	}
	printBench(out, results)
	return nil
}

func printBench(out io.Writer, rs []benchResult) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tclients\tbatch\tevents\terrors\tseconds\tevents/s\tp50\tp99\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1f\t%.0f\t%s\t%s\t\n", r.Name, r.Clients, r.BatchSize, r.Events, r.Errors,
			r.Seconds, r.EventsPS, r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond))
	}
	tw.Flush()
	if len(rs) >= 3 {
		ht, st, bl := rs[0].EventsPS, rs[1].EventsPS, rs[2].EventsPS
		fmt.Fprintf(out, "\nhashtrail / baseline   = %.1fx\nhashtrail / store-only = %.2fx\n", ht/bl, ht/st)
	}
	if len(rs) == 4 {
		fmt.Fprintf(out, "hashtrail / copy       = %.2fx\n", rs[0].EventsPS/rs[3].EventsPS)
	}
	if len(rs) == 1 {
		b, _ := json.Marshal(rs[0])
		fmt.Fprintf(out, "\n%s\n", b)
	}
}

// loadLoop runs o.clients workers calling send until the duration is over,
// pacing them to o.rate events/s when set, and collects latencies.
func loadLoop(ctx context.Context, o benchOptions, send func(ctx context.Context, worker int, rng *rand.Rand) (events int, err error)) benchResult {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var events, reqs, errs atomic.Int64
	lat := make([][]time.Duration, o.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			var interval time.Duration
			if o.rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(o.batch) * float64(o.clients) / o.rate)
			}
			next := time.Now()
			for ctx.Err() == nil {
				if interval > 0 {
					if d := time.Until(next); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
					next = next.Add(interval)
				}
				t0 := time.Now()
				n, err := send(ctx, w, rng)
				if ctx.Err() != nil {
					return // a request cut short by the end of the run is not counted
				}
				reqs.Add(1)
				if err != nil {
					errs.Add(1)
					continue
				}
				events.Add(int64(n))
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := benchResult{Events: events.Load(), Requests: reqs.Load(), Errors: errs.Load(), Seconds: secs,
		EventsPS: float64(events.Load()) / secs}
	if len(all) > 0 {
		r.P50, r.P99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

// benchServer loads a Hashtrail server over HTTP.
func benchServer(ctx context.Context, o benchOptions) (benchResult, error) {
	url, key := o.url, o.apiKey
	if url == "" {
		srv, err := startBenchServer(ctx, o)
		if err != nil {
			return benchResult{}, err
		}
		defer srv.close()
		url, key = srv.url, srv.key
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.clients * 2}, Timeout: time.Minute}
	gen := newEventGen()
	rng := rand.New(rand.NewPCG(3, 4))
	templates := make([][]byte, 32)
	for i := range templates {
		templates[i] = gen.batchTemplate(rng, o.batch)
	}
	r := loadLoop(ctx, o, func(ctx context.Context, w int, rng *rand.Rand) (int, error) {
		tenant := fmt.Sprintf("bench-%d", w%o.tenants)
		body := freshIDs(templates[rng.IntN(len(templates))])
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/tenants/"+tenant+"/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("status %d: %s", resp.StatusCode, msg)
		}
		return o.batch, nil
	})
	return r, nil
}
