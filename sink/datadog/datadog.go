// Package datadog delivers events to the Datadog Logs API v2
// (POST https://http-intake.logs.<site>/api/v2/logs, header DD-API-KEY).
//
// Each event is one log entry: message is the event's JSON as the API
// answers it to an admin (DESIGN §1, §5); ddsource, ddtags (tenant:<t>
// and the configured tags), hostname and service fill Datadog's reserved
// attributes; timestamp (the event's time, milliseconds), status (from
// severity) and Datadog's standard attributes evt.*, usr.* and
// network.client.ip make it searchable without a pipeline; hashtrail.*
// carries tenant, seq, id and category.
//
// Datadog's limits are kept: at most 1,000 entries and 5,000,000
// uncompressed bytes per payload (batches are split) and 1,000,000 bytes
// per entry. An entry over that has its message cut to fit, followed by a
// note naming the event, and hashtrail.truncated set: the event stays
// whole in Hashtrail, and one event never blocks the sink.
//
// Answers: 202 (any 2xx) accepted; 400 and 403 (a bad API key), and other
// 4xx, are a *hashtrail.PermanentError; 413 splits the payload; 408, 429,
// 5xx and network errors are a *RetryError carrying Retry-After.
package datadog

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink/sinkutil"
)

// Options are a sink's collaborators, which come from the program rather
// than the settings.
type Options struct {
	// Client sends the requests; nil makes one of the sink's own. Pass a
	// client whose dialer refuses private addresses to guard against
	// server-side request forgery (with a url setting). Its redirect policy
	// is replaced: the sink never follows redirects.
	Client *http.Client
}

// Sink is a Datadog logs destination. It implements hashtrail.Sink;
// Deliver is called by one goroutine at a time.
type Sink struct {
	cfg      *Config
	endpoint string
	host     string
	tags     string
	client   *http.Client

	enc     *json.Encoder
	scratch bytes.Buffer
	all     []byte
	ends    []int
	body    bytes.Buffer
	gz      *gzip.Writer
	zbody   bytes.Buffer
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

// NewFromConfig returns a sink for cfg, which it validates.
func NewFromConfig(cfg *Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, endpoint: cfg.endpoint(), tags: strings.Join(cfg.Tags, ",")}
	u, _ := url.Parse(s.endpoint)
	s.host = u.Scheme + "://" + u.Host
	if opts.Client != nil {
		c := *opts.Client
		s.client = &c
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 4
		s.client = &http.Client{Transport: tr}
	}
	s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.enc = json.NewEncoder(&s.scratch)
	s.enc.SetEscapeHTML(false)
	if cfg.Gzip {
		s.gz, _ = gzip.NewWriterLevel(&s.zbody, gzip.BestSpeed)
	}
	return s, nil
}

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// Entry is one log entry as sent to Datadog.
type Entry struct {
	Source    string `json:"ddsource"`
	Tags      string `json:"ddtags"`
	Hostname  string `json:"hostname,omitempty"`
	Service   string `json:"service"`
	Message   string `json:"message"`
	Timestamp int64  `json:"timestamp"` // milliseconds since the epoch
	Status    string `json:"status"`
	Evt       struct {
		Name     string `json:"name"`
		Outcome  string `json:"outcome"`
		Category string `json:"category"`
	} `json:"evt"`
	Usr       *Usr `json:"usr,omitempty"`
	Network   *Net `json:"network,omitempty"`
	Hashtrail Meta `json:"hashtrail"`
}

// Usr is Datadog's standard user attributes (the event's actor).
type Usr struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Net is Datadog's network.client.ip.
type Net struct {
	Client struct {
		IP string `json:"ip"`
	} `json:"client"`
}

// Meta identifies the event in Hashtrail.
type Meta struct {
	Tenant    string `json:"tenant"`
	Seq       int64  `json:"seq"`
	ID        string `json:"id"`
	Truncated bool   `json:"truncated,omitempty"`
}

// status maps a severity to Datadog's log status.
var status = map[hashtrail.Severity]string{
	"info": "info", "low": "notice", "medium": "warning", "high": "error", "critical": "critical",
}

// entryOf returns ev's log entry, before any truncation.
func (s *Sink) entryOf(ev *hashtrail.Event, msg []byte) *Entry {
	e := &Entry{
		Source: or(s.cfg.Source, DefaultSource), Hostname: s.cfg.Hostname, Service: s.cfg.Service,
		Message: string(msg), Status: or(status[ev.Severity], "info"),
		Hashtrail: Meta{Tenant: ev.Tenant, Seq: ev.Seq, ID: ev.ID},
	}
	e.Tags = "tenant:" + ev.Tenant
	if s.tags != "" {
		e.Tags += "," + s.tags
	}
	if ev.Service != nil {
		e.Hostname = or(e.Hostname, ev.Service.Host)
		e.Service = or(e.Service, ev.Service.Name)
	}
	e.Service = or(e.Service, DefaultService)
	t := ev.Time
	if t.IsZero() {
		t = ev.ReceivedAt
	}
	e.Timestamp = t.UnixMilli()
	e.Evt.Name, e.Evt.Outcome, e.Evt.Category = ev.Action, string(ev.Outcome), string(ev.Category)
	if a := ev.Actor; a != nil && (a.ID != "" || a.Name != "" || a.Email != "") {
		e.Usr = &Usr{ID: a.ID, Name: a.Name, Email: a.Email}
	}
	if ev.Context != nil && ev.Context.IP != "" {
		e.Network = &Net{}
		e.Network.Client.IP = ev.Context.IP
	}
	return e
}

