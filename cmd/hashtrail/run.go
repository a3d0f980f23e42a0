package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/spf13/cobra"
)

// exitCodeError ends hashtrail with a given exit code and no message: `run`
// exits with its command's code.
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// runOptions are the flags of `hashtrail run`.
type runOptions struct {
	tenant, action, actor, reason string
	targets, env, tags            []string
	maxOutput                     int
}

// Defaults and limits of `hashtrail run`.
const (
	defaultRunOutput = 64 << 10
	redacted         = hashtrail.RedactedValue // the one marker, as ingest redaction writes it
	// recordAttempts bounds how often the event is sent (RecordSync
	// semantics: the same event id every time, so a retry never doubles it).
	recordAttempts = 5
)

func newRunCmd() *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run --tenant T [--action A] [--target type:id]... [--actor type:id] -- COMMAND [ARGS...]",
		Short: "Run a command and record it, with its output and exit code, as one event",
		Long: `Run a command as usual — its output streams to the terminal and it reads this
terminal's input — and record one event with the command line, exit code,
duration and captured stdout and stderr (each capped, keeping the head and the
tail), outcome success for exit code 0 and failure otherwise (or a signal).
Secrets are redacted before anything leaves the machine: values of
arguments like --password=x or --token x, NAME=value arguments whose NAME
looks secret (hashtrail.SecretName, the rule client.Diff uses), passwords in
URLs (https://user:pass@host), Authorization headers, and the values of
secret-looking environment variables wherever they appear in the command line
or the output.

hashtrail run exits with the command's exit code (128+N when signal N ended
it) and forwards SIGINT and SIGTERM to it. When the event cannot be recorded
after a few tries it says so on stderr and still exits with the command's code.
The command's output goes through a pipe, not a terminal: programs that colour
or buffer differently on a terminal may behave as they do in CI.`,
		Example: `  hashtrail run --tenant acme --action app.deploy --target app:web --actor user:alice -- ./deploy.sh v1.2.3
  HASHTRAIL_URL=https://audit.example.com HASHTRAIL_API_KEY=htk_... hashtrail run --tenant acme -- make migrate`,
		Args: cobra.MinimumNArgs(1),
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // everything after the command is its own
	rf := addRemoteFlags(cmd)
	f.StringVar(&o.tenant, "tenant", "", "the tenant to record into (required)")
	f.StringVar(&o.action, "action", "command.run", "the event's action, e.g. app.deploy")
	f.StringArrayVar(&o.targets, "target", nil, "a target as type:id, e.g. app:web (repeatable)")
	f.StringVar(&o.actor, "actor", "", "who runs it, as type:id (user:alice, service:ci); default user:$USER")
	f.StringVar(&o.reason, "reason", "", "why it is run, e.g. a ticket or approval")
	f.StringArrayVar(&o.env, "env", nil, "record this environment variable's value in metadata.env (repeatable; secret-looking names are redacted)")
	f.StringArrayVar(&o.tags, "tag", nil, "a tag for the event (repeatable)")
	f.IntVar(&o.maxOutput, "max-output", defaultRunOutput, "bytes of stdout and of stderr to keep, each (at most 256 KiB); past it the head and tail are kept")
	cmd.MarkFlagRequired("tenant")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := o.check(); err != nil {
			return err
		}
		svc, done, err := rf.open(cmd)
		if err != nil {
			return err
		}
		defer done()
		code := runAndRecord(cmd, svc, &o, args)
		if code != 0 {
			return &exitCodeError{code}
		}
		return nil
	}
	return cmd
}

