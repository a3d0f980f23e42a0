package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/spf13/cobra"
)

// newTailCmd builds `hashtrail tail`: follow a tenant's log as it grows.
func newTailCmd() *cobra.Command {
	var (
		ff       filterFlags
		fromSeq  int64
		interval time.Duration
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "tail --tenant T [filters]",
		Short: "Follow a tenant's new events live",
		Long: `Follow a tenant's log: print each new event that matches the filters as it
is appended, oldest first, until interrupted (Ctrl-C). It starts at the current
end of the log, or at --from-seq, and asks for events after the last seq it has
seen every --interval, so it never skips or repeats one. Passing failures
(server unreachable, 429, 5xx) are reported on stderr and retried.

Takes the same filters as ` + "`hashtrail events`" + ` and reaches Hashtrail the same ways.`,
		Example: `  hashtrail tail --tenant acme
  hashtrail tail --tenant acme --outcome failure --json | jq .
  hashtrail tail --url http://127.0.0.1:8080 --api-key $KEY --tenant acme --from-seq 0`,
		Args: cobra.NoArgs,
	}
	rf := addRemoteFlags(cmd)
	ff.add(cmd)
	f := cmd.Flags()
	f.Int64Var(&fromSeq, "from-seq", -1, "start at this seq (0 replays the whole log) instead of the current end")
	f.DurationVar(&interval, "interval", time.Second, "how often to ask for new events")
	f.BoolVar(&asJSON, "json", false, "print JSON Lines, one event per line")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		q, err := ff.query(time.Now())
		if err != nil {
			return readable(err)
		}
		if interval <= 0 {
			return readable(invalidFlag("--interval", "must be positive, such as 1s or 250ms"))
		}
		if cmd.Flags().Changed("from-seq") && fromSeq < 0 {
			return readable(invalidFlag("--from-seq", "must be 0 or more"))
		}
		return rf.withService(cmd, func(svc service) error {
			t := &tailer{svc: svc, q: q, interval: interval,
				out: newEventPrinter(cmd.OutOrStdout(), asJSON), stderr: cmd.ErrOrStderr()}
			if cmd.Flags().Changed("from-seq") {
				t.startAt(fromSeq)
			}
			return t.run(cmd.Context())
		})
	}
	return cmd
}

// tailer follows one tenant's log. last is the highest seq it has dealt
// with (printed, or before the start); nil before the first event.
type tailer struct {
	svc      service
	q        *hashtrail.Query
	interval time.Duration
	out      *eventPrinter
	stderr   io.Writer
	last     *int64
	started  bool
}

// startAt makes the tail begin with seq (inclusive).
func (t *tailer) startAt(seq int64) {
	t.started = true
	if seq > 0 {
		prev := seq - 1
		t.last = &prev
	}
}

// run follows the log until ctx ends, which is a clean stop (nil).
func (t *tailer) run(ctx context.Context) error {
	err := t.follow(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (t *tailer) follow(ctx context.Context) error {
	for !t.started {
		err := t.findEnd(ctx)
		if err == nil {
			break
		}
		if !transient(err) {
			return err
		}
		t.warn(err)
		if err := sleep(ctx, t.interval); err != nil {
			return err
		}
	}
	from := "from its first event"
	if t.last != nil {
		from = fmt.Sprintf("after seq %d", *t.last)
	}
	fmt.Fprintf(t.stderr, "following %s %s (Ctrl-C to stop)\n", t.q.Tenant, from)
	for {
		more, err := t.poll(ctx)
		if err != nil {
			if !transient(err) || ctx.Err() != nil {
				return err
			}
			t.warn(err)
		}
		if !more {
			if err := sleep(ctx, t.interval); err != nil {
				return err
			}
		}
	}
}

// findEnd sets the start to just after the newest event of the whole log,
// filters aside, so that the first poll prints only what comes next.
func (t *tailer) findEnd(ctx context.Context) error {
	list, err := t.svc.Events(ctx, &hashtrail.Query{Tenant: t.q.Tenant, Order: hashtrail.OrderDesc, Limit: 1})
	if err != nil {
		return err
	}
	t.started = true
	if len(list.Events) > 0 {
		seq := list.Events[0].Seq
		t.last = &seq
	}
	return nil
}

// poll prints the matching events after the last seen, oldest first, and
// reports whether more are waiting. The log grows only at its end and seq
// never repeats, so asking for seq > last misses nothing and repeats nothing.
func (t *tailer) poll(ctx context.Context) (bool, error) {
	q := *t.q
	q.Order = hashtrail.OrderAsc
	q.Limit = hashtrail.MaxLimit
	q.AfterSeq = t.last
	list, err := t.svc.Events(ctx, &q)
	if err != nil {
		return false, err
	}
	// Keep only what lies past last, in case a server ignored after_seq.
	fresh := list.Events[:0:0]
	for _, e := range list.Events {
		if t.last == nil || e.Seq > *t.last {
			fresh = append(fresh, e)
			seq := e.Seq
			t.last = &seq
		}
	}
	if err := t.out.print(fresh); err != nil {
		return false, &writeError{err}
	}
	return list.NextCursor != "" && len(fresh) > 0, nil
}

func (t *tailer) warn(err error) {
	fmt.Fprintf(t.stderr, "hashtrail tail: %v; retrying in %s\n", readable(err), t.interval)
}

// transient reports whether err may pass by itself: the server unreachable,
// overloaded or failing. Bad input and credentials are not retried.
func transient(err error) bool {
	var we *writeError
	if errors.As(err, &we) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch hashtrail.ErrorCode(err) {
	case hashtrail.EUNAVAILABLE, hashtrail.ERATELIMIT, hashtrail.EINTERNAL:
		return true
	}
	return false
}

// writeError is a failure to print, such as a closed pipe: it ends the tail.
type writeError struct{ err error }

func (e *writeError) Error() string { return "writing output: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
