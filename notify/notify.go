// Package notify delivers alert notifications and digests: it implements
// hashtrail.Notifier over an SMTP mailer (package notify/smtp) and signed
// webhooks. Webhooks are signed per the Standard Webhooks specification
// with package sink/webhook's signer, and dialled through a sink.Guard, so
// a tenant's rule can reach no more of the network than its sinks can.
//
// A webhook answer of 2xx is success; 408, 429 and 5xx, and network
// errors, are errors the caller retries (the ledger's outbox, with
// backoff); other answers (redirects, which are never followed, and client
// errors) are *hashtrail.PermanentError, 410 Gone wrapping
// hashtrail.ErrWebhookGone.
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/webhook"
)

// Mailer sends one message (notify/smtp's Mailer).
type Mailer interface {
	Send(ctx context.Context, m *hashtrail.Mail) error
}

// Config configures a Notifier.
type Config struct {
	// Mailer sends email; nil answers EUNAVAILABLE to SendMail.
	Mailer Mailer
	// Guard checks every address a webhook dials; nil allows all (tests).
	Guard *sink.Guard
	// Timeout bounds one webhook request (default 10s).
	Timeout time.Duration
	// Now is the clock of webhook-timestamp (time.Now by default).
	Now func() time.Time
}

// Notifier implements hashtrail.Notifier.
type Notifier struct {
	cfg    Config
	client *http.Client
}

var _ hashtrail.Notifier = (*Notifier)(nil)

// New returns a Notifier.
func New(cfg Config) *Notifier {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Notifier{cfg: cfg, client: cfg.Guard.HTTPClient(cfg.Timeout)}
}

// SendMail sends m through the configured mailer.
func (n *Notifier) SendMail(ctx context.Context, m *hashtrail.Mail) error {
	if n.cfg.Mailer == nil {
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "this server sends no email: start it with --smtp-url and --smtp-from")
	}
	return n.cfg.Mailer.Send(ctx, m)
}

// PostWebhook posts w.Body signed with each of w.Secrets.
func (n *Notifier) PostWebhook(ctx context.Context, w *hashtrail.WebhookMessage) error {
	keys := make([][]byte, 0, len(w.Secrets))
	for _, s := range w.Secrets {
		k, err := webhook.DecodeSecret(s)
		if err != nil {
			return hashtrail.Errorf(hashtrail.EINVALID, "webhook secret: %v", err)
		}
		keys = append(keys, k)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(w.Body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	ts := n.cfg.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Hashtrail-Alert/1")
	req.Header[webhook.HeaderID] = []string{w.ID}
	req.Header[webhook.HeaderTimestamp] = []string{strconv.FormatInt(ts, 10)}
	req.Header[webhook.HeaderSignature] = []string{webhook.Sign(keys, w.ID, ts, w.Body)}
	resp, err := n.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, which may hold a token
		}
		return fmt.Errorf("webhook: POST to %s: %w", host(w.URL), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c <= 299:
		return nil
	case c == http.StatusGone:
		return &hashtrail.PermanentError{Err: fmt.Errorf("webhook: %s: %w", host(w.URL), hashtrail.ErrWebhookGone)}
	case c >= 300 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		// Redirects are not followed; other client errors will not mend.
		return &hashtrail.PermanentError{Err: fmt.Errorf("webhook: %s answered %s", host(w.URL), resp.Status)}
	}
	return fmt.Errorf("webhook: %s answered %s", host(w.URL), resp.Status)
}

// CheckWebhook validates a rule's webhook as the webhook sink validates
// its settings.
func (n *Notifier) CheckWebhook(prefix string, w *hashtrail.AlertWebhook) []hashtrail.FieldError {
	return CheckWebhook(prefix, w)
}

// CheckWebhook validates a webhook's URL (http or https, a host, no
// fragment) and secrets (one to webhook.MaxSecrets whsec_ secrets).
func CheckWebhook(prefix string, w *hashtrail.AlertWebhook) []hashtrail.FieldError {
	var errs []hashtrail.FieldError
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		errs = append(errs, hashtrail.FieldError{Field: prefix + ".url", Message: "must be an http or https URL with a host"})
	}
	if len(w.Secrets) == 0 || len(w.Secrets) > webhook.MaxSecrets {
		errs = append(errs, hashtrail.FieldError{Field: prefix + ".secrets", Message: fmt.Sprintf("needs 1 to %d whsec_ secrets", webhook.MaxSecrets)})
	}
	for i, s := range w.Secrets {
		if _, err := webhook.DecodeSecret(s); err != nil {
			errs = append(errs, hashtrail.FieldError{Field: fmt.Sprintf("%s.secrets[%d]", prefix, i), Message: err.Error()})
		}
	}
	return errs
}

// host is the scheme and host of a URL, the only part errors show.
func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the webhook"
	}
	return u.Scheme + "://" + u.Host
}