func (o *runOptions) check() error {
	var bad []string
	if !hashtrail.ValidTenantID(o.tenant) {
		bad = append(bad, fmt.Sprintf("--tenant %q is not a tenant id", o.tenant))
	}
	if !hashtrail.ValidAction(o.action) || hashtrail.ReservedAction(o.action) {
		bad = append(bad, fmt.Sprintf("--action %q must be a dotted action such as app.deploy", o.action))
	}
	for _, t := range o.targets {
		if typ, id, ok := strings.Cut(t, ":"); !ok || typ == "" || id == "" {
			bad = append(bad, fmt.Sprintf("--target %q must be type:id, e.g. app:web", t))
		}
	}
	if o.actor != "" {
		if typ, id, ok := strings.Cut(o.actor, ":"); !ok || !hashtrail.ActorType(typ).Valid() || id == "" {
			bad = append(bad, fmt.Sprintf("--actor %q must be type:id with type user, service, api_key or system", o.actor))
		}
	}
	if o.maxOutput < 0 || o.maxOutput > hashtrail.MaxOutputBytes-1024 {
		bad = append(bad, fmt.Sprintf("--max-output must be between 0 and %d", hashtrail.MaxOutputBytes-1024))
	}
	if len(bad) > 0 {
		return errors.New("invalid flags:\n  " + strings.Join(bad, "\n  "))
	}
	return nil
}

// runAndRecord runs the command, records it and returns the exit code.
func runAndRecord(cmd *cobra.Command, svc service, o *runOptions, args []string) int {
	stderr := cmd.ErrOrStderr()
	secrets := secretValues(os.Environ())
	stdout, errOut := newCapture(o.maxOutput), newCapture(o.maxOutput)

	c := exec.Command(args[0], args[1:]...)
	c.Stdin = cmd.InOrStdin()
	c.Stdout = io.MultiWriter(cmd.OutOrStdout(), stdout)
	c.Stderr = io.MultiWriter(stderr, errOut)

	start := time.Now()
	code, signal, runErr := runForwardingSignals(c)
	took := time.Since(start)
	if runErr != nil {
		fmt.Fprintf(stderr, "hashtrail run: %v\n", runErr)
		fmt.Fprintf(errOut, "hashtrail run: %v\n", runErr)
	}

	ev := o.event(args, secrets, start, took, code, signal, stdout, errOut)
	// Record even after Ctrl-C cancelled the command's context.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 2*time.Minute)
	defer cancel()
	if err := recordRun(ctx, svc, o.tenant, ev); err != nil {
		fmt.Fprintf(stderr, "hashtrail run: the run was NOT recorded in tenant %s: %v\n", o.tenant, err)
	}
	return code
}

// runForwardingSignals starts c, passes SIGINT and SIGTERM on to it and
// waits. It returns the exit code (128+N for signal N; 127 when the
// command was not found, 126 when it could not be started) and the signal.
func runForwardingSignals(c *exec.Cmd) (code int, sig string, err error) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127, "", err
		}
		return 126, "", err
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				c.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	werr := c.Wait()
	close(done)
	ps := c.ProcessState
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), signalName(ws.Signal()), nil
	}
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return 1, "", werr // output copying failed
	}
	return ps.ExitCode(), "", nil
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return fmt.Sprintf("signal %d", int(s))
}

