package main

import (
	"fmt"
	"log/slog"
	"net/url"

	"github.com/hashtrail/hashtrail/notify"
	"github.com/hashtrail/hashtrail/notify/smtp"
	"github.com/hashtrail/hashtrail/sink"
)

// notifier builds the server's alert and digest notifier: webhooks guarded
// like sinks (sinks-allow-private applies to both), and email when
// smtp-url is set.
func (c *Config) notifier(log *slog.Logger) (*notify.Notifier, error) {
	nc := notify.Config{Guard: &sink.Guard{AllowPrivate: c.SinksAllowPrivate}}
	if c.SMTPURL != "" {
		sc, err := smtp.ParseURL(c.SMTPURL, c.SMTPFrom)
		if err != nil {
			return nil, fmt.Errorf("--smtp-url/--smtp-from: %w", err)
		}
		nc.Mailer = smtp.New(*sc)
		log.Info("alert and digest email", "smtp", sc.Host+":"+sc.Port, "from", sc.From, "starttls", sc.StartTLS, "implicit_tls", sc.Implicit)
	} else if c.SMTPFrom != "" {
		return nil, fmt.Errorf("--smtp-from is set without --smtp-url")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--public-url must be an http or https URL, such as https://audit.example.com")
		}
	}
	return notify.New(nc), nil
}
