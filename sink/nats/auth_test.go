package nats_test

import (
	"context"
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
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	htnats "github.com/hashtrail/hashtrail/sink/nats"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
)

// privateServer starts a nats-server of the test's own (the machine's
// binary, JetStream on, TLS with a certificate made here, the given
// authorization block) on a free port, stopped at the end of the test. It
// returns the URL and the CA file.
func privateServer(t *testing.T, authorization string) (string, string) {
	t.Helper()
	natsURL(t) // the NATS tests are on
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nats-server"); err != nil {
			t.Skip("no nats-server binary to start a server with authentication and TLS")
		}
	}
	dir := t.TempDir()
	ca := makeCerts(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conf := fmt.Sprintf(`listen: %q
jetstream { store_dir: %q, max_memory_store: 67108864, max_file_store: 67108864 }
tls { cert_file: %q, key_file: %q, timeout: 5 }
authorization { %s }
`, addr, filepath.Join(dir, "js"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"), authorization)
	confPath := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := os.Create(filepath.Join(dir, "nats.log"))
	cmd := exec.Command(bin, "-c", confPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		out.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "nats.log"))
			t.Fatalf("nats-server did not listen: %s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "nats://" + addr, ca
}

// makeStream creates stream AUTHTEST capturing authtest.> through conn
// options opts.
func makeStream(t *testing.T, url string, opts ...natsgo.Option) jetstream.Stream {
	t.Helper()
	nc, err := natsgo.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	st, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "AUTHTEST", Subjects: []string{"authtest.>"}, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestUserPasswordAndNKeyOverTLS(t *testing.T) {
	user, _ := nkeys.CreateUser()
	pub, _ := user.PublicKey()
	seed, _ := user.Seed()
	url, ca := privateServer(t, fmt.Sprintf(`users = [ {user: "alice", password: "s3cret"}, {nkey: %q} ]`, pub))
	seedFile := filepath.Join(t.TempDir(), "user.nk")
	os.WriteFile(seedFile, seed, 0o600)
	st := makeStream(t, url, natsgo.UserInfo("alice", "s3cret"), natsgo.RootCAs(ca))

	tls := &htnats.TLSConfig{CAFile: ca}
	for i, cfg := range []htnats.Config{
		{URL: url, Stream: "AUTHTEST", Subject: "authtest.{tenant}.{action}", User: "alice", Password: "s3cret", TLS: tls},
		{URL: url, Stream: "AUTHTEST", Subject: "authtest.{tenant}.{action}", NKeySeedFile: seedFile, TLS: tls},
	} {
		if err := open(t, cfg).Deliver(t.Context(), events("acme", i*10, 10)); err != nil {
			t.Fatalf("config %d: %v", i, err)
		}
	}
	if n := msgs(t, st); n != 20 {
		t.Errorf("stream holds %d, want 20", n)
	}

	wrong := open(t, htnats.Config{URL: url, Stream: "AUTHTEST", Subject: "authtest.{tenant}.{action}", User: "alice", Password: "nope", TLS: tls})
	if err := wrong.Deliver(t.Context(), events("acme", 0, 1)); !hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("wrong password: %v, want a permanent error about the credentials", err)
	}
	untrusted := open(t, htnats.Config{URL: url, Stream: "AUTHTEST", Subject: "authtest.{tenant}.{action}", User: "alice", Password: "s3cret", TLS: &htnats.TLSConfig{}})
	if err := untrusted.Deliver(t.Context(), events("acme", 0, 1)); !hashtrail.IsPermanent(err) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v, want a permanent error about the certificate", err)
	}
}

func TestToken(t *testing.T) {
	url, ca := privateServer(t, `token: "t0ken-t0ken"`)
	st := makeStream(t, url, natsgo.Token("t0ken-t0ken"), natsgo.RootCAs(ca))
	s := open(t, htnats.Config{URL: url, Stream: "AUTHTEST", Subject: "authtest.{tenant}.{action}", Token: "t0ken-t0ken", TLS: &htnats.TLSConfig{CAFile: ca}})
	if err := s.Deliver(t.Context(), events("acme", 0, 5)); err != nil {
		t.Fatal(err)
	}
	if n := msgs(t, st); n != 5 {
		t.Errorf("stream holds %d, want 5", n)
	}
	wrong := open(t, htnats.Config{URL: url, Stream: "AUTHTEST", Token: "wrong", TLS: &htnats.TLSConfig{CAFile: ca}})
	if err := wrong.Deliver(t.Context(), events("acme", 0, 1)); !hashtrail.IsPermanent(err) {
		t.Errorf("wrong token: %v, want a permanent error", err)
	}
}

// makeCerts writes ca.pem, server.pem and server.key (for 127.0.0.1) into
// dir and returns the CA file.
func makeCerts(t *testing.T, dir string) string {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hashtrail test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	for name, block := range map[string]*pem.Block{
		"ca.pem": {Type: "CERTIFICATE", Bytes: caDER}, "server.pem": {Type: "CERTIFICATE", Bytes: der},
		"server.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "ca.pem")
}