// event builds the event of one run.
func (o *runOptions) event(args []string, secrets []string, start time.Time, took time.Duration, code int, sig string,
	stdout, stderr *capture) *hashtrail.Event {
	outcome := hashtrail.OutcomeSuccess
	if code != 0 {
		outcome = hashtrail.OutcomeFailure
	}
	exit := code
	ev := &hashtrail.Event{
		ID: hashtrail.NewEventID(), Time: hashtrail.NewTime(start), Action: o.action, Outcome: outcome,
		Reason: o.reason, Actor: runActor(o.actor), Tags: o.tags,
		Context: &hashtrail.Context{Source: "cli"},
		Output: &hashtrail.Output{
			Command:  maskSecrets(commandLine(redactArgs(args)), secrets),
			ExitCode: &exit,
			Stdout:   maskSecrets(stdout.String(), secrets),
			Stderr:   maskSecrets(stderr.String(), secrets),
		},
	}
	if host, err := os.Hostname(); err == nil {
		ev.Service = &hashtrail.Service{Name: "hashtrail run", Host: host}
	}
	if e, ok := hashtrail.LookupCatalog(o.action); ok {
		ev.Category, ev.Severity = e.Category, e.Severity
	}
	if code != 0 {
		ev.Error = fmt.Sprintf("exit code %d", code)
		if sig != "" {
			ev.Error = "ended by " + sig
		}
	}
	for _, t := range o.targets {
		typ, id, _ := strings.Cut(t, ":")
		ev.Targets = append(ev.Targets, hashtrail.Target{Type: typ, ID: id})
	}
	md := map[string]any{"duration_ms": took.Milliseconds()}
	if sig != "" {
		md["signal"] = sig
	}
	if stdout.truncated() {
		md["stdout_bytes"] = stdout.total
	}
	if stderr.truncated() {
		md["stderr_bytes"] = stderr.total
	}
	if len(o.env) > 0 {
		env := map[string]string{}
		for _, name := range o.env {
			v, ok := os.LookupEnv(name)
			switch {
			case !ok:
				continue
			case hashtrail.SecretName(name):
				v = redacted
			default:
				v = maskSecrets(redactURL(v), secrets)
			}
			env[name] = v
		}
		md["env"] = env
	}
	ev.Metadata, _ = json.Marshal(md)
	return ev
}

// runActor is --actor, else the user running hashtrail ($USER), else the
// system.
func runActor(flag string) *hashtrail.Actor {
	if typ, id, ok := strings.Cut(flag, ":"); ok {
		return &hashtrail.Actor{Type: hashtrail.ActorType(typ), ID: id}
	}
	for _, v := range []string{"USER", "USERNAME", "LOGNAME"} {
		if u := os.Getenv(v); u != "" {
			return &hashtrail.Actor{Type: hashtrail.ActorUser, ID: u}
		}
	}
	return &hashtrail.Actor{Type: hashtrail.ActorSystem, ID: "hashtrail-run"}
}

// recordRun sends ev, retrying a few times when the server is unreachable,
// overloaded or failing: the same id each time, so it is recorded once.
func recordRun(ctx context.Context, svc service, tenant string, ev *hashtrail.Event) error {
	raw, err := clientJSON(ev)
	if err != nil {
		return err
	}
	// Check locally first: a wrong event is not worth a retry.
	sub, errs := hashtrail.DecodeEvent(raw, "", hashtrail.DecodeOptions{PathTenant: tenant}, hashtrail.NewTime(time.Now()))
	if len(errs) > 0 {
		return readable(hashtrail.InvalidFields(errs))
	}
	for attempt := 0; ; attempt++ {
		switch s := svc.(type) {
		case *httpService:
			err = s.do(ctx, http.MethodPost, tenantPath(tenant)+"/events", json.RawMessage(raw), &api.IngestResponse{})
		case interface {
			Ingest(context.Context, *hashtrail.IngestRequest) ([]hashtrail.Receipt, error)
		}:
			_, err = s.Ingest(ctx, &hashtrail.IngestRequest{Tenant: tenant, Single: true, Submissions: []*hashtrail.Submission{sub}})
		default:
			return fmt.Errorf("this connection cannot record events")
		}
		switch hashtrail.ErrorCode(err) {
		case hashtrail.EUNAVAILABLE, hashtrail.ERATELIMIT, hashtrail.EINTERNAL:
			if attempt+1 < recordAttempts {
				if serr := sleep(ctx, runBackoff(attempt)); serr != nil {
					return err
				}
				continue
			}
		}
		return readable(err)
	}
}

// runBackoff is the wait before retry attempt+1 of recording a run (tests
// shorten it).
var runBackoff = func(attempt int) time.Duration { return retryAfter("", attempt) }

// clientJSON encodes ev without the fields only the server assigns.
func clientJSON(ev *hashtrail.Event) ([]byte, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for _, f := range []string{"tenant", "seq", "received_at", "leaf_hash", "pii", "key_id"} {
		delete(m, f)
	}
	return json.Marshal(m)
}

