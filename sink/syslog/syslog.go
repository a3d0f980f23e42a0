// Package syslog is the syslog destination of the sink dispatcher: each
// event becomes one RFC 5424 message, sent over TCP with RFC 6587
// octet-counting framing ("LEN SP MSG"), or over TLS (RFC 5425, the same
// framing). The event is in MSG as JSON, in structured data (SD-PARAMs
// under the SD-ID hashtrail@<enterprise number>), or as an ArcSight CEF
// record; see Formatter for the exact layout and escaping.
//
// Guarantee: syslog over TCP has no application acknowledgement. Deliver
// returns nil once the whole batch is written to the socket (the kernel
// accepted it); a receiver that dies before reading it loses it without
// the sink knowing. Before each batch the sink checks that the receiver
// has not closed the connection (a read with a 1 ms deadline must time
// out) and reconnects if it has, which catches a receiver restarted
// between batches; any write failure closes the connection and fails the
// batch, which the dispatcher sends again (receivers dedupe on tenant and
// id).
package syslog

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashtrail/hashtrail"
)

// Sink writes batches to one syslog receiver over one connection, which it
// reopens after a failure. Deliver is called by one goroutine at a time.
type Sink struct {
	cfg  Config
	opts Options
	fmt  *Formatter
	tlsc *tls.Config

	mu   sync.Mutex
	conn net.Conn
	bw   *bufio.Writer
	buf  []byte
}

var _ hashtrail.Sink = (*Sink)(nil)

// Options are what the dispatcher supplies besides the settings.
type Options struct {
	// Dialer makes every connection to the receiver (the dispatcher's SSRF
	// guard); nil dials directly.
	Dialer *net.Dialer
}

// New returns a sink for cfg (validated here). It connects on the first
// Deliver.
func New(cfg Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Dialer == nil {
		opts.Dialer = &net.Dialer{}
	}
	host, _ := os.Hostname()
	s := &Sink{cfg: cfg, opts: opts, fmt: NewFormatter(&cfg, host, strconv.Itoa(os.Getpid()), productVersion())}
	if t := cfg.TLS; t != nil {
		tc, err := tlsConfig(cfg.Address, t)
		if err != nil {
			return nil, err
		}
		s.tlsc = tc
	}
	return s, nil
}

func tlsConfig(address string, t *TLSConfig) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(address)
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if t.ServerName != "" {
		tc.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, invalid("settings.tls.ca_file", "cannot be read: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, invalid("settings.tls.ca_file", "holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, invalid("settings.tls.cert_file", "cannot be loaded with key_file: %v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// productVersion is the module's version for CEF headers ("dev" in a
// development build).
func productVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Formatter returns the sink's formatter.
func (s *Sink) Formatter() *Formatter { return s.fmt }

// Deliver writes batch, one octet-counted frame per event, and returns
// nil once every byte is written.
func (s *Sink) Deliver(ctx context.Context, batch []*hashtrail.Event) error {
	if len(batch) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensure(ctx); err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn := s.conn
	conn.SetWriteDeadline(deadline)
	// A cancelled ctx interrupts a blocked write.
	stop := context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	for _, e := range batch {
		var err error
		s.buf, err = s.fmt.Append(s.buf[:0], e)
		if err != nil {
			return err
		}
		var n [20]byte
		if _, err := s.bw.Write(strconv.AppendInt(n[:0], int64(len(s.buf)), 10)); err != nil {
			return s.fail(ctx, err)
		}
		s.bw.WriteByte(' ')
		if _, err := s.bw.Write(s.buf); err != nil {
			return s.fail(ctx, err)
		}
	}
	if err := s.bw.Flush(); err != nil {
		return s.fail(ctx, err)
	}
	return nil
}

// ensure connects if needed, after checking that an open connection was
// not closed by the receiver.
func (s *Sink) ensure(ctx context.Context) error {
	if s.conn != nil && !alive(s.conn) {
		s.closeConn()
	}
	if s.conn != nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.timeout())
	defer cancel()
	var conn net.Conn
	var err error
	if s.tlsc != nil {
		d := &tls.Dialer{NetDialer: s.opts.Dialer, Config: s.tlsc}
		conn, err = d.DialContext(dctx, "tcp", s.cfg.Address)
	} else {
		conn, err = s.opts.Dialer.DialContext(dctx, "tcp", s.cfg.Address)
	}
	if err != nil {
		var verr *tls.CertificateVerificationError
		if errors.As(err, &verr) {
			// A certificate the configured roots refuse will not change by
			// retrying.
			return &hashtrail.PermanentError{Err: fmt.Errorf("syslog: the receiver's certificate is not trusted: %w", err)}
		}
		return fmt.Errorf("syslog: connecting to %s: %w", s.cfg.Address, err)
	}
	if s.tlsc != nil {
		if err := refused(conn); err != nil {
			conn.Close()
			return err
		}
	}
	s.conn = conn
	s.bw = bufio.NewWriterSize(conn, 64<<10)
	return nil
}

// TLSGrace is how long the sink waits after a TLS handshake for the
// receiver to refuse it. In TLS 1.3 a receiver checks the client's
// certificate after the client considers the handshake done, so a
// refused (or missing) client certificate shows only as an alert that
// follows; without this wait the first batch would be written into a
// connection the receiver is closing.
const TLSGrace = 250 * time.Millisecond

// refused waits TLSGrace for a TLS alert on a new connection: a permanent
// error if the receiver sent one (certificate required, bad certificate,
// unknown CA...), a retryable one if it closed the connection silently.
func refused(conn net.Conn) error {
	conn.SetReadDeadline(time.Now().Add(TLSGrace))
	defer conn.SetReadDeadline(time.Time{})
	var b [1]byte
	_, err := conn.Read(b[:])
	var ne net.Error
	switch {
	case err == nil, errors.As(err, &ne) && ne.Timeout():
		return nil
	case strings.Contains(err.Error(), "remote error: tls:"):
		return &hashtrail.PermanentError{Err: fmt.Errorf("syslog: the receiver refused the TLS connection (check tls.cert_file and tls.key_file): %w", err)}
	}
	// Some receivers (rsyslog's gtls) close without an alert; retried, as
	// a receiver may also be shutting down.
	return fmt.Errorf("syslog: the receiver closed the connection right after the TLS handshake (does it require a client certificate? see tls.cert_file): %w", err)
}

// alive reports whether the receiver has not closed conn: a receiver
// sends nothing, so a read must time out.
func alive(conn net.Conn) bool {
	conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	_, err := conn.Read(b[:])
	conn.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *Sink) fail(ctx context.Context, err error) error {
	s.closeConn()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("syslog: writing to %s: %w", s.cfg.Address, err)
}

func (s *Sink) closeConn() {
	if s.conn != nil {
		s.conn.Close()
		s.conn, s.bw = nil, nil
	}
}

// Close closes the connection (for TLS, after sending close_notify).
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeConn()
	return nil
}