// Deliver sends batch (one tenant's events in seq order) and returns nil
// once Datadog accepted every payload.
func (s *Sink) Deliver(ctx context.Context, batch []*hashtrail.Event) error {
	if len(batch) == 0 {
		return nil
	}
	if err := s.encode(batch); err != nil {
		return err
	}
	return sinkutil.Chunks(s.ends[:len(batch)+1], 2, 1, MaxPayloadBytes, MaxEntries, func(lo, hi int) error { // [a,b]
		return s.sendRange(ctx, batch, lo, hi)
	})
}

// encode writes each event's entry into s.all, event i at s.ends[i]:s.ends[i+1].
func (s *Sink) encode(batch []*hashtrail.Event) error {
	s.all = s.all[:0]
	s.ends = append(s.ends[:0], 0)
	for _, ev := range batch {
		s.scratch.Reset()
		if err := s.enc.Encode(ev); err != nil {
			return &hashtrail.PermanentError{Err: fmt.Errorf("datadog: encode event %s seq %d: %w", ev.Tenant, ev.Seq, err)}
		}
		msg := bytes.TrimSuffix(s.scratch.Bytes(), []byte{'\n'})
		e := s.entryOf(ev, msg)
		b, err := s.marshal(e)
		if err != nil {
			return err
		}
		if len(b) > MaxEntryBytes {
			if b, err = s.truncate(e); err != nil {
				return err
			}
		}
		s.all = append(s.all, b...)
		s.ends = append(s.ends, len(s.all))
	}
	return nil
}

func (s *Sink) marshal(e *Entry) ([]byte, error) {
	s.scratch.Reset()
	if err := s.enc.Encode(e); err != nil {
		return nil, &hashtrail.PermanentError{Err: fmt.Errorf("datadog: encode entry %s seq %d: %w", e.Hashtrail.Tenant, e.Hashtrail.Seq, err)}
	}
	return bytes.TrimSuffix(s.scratch.Bytes(), []byte{'\n'}), nil
}

// truncate cuts e's message to the longest prefix (at a rune boundary)
// with which e, followed by a note, encodes within MaxEntryBytes.
func (s *Sink) truncate(e *Entry) ([]byte, error) {
	full := e.Message
	note := fmt.Sprintf(" [truncated by Hashtrail: the event's JSON is %d bytes, over Datadog's limit of %d bytes per log; the whole event is GET /v1/tenants/%s/events/%s]",
		len(full), MaxEntryBytes, e.Hashtrail.Tenant, url.PathEscape(e.Hashtrail.ID))
	e.Hashtrail.Truncated = true
	fits := func(n int) (bool, error) {
		for n > 0 && n < len(full) && !utf8.RuneStart(full[n]) {
			n--
		}
		e.Message = full[:n] + note
		b, err := s.marshal(e)
		return len(b) <= MaxEntryBytes, err
	}
	lo, hi := 0, len(full) // fits(lo); the answer is in [lo, hi)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ok, err := fits(mid)
		if err != nil {
			return nil, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	fits(lo)
	return s.marshal(e)
}

var errTooLarge = errors.New("datadog: 413")

// sendRange sends entries [i, j) of batch in one payload; on 413 it sends
// the halves instead.
func (s *Sink) sendRange(ctx context.Context, batch []*hashtrail.Event, i, j int) error {
	s.body.Reset()
	s.body.WriteByte('[')
	for k := i; k < j; k++ {
		if k > i {
			s.body.WriteByte(',')
		}
		s.body.Write(s.all[s.ends[k]:s.ends[k+1]])
	}
	s.body.WriteByte(']')
	body := s.body.Bytes()
	if s.gz != nil {
		s.zbody.Reset()
		s.gz.Reset(&s.zbody)
		s.gz.Write(body)
		s.gz.Close()
		body = s.zbody.Bytes()
	}
	err := s.post(ctx, body)
	if errors.Is(err, errTooLarge) && j-i > 1 {
		mid := i + (j-i)/2
		if err := s.sendRange(ctx, batch, i, mid); err != nil {
			return err
		}
		return s.sendRange(ctx, batch, mid, j)
	}
	if errors.Is(err, errTooLarge) {
		return &RetryError{Err: fmt.Errorf("%w (one entry of %d bytes, %s seq %d)", err, s.ends[j]-s.ends[i], batch[i].Tenant, batch[i].Seq)}
	}
	return err
}

const bodyExcerpt = 256

// post sends one payload and classifies the answer.
func (s *Sink) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(or(s.cfg.Timeout, Duration(DefaultTimeout))))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return &hashtrail.PermanentError{Err: fmt.Errorf("datadog: %w", err)}
	}
	req.Header.Set("DD-API-KEY", s.cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Hashtrail-Datadog/1")
	if s.gz != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &RetryError{Err: fmt.Errorf("datadog: POST to %s: %w", s.host, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	ex, _ := io.ReadAll(io.LimitReader(resp.Body, bodyExcerpt*4))
	status := fmt.Errorf("datadog: %s answered %s", s.host, resp.Status)
	if t := sinkutil.Excerpt(ex, bodyExcerpt); t != "" {
		status = fmt.Errorf("datadog: %s answered %s: %s", s.host, resp.Status, t)
	}
	switch c := resp.StatusCode; {
	case c == http.StatusRequestEntityTooLarge:
		return fmt.Errorf("%w: %w", errTooLarge, status)
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return &RetryError{Err: status, After: sinkutil.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	case c == http.StatusForbidden || c == http.StatusUnauthorized:
		return &hashtrail.PermanentError{Err: fmt.Errorf("%w (check the API key and the site)", status)}
	default:
		return &hashtrail.PermanentError{Err: status}
	}
}
