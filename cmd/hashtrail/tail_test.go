package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

// startTail runs `hashtrail tail` with args until the returned stop is
// called; stop waits for it to end and returns its error.
func startTail(t *testing.T, args ...string) (stdout, stderr *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, stdout, stderr, append([]string{"tail"}, args...)...) }()
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
		}
		return <-done
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return stdout, stderr, stop
}

// numbered returns n events of tenant acme with ids prefix0.. and a failure
// every third one.
func numbered(prefix string, n int) []string {
	raws := make([]string, n)
	for i := range raws {
		outcome := "success"
		if i%3 == 2 {
			outcome = "failure"
		}
		raws[i] = fmt.Sprintf(`{"id":"%s%d","action":"user.login","outcome":%q,"actor":{"type":"user","id":"%d"}}`, prefix, i, outcome, i)
	}
	return raws
}

func TestTailFollowsNewEvents(t *testing.T) {
	clearEnv(t)
	l, url := newServer(t)
	ingest(t, l, "acme", numbered("old", 3)...)

	stdout, stderr, stop := startTail(t, "--url", url, "--api-key", adminSecret, "--tenant", "acme", "--json", "--interval", "10ms")
	waitFor(t, "tail to start", func() bool { return strings.Contains(stderr.String(), "following acme after seq 2") })

	// Appended after the start, in several commits, more than one page of them.
	var want []string
	for round := range 3 {
		raws := numbered(fmt.Sprintf("new%d-", round), 400)
		ingest(t, l, "acme", raws...)
		for i := range raws {
			want = append(want, fmt.Sprintf("new%d-%d", round, i))
		}
	}
	waitFor(t, "every new event", func() bool { return strings.Count(stdout.String(), "\n") >= len(want) })
	if err := stop(); err != nil {
		t.Fatalf("tail ended with %v; stderr: %s", err, stderr.String())
	}
	evs := jsonLines(t, stdout.String())
	if got := ids(evs); got != strings.Join(want, ",") {
		t.Fatalf("tail printed %d events, want %d new ones in order", len(evs), len(want))
	}
	for i, e := range evs {
		if e.Seq != int64(3+i) {
			t.Fatalf("event %d has seq %d, want %d (skipped or repeated)", i, e.Seq, 3+i)
		}
	}
}

func TestTailFiltersAndFromSeq(t *testing.T) {
	clearEnv(t)
	l, url := newServer(t)
	ingest(t, l, "acme", numbered("a", 6)...) // failures: a2, a5

	stdout, stderr, stop := startTail(t, "--url", url, "--api-key", adminSecret, "--tenant", "acme",
		"--outcome", "failure", "--from-seq", "3", "--interval", "10ms")
	waitFor(t, "the backlog", func() bool { return strings.Contains(stdout.String(), "user:5") })
	ingest(t, l, "acme", numbered("b", 3)...) // failure: b2
	waitFor(t, "the new failure", func() bool { return strings.Contains(stdout.String(), "user:2") })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mustContain(t, stderr.String(), "following acme after seq 2")
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "ACTION") {
		t.Fatalf("want a header and two rows:\n%s", stdout.String())
	}
	mustContain(t, lines[1], "x", "5", "user.login", "FAILURE", "user:5")
	mustContain(t, lines[2], "x", "8", "FAILURE", "user:2")
}

func TestTailOffline(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	l, _ := MustOpen(t, dir)
	if _, err := l.CreateTenant(t.Context(), &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, stop := startTail(t, "--data", dir, "--tenant", "acme", "--interval", "10ms")
	waitFor(t, "tail to start", func() bool { return strings.Contains(stderr.String(), "following acme from its first event") })
	ingest(t, l, "acme", sampleEvents...)
	waitFor(t, "the events", func() bool { return strings.Contains(stdout.String(), "app.env_var_add") })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "\n"); n != 6 {
		t.Errorf("want a header and 5 rows:\n%s", stdout.String())
	}
}

func TestTailStopsOnPermanentErrors(t *testing.T) {
	clearEnv(t)
	_, url := newServer(t)
	_, _, err := cliErr(t, "tail", "--url", url, "--api-key", adminSecret, "--tenant", "nope")
	if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("tail of an unknown tenant: %v", err)
	}
}