// capture keeps the head and the tail of what is written to it, up to max
// bytes in all, and counts the rest.
type capture struct {
	mu    sync.Mutex
	max   int
	head  []byte
	tail  []byte // a ring of the last max-len(head) bytes once head is full
	pos   int    // next write position in tail
	total int64
}

func newCapture(max int) *capture { return &capture{max: max} }

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	c.total += int64(n)
	if room := c.max/2 - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	tailMax := c.max - c.max/2
	for len(p) > 0 && tailMax > 0 {
		if len(c.tail) < tailMax {
			k := min(tailMax-len(c.tail), len(p))
			c.tail = append(c.tail, p[:k]...)
			p = p[k:]
			continue
		}
		if len(p) >= tailMax {
			copy(c.tail, p[len(p)-tailMax:])
			c.pos = 0
			break
		}
		k := copy(c.tail[c.pos:], p)
		p = p[k:]
		c.pos = (c.pos + k) % tailMax
	}
	return n, nil
}

func (c *capture) truncated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total > int64(c.max)
}

// String returns what was kept, as valid UTF-8, with a note of what was
// left out in the middle.
func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	tail := append(slices.Clone(c.tail[c.pos:]), c.tail[:c.pos]...)
	if c.total <= int64(c.max) {
		return validUTF8(string(c.head) + string(tail))
	}
	omitted := c.total - int64(len(c.head)) - int64(len(tail))
	return validUTF8(string(c.head)) + fmt.Sprintf("\n[… %d bytes left out by hashtrail run …]\n", omitted) + validUTF8(string(tail))
}

// validUTF8 replaces invalid bytes (binary output, a rune cut at the
// boundary) and keeps the result within the limit.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	for len(s) > hashtrail.MaxOutputBytes/2 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// Secret-looking parts of a command line.
var (
	urlPassword = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*):[^@/\s]*@`)
	envArg      = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=`)
	headerArg   = regexp.MustCompile(`^(?i)((?:proxy-)?authorization|[A-Za-z0-9-]+)\s*:\s*\S`)
)

// redactArgs returns args with secrets replaced: --password=x and
// --password x (a flag whose name is secret), NAME=x for a secret NAME,
// user:password@ in URLs, and the value of Authorization (and other
// secret-named) headers such as curl's -H 'Authorization: Bearer x'.
func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = redactURL(a)
	}
	for i := 1; i < len(out); i++ { // args[0] is the program
		a := out[i]
		switch {
		case strings.HasPrefix(a, "-"):
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !hashtrail.SecretName(name) {
				continue
			}
			if hasValue {
				out[i] = a[:strings.Index(a, "=")+1] + redacted
			} else if len(name) > 1 && i+1 < len(out) && !strings.HasPrefix(out[i+1], "-") {
				out[i+1] = redacted
				i++
			}
		case envArg.MatchString(a):
			if name := envArg.FindStringSubmatch(a)[1]; hashtrail.SecretName(name) {
				out[i] = name + "=" + redacted
			}
		default:
			if m := headerArg.FindStringSubmatch(a); m != nil {
				name := m[1]
				if strings.EqualFold(name, "authorization") || strings.EqualFold(name, "proxy-authorization") || hashtrail.SecretName(name) {
					out[i] = a[:strings.Index(a, ":")+1] + " " + redacted
				}
			}
		}
	}
	return out
}

func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlPassword.ReplaceAllString(s, "${1}:"+redacted+"@")
}

// secretValues are the values of the environment's secret-looking
// variables, long enough (8 bytes) that masking them cannot mangle
// ordinary text.
func secretValues(environ []string) []string {
	var out []string
	for _, kv := range environ {
		name, v, ok := strings.Cut(kv, "=")
		if ok && len(v) >= 8 && hashtrail.SecretName(name) {
			out = append(out, v)
		}
	}
	// Longest first, so a secret containing another is masked whole.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

func maskSecrets(s string, secrets []string) string {
	for _, v := range secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	return s
}

// commandLine joins args as a POSIX shell would read them back.
func commandLine(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./\[\]-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
