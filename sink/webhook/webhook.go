// Package webhook delivers events to an HTTP endpoint, signed per the
// Standard Webhooks specification (https://www.standardwebhooks.com/).
//
// Each request is a POST of application/json: a batch of one tenant's
// events in seq order as a JSON array, or one event as a JSON object when
// PerEvent is set. Every event is the event as the API answers it to an
// admin (DESIGN §1, §5). Headers:
//
//	webhook-id:        <tenant>:<first seq>-<last seq>   (stable across retries)
//	webhook-timestamp: <unix seconds of this attempt>
//	webhook-signature: v1,<base64 HMAC-SHA256(key, id "." timestamp "." body)> [one per secret, space-separated]
//
// Answers: 2xx accepted; 410 Gone is a *hashtrail.PermanentError (the
// dispatcher pauses the sink); 408, 429, 5xx and network errors are a
// *RetryError carrying Retry-After; 413 splits the request in halves down
// to one event; any other status (and a redirect, which is never followed)
// is a *hashtrail.PermanentError with the status and a body excerpt.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
)

// Options are a sink's collaborators, which come from the program rather
// than the settings.
type Options struct {
	// Client sends the requests; nil makes one of the sink's own. Pass a
	// client whose dialer refuses private addresses to guard against
	// server-side request forgery. Its redirect policy is replaced: the
	// sink never follows redirects.
	Client *http.Client
	// Now is the clock of webhook-timestamp (time.Now if nil).
	Now func() time.Time
}

// Sink is a webhook destination. It implements hashtrail.Sink.
type Sink struct {
	cfg    *Config
	keys   [][]byte
	url    string
	host   string // scheme://host, the only part of the URL errors show
	header http.Header
	client *http.Client
	owned  bool
	now    func() time.Time

	enc     *json.Encoder
	scratch bytes.Buffer
	all     []byte
	ends    []int
	body    bytes.Buffer
}

var _ hashtrail.Sink = (*Sink)(nil)

// New returns a sink for settings (see Config); an EINVALID error names
// the wrong setting.
func New(settings json.RawMessage, opts Options) (*Sink, error) {
	cfg, err := ParseConfig(settings)
	if err != nil {
		return nil, err
	}
	return NewFromConfig(cfg, opts)
}

// NewFromConfig returns a sink for a validated-here cfg.
func NewFromConfig(cfg *Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, url: cfg.URL, now: opts.Now, header: http.Header{}}
	for _, sec := range cfg.Secrets {
		k, _ := DecodeSecret(sec)
		s.keys = append(s.keys, k)
	}
	u, _ := url.Parse(cfg.URL)
	s.host = u.Scheme + "://" + u.Host
	for k, v := range cfg.Headers {
		s.header.Set(k, v)
	}
	s.header.Set("Content-Type", "application/json")
	if s.header.Get("User-Agent") == "" {
		s.header.Set("User-Agent", "Hashtrail-Webhook/1")
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.Client != nil {
		c := *opts.Client
		s.client = &c
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 4
		s.client = &http.Client{Transport: tr}
		s.owned = true
	}
	s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.enc = json.NewEncoder(&s.scratch)
	s.enc.SetEscapeHTML(false)
	return s, nil
}

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// MessageID returns the webhook-id of a request carrying the events of
// tenant from seq first to seq last: the same on every retry of the batch.
func MessageID(tenant string, first, last int64) string {
	return tenant + ":" + strconv.FormatInt(first, 10) + "-" + strconv.FormatInt(last, 10)
}

// Deliver sends batch (one tenant's events in seq order) and returns nil
// once the receiver accepted every request.
func (s *Sink) Deliver(ctx context.Context, batch []*hashtrail.Event) error {
	if len(batch) == 0 {
		return nil
	}
	if err := s.encode(batch); err != nil {
		return err
	}
	if s.cfg.PerEvent {
		for i := range batch {
			if err := s.sendRange(ctx, batch, i, i+1); err != nil {
				return err
			}
		}
		return nil
	}
	return sinkutil.Chunks(s.ends[:len(batch)+1], 2, 1, s.cfg.maxBody(), 0, func(lo, hi int) error { // [a,b]
		return s.sendRange(ctx, batch, lo, hi)
	})
}

