// Package nats is the NATS JetStream destination of the sink dispatcher: it
// publishes each event, as the API answers it to an admin (JSON), to a
// subject made from a template per tenant and action, and returns from
// Deliver only once the stream has acknowledged every message of the batch.
//
// Each message carries the header Nats-Msg-Id: <tenant>/<id>, so the
// server drops a redelivered copy within the stream's duplicate window
// while the copies of one fanned-out event (same id, several tenants) stay
// distinct. Beyond that window receivers dedupe on tenant and id, as for
// every destination (delivery is at least once).
//
// The sink never creates the stream: a missing stream, a subject that no
// stream captures, or a rejected credential is a *hashtrail.PermanentError,
// which pauses the sink with a message saying what to fix.
package nats

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashtrail/hashtrail"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Header names of each message besides Nats-Msg-Id.
const (
	HeaderTenant = "Hashtrail-Tenant"
	HeaderSeq    = "Hashtrail-Seq"
)

// Sink publishes batches to a JetStream stream. Deliver is called by one
// goroutine at a time; Close may be called from any.
type Sink struct {
	cfg     Config
	opts    Options
	subject subject

	mu      sync.Mutex
	nc      *natsgo.Conn
	js      jetstream.JetStream
	checked bool // the stream was found on this connection
}

var _ hashtrail.Sink = (*Sink)(nil)

// Options are what the dispatcher supplies besides the settings.
type Options struct {
	// Dialer makes every connection to the servers (the dispatcher's SSRF
	// guard); nil dials directly.
	Dialer *net.Dialer
}

// New returns a sink for cfg (validated here). It connects on the first
// Deliver, so a server that is down at start is a retryable delivery
// failure, not a configuration error.
func New(cfg Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	subj, _ := parseSubject(cfg.subject())
	return &Sink{cfg: cfg, opts: opts, subject: subj}, nil
}

// Subject returns the subject e is published to.
func (s *Sink) Subject(e *hashtrail.Event) string {
	var b strings.Builder
	s.subject.render(&b, e)
	return b.String()
}

// MsgID returns the Nats-Msg-Id of e: <tenant>/<id>. Neither a tenant nor
// an id may hold '/', so the pair is unambiguous.
func MsgID(e *hashtrail.Event) string { return e.Tenant + "/" + e.ID }

// Deliver publishes batch asynchronously and waits for every
// acknowledgement (PubAck); a duplicate acknowledged as such counts as
// accepted.
func (s *Sink) Deliver(ctx context.Context, batch []*hashtrail.Event) error {
	if len(batch) == 0 {
		return nil
	}
	js, err := s.connect(ctx)
	if err != nil {
		return err
	}
	stall := jetstream.WithStallWait(s.cfg.ackTimeout())
	expect := jetstream.WithExpectStream(s.cfg.Stream)
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	// Encoding (JSON) runs on a goroutine of its own, ahead of the
	// publishing, so the two overlap.
	msgs := make(chan *natsgo.Msg, 256)
	stop := make(chan struct{})
	defer close(stop)
	var encErr error
	go func() {
		defer close(msgs)
		var subj strings.Builder
		for _, e := range batch {
			body, err := json.Marshal(e)
			if err != nil {
				encErr = fmt.Errorf("nats: encoding event %s/%s: %w", e.Tenant, e.ID, err)
				return
			}
			s.subject.render(&subj, e)
			msg := &natsgo.Msg{Subject: subj.String(), Data: body, Header: natsgo.Header{
				jetstream.MsgIDHeader: {MsgID(e)},
				HeaderTenant:          {e.Tenant},
				HeaderSeq:             {strconv.FormatInt(e.Seq, 10)},
				"Content-Type":        {"application/json"},
			}}
			select {
			case msgs <- msg:
			case <-stop:
				return
			}
		}
	}()
	for msg := range msgs {
		f, err := js.PublishMsgAsync(msg, expect, stall)
		if err != nil {
			return s.classify(ctx, err)
		}
		futures = append(futures, f)
	}
	if encErr != nil {
		return encErr
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return s.classify(ctx, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// connect returns the JetStream context, connecting and checking that the
// stream exists on first use.
func (s *Sink) connect(ctx context.Context) (jetstream.JetStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc == nil || s.nc.IsClosed() {
		opts, err := s.options()
		if err != nil {
			return nil, &hashtrail.PermanentError{Err: fmt.Errorf("nats: %w", err)}
		}
		nc, err := natsgo.Connect(s.cfg.URL, opts...)
		if err != nil {
			if isAuthError(err) {
				return nil, &hashtrail.PermanentError{Err: fmt.Errorf("nats: the server refused the credentials: %w", err)}
			}
			var verr *tls.CertificateVerificationError
			if errors.As(err, &verr) {
				// Roots that refuse the server's certificate will not
				// accept it on the next try.
				return nil, &hashtrail.PermanentError{Err: fmt.Errorf("nats: the server's certificate is not trusted: %w", err)}
			}
			return nil, fmt.Errorf("nats: connecting: %w", err)
		}
		js, err := jetstream.New(nc,
			jetstream.WithPublishAsyncMaxPending(s.cfg.maxPending()),
			jetstream.WithPublishAsyncTimeout(s.cfg.ackTimeout()))
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("nats: %w", err)
		}
		s.nc, s.js, s.checked = nc, js, false
	}
	if !s.checked {
		if err := s.checkStream(ctx); err != nil {
			return nil, err
		}
		s.checked = true
	}
	return s.js, nil
}

func (s *Sink) checkStream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ackTimeout())
	defer cancel()
	_, err := s.js.Stream(ctx, s.cfg.Stream)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return &hashtrail.PermanentError{Err: fmt.Errorf(
			"nats: stream %q does not exist: create it with subjects that capture %q (the sink never creates streams)",
			s.cfg.Stream, s.cfg.subject())}
	case errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		return &hashtrail.PermanentError{Err: fmt.Errorf("nats: JetStream is not enabled for this account: %w", err)}
	default:
		return fmt.Errorf("nats: looking up stream %q: %w", s.cfg.Stream, err)
	}
}

