package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// selfSigned writes a new self-signed certificate for localhost and
// 127.0.0.1 with the given serial to certFile and keyFile, and returns it.
func selfSigned(t *testing.T, serial int64, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// servedSerial makes a fresh TLS connection to url trusting only trusted
// and returns the serial number of the certificate the server presented.
func servedSerial(t *testing.T, url string, trusted *x509.Certificate) int64 {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(trusted)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	resp, err := c.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /healthz over TLS: status %d", resp.StatusCode)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

// TestServeTLSReloadOnSIGHUP serves HTTPS, replaces the certificate files,
// sends the process SIGHUP and checks that new connections get the new
// certificate; a broken file on the next SIGHUP keeps the current one.
func TestServeTLSReloadOnSIGHUP(t *testing.T) {
	isolateEnv(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := selfSigned(t, 1, certFile, keyFile)
	s := runServeCmd(t, "--data", filepath.Join(dir, "data"), "--tls-cert", certFile, "--tls-key", keyFile)
	loaded := regexp.MustCompile(`msg="TLS certificate loaded"`)
	failed := regexp.MustCompile(`msg="TLS certificate reload failed`)

	if got := servedSerial(t, s.url, first); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}
	if resp, err := http.Get("http://" + s.url[len("https://"):] + "/healthz"); err == nil {
		if resp.StatusCode < 400 {
			t.Errorf("plain HTTP answered %d on the TLS listener", resp.StatusCode)
		}
		resp.Body.Close()
	}

	second := selfSigned(t, 2, certFile, keyFile)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(loaded, 2)
	if got := servedSerial(t, s.url, second); got != 2 {
		t.Fatalf("after SIGHUP: serial %d, want 2", got)
	}

	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(failed, 1)
	if got := servedSerial(t, s.url, second); got != 2 {
		t.Fatalf("after a failed reload: serial %d, want 2 (the previous certificate)", got)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestCertReloader calls reload directly: a good pair replaces the
// certificate, a bad one is an error and changes nothing.
func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	selfSigned(t, 7, certFile, keyFile)
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 {
		c, _ := r.getCertificate(nil)
		return c.Leaf.SerialNumber.Int64()
	}
	selfSigned(t, 8, certFile, keyFile)
	if err := r.reload(); err != nil || serial() != 8 {
		t.Fatalf("reload: %v, serial %d", err, serial())
	}
	os.WriteFile(keyFile, []byte("garbage"), 0o600)
	if err := r.reload(); err == nil || serial() != 8 {
		t.Fatalf("a broken key: %v, serial %d; want an error and serial 8", err, serial())
	}
	if _, err := newCertReloader(filepath.Join(dir, "missing.pem"), keyFile, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("a missing certificate must stop the start")
	}
}
