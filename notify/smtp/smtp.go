// Package smtp sends email through an SMTP server, configured by one URL:
//
//	smtp://[user:password@]host[:port][?starttls=required|opportunistic|off]
//	smtps://[user:password@]host[:port]     (implicit TLS, RFC 8314; port 465 by default)
//
// smtp:// uses port 587 by default and STARTTLS when the server offers it
// (starttls=opportunistic, the default), or fails without it
// (starttls=required, what an installation should use across networks).
// Credentials are sent with PLAIN authentication, which net/smtp refuses
// over an unencrypted connection except to localhost. Messages are
// multipart/alternative with a text/plain and a text/html part, both UTF-8
// quoted-printable.
package smtp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Config is where and how to send.
type Config struct {
	Host     string
	Port     string
	Implicit bool   // smtps://
	StartTLS string // "required", "opportunistic" or "off"
	User     string
	Password string
	// From is the sender address (--smtp-from).
	From string
	// TLS overrides the TLS settings (tests trust their own CA with it).
	TLS *tls.Config
	// Timeout bounds one message's delivery (default 30s).
	Timeout time.Duration
	// Now dates messages (time.Now by default).
	Now func() time.Time
}

// ParseURL reads an SMTP URL (see the package comment) and the sender.
func ParseURL(raw, from string) (*Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, which may hold a password.
		return nil, fmt.Errorf("smtp url: not a URL (smtp://[user:password@]host[:port]); special characters in the password must be percent-encoded")
	}
	c := &Config{Host: u.Hostname(), Port: u.Port(), StartTLS: "opportunistic", From: from}
	switch u.Scheme {
	case "smtp":
		if c.Port == "" {
			c.Port = "587"
		}
	case "smtps":
		c.Implicit = true
		if c.Port == "" {
			c.Port = "465"
		}
	default:
		return nil, fmt.Errorf("smtp url: scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if c.Host == "" {
		return nil, fmt.Errorf("smtp url: needs a host")
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if v := u.Query().Get("starttls"); v != "" {
		if !slices.Contains([]string{"required", "opportunistic", "off"}, v) {
			return nil, fmt.Errorf("smtp url: starttls must be required, opportunistic or off")
		}
		c.StartTLS = v
	}
	if a, err := mail.ParseAddress(from); err != nil || from == "" {
		return nil, fmt.Errorf("smtp from: %q is not an email address", from)
	} else {
		c.From = a.Address
	}
	return c, nil
}

// Mailer sends messages. It is safe for concurrent use: each message has
// a connection of its own.
type Mailer struct {
	cfg Config
}

// New returns a mailer for cfg.
func New(cfg Config) *Mailer {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Mailer{cfg: cfg}
}

// Send delivers m to every recipient in one SMTP transaction.
func (m *Mailer) Send(ctx context.Context, msg *hashtrail.Mail) error {
	if len(msg.To) == 0 {
		return hashtrail.Errorf(hashtrail.EINVALID, "a message needs recipients")
	}
	body, err := Compose(m.cfg.From, msg, m.cfg.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	addr := net.JoinHostPort(m.cfg.Host, m.cfg.Port)
	tlsCfg := m.cfg.TLS
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: m.cfg.Host, MinVersion: tls.VersionTLS12}
	}
	d := &net.Dialer{}
	var conn net.Conn
	if m.cfg.Implicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if err := m.deliver(c, tlsCfg, msg.To, body); err != nil {
		return fmt.Errorf("smtp: %s: %w", addr, err)
	}
	return nil
}

func (m *Mailer) deliver(c *smtp.Client, tlsCfg *tls.Config, to []string, body []byte) error {
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if !m.cfg.Implicit && m.cfg.StartTLS != "off" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return err
			}
		} else if m.cfg.StartTLS == "required" {
			return fmt.Errorf("the server offers no STARTTLS and the URL says starttls=required")
		}
	}
	if m.cfg.User != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("the server offers no AUTH but the URL has credentials")
		}
		if err := c.Auth(smtp.PlainAuth("", m.cfg.User, m.cfg.Password, m.cfg.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(m.cfg.From); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Compose renders msg as an RFC 5322 message from from, dated now:
// multipart/alternative with text/plain then text/html.
func Compose(from string, msg *hashtrail.Mail, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	for _, a := range append([]string{from}, msg.To...) {
		if strings.ContainsAny(a, "\r\n") {
			return nil, hashtrail.Errorf(hashtrail.EINVALID, "an address holds a line break")
		}
	}
	h("From", from)
	h("To", strings.Join(msg.To, ",\r\n ")) // folded: one address a line
	h("Subject", mime.QEncoding.Encode("utf-8", msg.Subject))
	h("Date", now.UTC().Format(time.RFC1123Z))
	domain := "hashtrail.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = strings.TrimSuffix(d, ">")
	}
	h("Message-ID", "<"+randomID()+"@"+domain+">")
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	keys := make([]string, 0, len(msg.Headers))
	for k := range msg.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := msg.Headers[k]
		if k == "" || strings.ContainsAny(k, "\r\n: ") || strings.ContainsAny(v, "\r\n") {
			return nil, hashtrail.Errorf(hashtrail.EINVALID, "header %q is malformed", k)
		}
		h(textproto.CanonicalMIMEHeaderKey(k), mime.QEncoding.Encode("utf-8", v))
	}
	mw := multipart.NewWriter(&b)
	h("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", msg.Text}, {"text/html", msg.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(part.body, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func randomID() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}
