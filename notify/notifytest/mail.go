// Package notifytest runs the real servers that alert notifications and
// digests are tested against, for the tests of several packages:
//
//   - mailpit (github.com/axllent/mailpit v1.27.11), a real SMTP server,
//     whose binary HASHTRAIL_MAILPIT names (.ci/run builds it outside this
//     module). Each server listens on free loopback ports, requires
//     STARTTLS with a certificate made for the test and PLAIN
//     authentication; Messages reads the mailbox back over mailpit's HTTP
//     API and parses each message's MIME structure.
//   - a webhook receiver in node that verifies every request with the npm
//     standardwebhooks library, an implementation we did not write
//     (HASHTRAIL_TEST_NODE_WEBHOOKS, as for the webhook sink).
//
// Tests that need one skip with a message naming the variable when it is
// unset.
package notifytest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Env names the mailpit binary.
const Env = "HASHTRAIL_MAILPIT"

// User and Password are the credentials the server accepts.
const (
	User     = "hashtrail"
	Password = "mail-test-password"
)

// Server is a running mailpit.
type Server struct {
	// URL is the SMTP URL for notify/smtp, with credentials and
	// starttls=required.
	URL string
	// TLS trusts the server's certificate.
	TLS  *tls.Config
	api  string
	SMTP string // host:port
}

// Start runs mailpit for the test, or skips it when Env is unset.
func Start(tb testing.TB) *Server { return start(tb, false) }

// StartPlain runs mailpit without TLS or authentication, for a server
// under test that trusts only the system's certificate authorities; its
// URL says starttls=off.
func StartPlain(tb testing.TB) *Server { return start(tb, true) }

func start(tb testing.TB, plain bool) *Server {
	tb.Helper()
	bin := os.Getenv(Env)
	if bin == "" {
		tb.Skipf("%s is unset: set it to a mailpit v1.27.11 binary (see .ci/run) to test email against a real SMTP server", Env)
	}
	if _, err := os.Stat(bin); err != nil {
		tb.Fatalf("%s=%s: %v", Env, bin, err)
	}
	dir := tb.TempDir()
	certFile, keyFile, pool := selfSigned(tb, dir)
	authFile := filepath.Join(dir, "auth")
	if err := os.WriteFile(authFile, []byte(User+":"+Password+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	smtpAddr, httpAddr := freePort(tb), freePort(tb)
	args := []string{"--disable-version-check", "--quiet",
		"--smtp", smtpAddr, "--listen", httpAddr, "--database", filepath.Join(dir, "mailpit.db"), "--smtp-disable-rdns"}
	if !plain {
		args = append(args, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-starttls", "--smtp-auth-file", authFile)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	s := &Server{
		URL:  fmt.Sprintf("smtp://%s:%s@%s?starttls=required", User, Password, smtpAddr),
		TLS:  &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		api:  "http://" + httpAddr,
		SMTP: smtpAddr,
	}
	if plain {
		s.URL, s.TLS = "smtp://"+smtpAddr+"?starttls=off", nil
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", smtpAddr, time.Second)
		if err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				if resp, err := http.Get(s.api + "/api/v1/messages"); err == nil {
					resp.Body.Close()
					break
				}
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailpit did not start on %s in 20s", smtpAddr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// Message is one received message, parsed.
type Message struct {
	Header  mail.Header
	Subject string
	From    string
	To      []string
	// ContentType is the top-level media type (multipart/alternative).
	ContentType string
	Text, HTML  string
	// Links are the href targets of the HTML part.
	Links []string
}

// Messages returns every message in the mailbox, oldest first.
func (s *Server) Messages(tb testing.TB) []*Message {
	tb.Helper()
	var list struct {
		Messages []struct {
			ID string `json:"ID"`
		} `json:"messages"`
	}
	getJSON(tb, s.api+"/api/v1/messages?limit=500", &list)
	out := make([]*Message, 0, len(list.Messages))
	for i := len(list.Messages) - 1; i >= 0; i-- { // the API lists newest first
		raw := get(tb, s.api+"/api/v1/message/"+list.Messages[i].ID+"/raw")
		m, err := Parse(raw)
		if err != nil {
			tb.Fatalf("message %s: %v\n%s", list.Messages[i].ID, err, raw)
		}
		out = append(out, m)
	}
	return out
}

// Wait returns the mailbox once it holds at least n messages, failing the
// test after timeout.
func (s *Server) Wait(tb testing.TB, n int, timeout time.Duration) []*Message {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms := s.Messages(tb)
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			tb.Fatalf("mailbox holds %d messages after %s, want %d", len(ms), timeout, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var hrefRE = regexp.MustCompile(`href="([^"]+)"`)

// Parse reads a raw RFC 5322 message with a multipart/alternative body.
func Parse(raw []byte) (*Message, error) {
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return nil, err
	}
	m := &Message{Header: msg.Header}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return nil, err
	}
	m.From = msg.Header.Get("From")
	if to, err := msg.Header.AddressList("To"); err == nil {
		for _, a := range to {
			m.To = append(m.To, a.Address)
		}
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	m.ContentType = mt
	if !strings.HasPrefix(mt, "multipart/") {
		return nil, fmt.Errorf("content type %s is not multipart", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var r io.Reader = p // multipart decodes quoted-printable itself
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "text/plain":
			m.Text = string(b)
		case "text/html":
			m.HTML = string(b)
		}
	}
	for _, h := range hrefRE.FindAllStringSubmatch(m.HTML, -1) {
		m.Links = append(m.Links, strings.ReplaceAll(h[1], "&amp;", "&"))
	}
	return m, nil
}

func get(tb testing.TB, url string) []byte {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return b
}

func getJSON(tb testing.TB, url string, v any) {
	tb.Helper()
	if err := json.Unmarshal(get(tb, url), v); err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
}

func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// selfSigned writes a certificate for 127.0.0.1 and localhost and its key
// into dir, and returns their paths and a pool trusting it.
func selfSigned(tb testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