// encode writes each event's JSON into s.all, event i at s.ends[i]:s.ends[i+1].
func (s *Sink) encode(batch []*hashtrail.Event) error {
	s.all = s.all[:0]
	s.ends = append(s.ends[:0], 0)
	for _, ev := range batch {
		s.scratch.Reset()
		if err := s.enc.Encode(ev); err != nil {
			return &hashtrail.PermanentError{Err: fmt.Errorf("webhook: encode event %s seq %d: %w", ev.Tenant, ev.Seq, err)}
		}
		b := bytes.TrimSuffix(s.scratch.Bytes(), []byte{'\n'})
		s.all = append(s.all, b...)
		s.ends = append(s.ends, len(s.all))
	}
	return nil
}

// sendRange sends events [i, j) of batch in one request; on 413 it sends
// the halves instead.
func (s *Sink) sendRange(ctx context.Context, batch []*hashtrail.Event, i, j int) error {
	s.body.Reset()
	if s.cfg.PerEvent {
		s.body.Write(s.all[s.ends[i]:s.ends[j]])
	} else {
		s.body.WriteByte('[')
		for k := i; k < j; k++ {
			if k > i {
				s.body.WriteByte(',')
			}
			s.body.Write(s.all[s.ends[k]:s.ends[k+1]])
		}
		s.body.WriteByte(']')
	}
	id := MessageID(batch[i].Tenant, batch[i].Seq, batch[j-1].Seq)
	err := s.post(ctx, id, s.body.Bytes())
	if errors.Is(err, errTooLarge) && j-i > 1 {
		mid := i + (j-i)/2
		if err := s.sendRange(ctx, batch, i, mid); err != nil {
			return err
		}
		return s.sendRange(ctx, batch, mid, j)
	}
	if errors.Is(err, errTooLarge) {
		return &hashtrail.PermanentError{Err: fmt.Errorf("webhook: %s answered 413 Content Too Large to one event (%s seq %d, %d bytes)", s.host, batch[i].Tenant, batch[i].Seq, s.ends[j]-s.ends[i])}
	}
	return err
}

var errTooLarge = errors.New("webhook: 413")

// bodyExcerpt is how much of an error answer's body an error quotes.
const bodyExcerpt = 256

// post sends one signed request and classifies the answer.
func (s *Sink) post(ctx context.Context, id string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return &hashtrail.PermanentError{Err: fmt.Errorf("webhook: %w", err)}
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	ts := s.now().Unix()
	req.Header[HeaderID] = []string{id}
	req.Header[HeaderTimestamp] = []string{strconv.FormatInt(ts, 10)}
	req.Header[HeaderSignature] = []string{Sign(s.keys, id, ts, body)}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, which may hold a token
		}
		return &RetryError{Err: fmt.Errorf("webhook: POST to %s: %w", s.host, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection
		return nil
	}
	ex, _ := io.ReadAll(io.LimitReader(resp.Body, bodyExcerpt*4))
	status := fmt.Errorf("webhook: %s answered %s", s.host, resp.Status)
	if t := sinkutil.Excerpt(ex, bodyExcerpt); t != "" {
		status = fmt.Errorf("webhook: %s answered %s: %s", s.host, resp.Status, t)
	}
	switch c := resp.StatusCode; {
	case c == http.StatusGone:
		return &hashtrail.PermanentError{Err: fmt.Errorf("%w (410 Gone: the receiver asked to stop)", status)}
	case c == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: %w", errTooLarge, status)
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return &RetryError{Err: status, After: sinkutil.ParseRetryAfter(resp.Header.Get("Retry-After"), s.now())}
	case c >= 300 && c < 400:
		return &hashtrail.PermanentError{Err: fmt.Errorf("%w (redirects are not followed: configure the final URL)", status)}
	default:
		return &hashtrail.PermanentError{Err: status}
	}
}