// classify turns a publish failure into a delivery error: permanent when
// the stream is missing, does not capture the subject, the credentials
// were refused or a message exceeds the server's max_payload; retryable
// otherwise.
func (s *Sink) classify(ctx context.Context, err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamNotFound:
		return s.missing(err)
	case errors.As(err, &apiErr) && apiErr.ErrorCode == 10060: // JSStreamNotMatchErr
		return &hashtrail.PermanentError{Err: fmt.Errorf(
			"nats: the subjects of %q are captured by another stream than %q: %w", s.cfg.subject(), s.cfg.Stream, err)}
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, natsgo.ErrNoResponders):
		// No stream captures the subject: find out whether the stream is
		// gone or just does not cover it.
		s.mu.Lock()
		s.checked = false
		cerr := s.checkStream(ctx)
		s.mu.Unlock()
		if cerr != nil {
			return cerr
		}
		return &hashtrail.PermanentError{Err: fmt.Errorf(
			"nats: stream %q does not capture the subjects of %q: add them to its subjects: %w", s.cfg.Stream, s.cfg.subject(), err)}
	case isAuthError(err):
		return &hashtrail.PermanentError{Err: fmt.Errorf("nats: the server refused the credentials: %w", err)}
	case errors.Is(err, natsgo.ErrMaxPayload):
		// An event (up to 1 MiB) over the server's max_payload will never
		// fit: the operator raises max_payload.
		return &hashtrail.PermanentError{Err: fmt.Errorf("nats: an event is larger than the server's max_payload; raise it: %w", err)}
	}
	return fmt.Errorf("nats: publishing: %w", err)
}

func (s *Sink) missing(err error) error {
	s.mu.Lock()
	s.checked = false
	s.mu.Unlock()
	return &hashtrail.PermanentError{Err: fmt.Errorf("nats: stream %q does not exist: %w", s.cfg.Stream, err)}
}

func isAuthError(err error) bool {
	return errors.Is(err, natsgo.ErrAuthorization) || errors.Is(err, natsgo.ErrAuthExpired) ||
		errors.Is(err, natsgo.ErrAuthRevoked) || errors.Is(err, natsgo.ErrPermissionViolation) ||
		errors.Is(err, natsgo.ErrAccountAuthExpired)
}

func (s *Sink) options() ([]natsgo.Option, error) {
	c := &s.cfg
	opts := []natsgo.Option{
		natsgo.Name("hashtrail sink"),
		natsgo.Timeout(5 * time.Second),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(500 * time.Millisecond),
	}
	if s.opts.Dialer != nil {
		opts = append(opts, natsgo.SetCustomDialer(s.opts.Dialer))
	}
	switch {
	case c.User != "":
		opts = append(opts, natsgo.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, natsgo.Token(c.Token))
	case c.NKeySeedFile != "":
		o, err := natsgo.NkeyOptionFromSeed(c.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("settings.nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	case c.CredsFile != "":
		opts = append(opts, natsgo.UserCredentials(c.CredsFile))
	}
	if t := c.TLS; t != nil {
		if t.CAFile != "" {
			opts = append(opts, natsgo.RootCAs(t.CAFile))
		}
		if t.CertFile != "" {
			opts = append(opts, natsgo.ClientCert(t.CertFile, t.KeyFile))
		}
		if t.CAFile == "" && t.CertFile == "" {
			opts = append(opts, natsgo.Secure())
		}
	}
	return opts, nil
}

// Close closes the connection; acknowledgements still outstanding are
// abandoned (their batch was not reported delivered).
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nc != nil {
		s.nc.Close()
		s.nc, s.js = nil, nil
	}
	return nil
}
