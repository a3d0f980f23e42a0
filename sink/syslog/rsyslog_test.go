package syslog_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rsyslog is a real rsyslogd started by a test with its own configuration:
// one imtcp input (octet-counted framing, optionally TLS through gtls) on
// a free port, writing each received message twice: raw.log holds the
// message as received (%rawmsg%), fields.log its parsed RFC 5424 fields
// separated by tabs.
type rsyslog struct {
	dir  string
	addr string
	ca   string // the CA file, for TLS
	bin  string
	conf string
	cmd  *exec.Cmd
}

// start starts rsyslogd in the foreground and waits until it listens.
func (r *rsyslog) start(tb testing.TB) {
	tb.Helper()
	cmd := exec.Command(r.bin, "-n", "-f", r.conf, "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	out, err := os.OpenFile(filepath.Join(r.dir, "rsyslogd.out"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", r.addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "rsyslogd.out"))
			tb.Fatalf("rsyslogd did not listen on %s: %s", r.addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop stops rsyslogd (the process this test started) and waits for it.
func (r *rsyslog) stop() {
	if r.cmd != nil {
		done := make(chan struct{})
		go func() { r.cmd.Wait(); close(done) }()
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			r.cmd.Process.Kill()
			<-done
		}
		r.cmd = nil
		os.Remove(filepath.Join(r.dir, "rsyslogd.pid"))
	}
}

// fieldsTemplate is what fields.log holds per message, tab-separated.
const fieldsTemplate = `%pri%\t%timereported:::date-rfc3339%\t%hostname%\t%app-name%\t%procid%\t%msgid%\t%structured-data%\t%msg%\n`

func rsyslogd(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("rsyslogd")
	if err != nil {
		if os.Getenv("HASHTRAIL_REQUIRE_RSYSLOG") == "1" {
			tb.Fatal("HASHTRAIL_REQUIRE_RSYSLOG=1 but rsyslogd is not installed (apt-get install rsyslog rsyslog-gnutls)")
		}
		tb.Skip("rsyslogd is not installed: apt-get install rsyslog rsyslog-gnutls to run the syslog sink tests against a real receiver")
	}
	return path
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

// startRsyslog starts rsyslogd in the foreground and stops it at the end
// of the test. tlsMode "" is plain TCP; "tls" makes its input RFC 5425
// (TLS) with a certificate for 127.0.0.1 from a CA made here; "mtls" also
// requires a client certificate from that CA (client.pem, client.key).
func startRsyslog(tb testing.TB, tlsMode string) *rsyslog {
	tb.Helper()
	bin := rsyslogd(tb)
	dir := tb.TempDir()
	r := &rsyslog{dir: dir, addr: freePort(tb)}
	_, port, _ := net.SplitHostPort(r.addr)
	var conf strings.Builder
	fmt.Fprintf(&conf, "global(workDirectory=%q maxMessageSize=\"1m\"", dir)
	if tlsMode != "" {
		r.ca = makeCerts(tb, dir)
		fmt.Fprintf(&conf, " defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q",
			filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	}
	conf.WriteString(")\n")
	switch tlsMode {
	case "tls":
		conf.WriteString(`module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")` + "\n")
	case "mtls":
		conf.WriteString(`module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")` + "\n")
	default:
		conf.WriteString(`module(load="imtcp")` + "\n")
	}
	fmt.Fprintf(&conf, "input(type=\"imtcp\" address=\"127.0.0.1\" port=%q supportOctetCountedFraming=\"on\")\n", port)
	fmt.Fprintf(&conf, "template(name=\"raw\" type=\"string\" string=\"%%rawmsg%%\\n\")\n")
	fmt.Fprintf(&conf, "template(name=\"fields\" type=\"string\" string=\"%s\")\n", fieldsTemplate)
	fmt.Fprintf(&conf, "if $inputname == \"imtcp\" then {\n  action(type=\"omfile\" file=%q template=\"raw\")\n  action(type=\"omfile\" file=%q template=\"fields\")\n}\n",
		filepath.Join(dir, "raw.log"), filepath.Join(dir, "fields.log"))
	r.conf = filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(r.conf, []byte(conf.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	r.bin = bin
	r.start(tb)
	tb.Cleanup(r.stop)
	return r
}

// lines waits until file (raw.log or fields.log) holds n lines and returns
// them; it fails on more.
func (r *rsyslog) lines(tb testing.TB, file string, n int) []string {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got []string
	for {
		got = got[:0]
		if f, err := os.Open(filepath.Join(r.dir, file)); err == nil {
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 4<<20)
			for sc.Scan() {
				got = append(got, sc.Text())
			}
			f.Close()
		}
		if len(got) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != n {
		log, _ := os.ReadFile(filepath.Join(r.dir, "rsyslogd.out"))
		tb.Fatalf("%s holds %d lines, want %d:\n%s\nrsyslogd: %s", file, len(got), n, strings.Join(got, "\n"), log)
	}
	return got
}

// current returns the complete lines file holds now.
func (r *rsyslog) current(tb testing.TB, file string) []string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, file))
	if err != nil {
		return nil
	}
	s := string(b)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	} else {
		return nil
	}
	return strings.Split(s, "\n")
}

// makeCerts writes ca.pem, server.pem and server.key (for 127.0.0.1) into
// dir and returns the CA file.
func makeCerts(tb testing.TB, dir string) string {
	tb.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hashtrail test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	clientKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	clientTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "hashtrail"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, ca, &clientKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	clientKeyDER, _ := x509.MarshalECPrivateKey(clientKey)
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", der)
	write("server.key", "EC PRIVATE KEY", keyDER)
	write("client.pem", "CERTIFICATE", clientDER)
	write("client.key", "EC PRIVATE KEY", clientKeyDER)
	return filepath.Join(dir, "ca.pem")
}
