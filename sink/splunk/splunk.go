// Package splunk delivers events to a Splunk HTTP Event Collector (HEC).
//
// A batch goes to POST <url>/services/collector/event with
// Authorization: Splunk <token>, as JSON objects one after the other, one
// per event:
//
//	{"time":1763888400.123456,"host":"web-1","source":"hashtrail","sourcetype":"_json","index":"audit","event":{...the event...}}
//
// time is the event's time in epoch seconds with microseconds; event is
// the event as the API answers it to an admin (DESIGN §1, §5). With
// acknowledgement on, every request carries X-Splunk-Request-Channel, each
// answer's ackId is polled at /services/collector/ack, and Deliver returns
// nil only once every request of the batch is indexed.
//
// Answers: 200 with code 0 accepted; 400 (malformed event, wrong index,
// missing channel), 401 and 403 (bad or disabled token) and other 4xx are
// a *hashtrail.PermanentError quoting Splunk's text, code and the event it
// names; 413 splits the request; 408, 429, 5xx (503 "Server is busy"),
// network errors and an acknowledgement that does not come in time are a
// *RetryError, carrying Retry-After when Splunk sends one.
package splunk

import (
	"bytes"
	"context"
	"crypto/rand"
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
}

// Sink is a Splunk HEC destination. It implements hashtrail.Sink; Deliver
// is called by one goroutine at a time.
type Sink struct {
	cfg      *Config
	eventURL string
	ackURL   string
	host     string // scheme://host, the only part of the URL errors show
	auth     string
	channel  string
	client   *http.Client
	tail     []byte // ,"source":...,"index":...,"event":

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

// NewFromConfig returns a sink for cfg, which it validates.
func NewFromConfig(cfg *Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base := cfg.base()
	u, _ := url.Parse(base)
	s := &Sink{
		cfg: cfg, eventURL: base + EventPath, host: u.Scheme + "://" + u.Host,
		auth: "Splunk " + cfg.Token, channel: cfg.Channel,
	}
	if cfg.Ack && s.channel == "" {
		s.channel = newGUID()
	}
	if s.channel != "" {
		s.ackURL = base + AckPath + "?channel=" + url.QueryEscape(s.channel)
	}
	var tail bytes.Buffer
	for _, kv := range [][2]string{
		{"source", or(cfg.Source, DefaultSource)}, {"sourcetype", or(cfg.Sourcetype, DefaultSourcetype)}, {"index", cfg.Index},
	} {
		if kv[1] != "" {
			tail.WriteString(`,"` + kv[0] + `":`)
			q, _ := json.Marshal(kv[1])
			tail.Write(q)
		}
	}
	tail.WriteString(`,"event":`)
	s.tail = tail.Bytes()
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
	return s, nil
}

// newGUID returns a random (version 4) GUID.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Channel returns the request channel the sink uses ("" for none).
func (s *Sink) Channel() string { return s.channel }

// Close releases idle connections.
func (s *Sink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// Deliver sends batch (one tenant's events in seq order) and returns nil
// once HEC accepted, and with Ack indexed, every request.
func (s *Sink) Deliver(ctx context.Context, batch []*hashtrail.Event) error {
	if len(batch) == 0 {
		return nil
	}
	if err := s.encode(batch); err != nil {
		return err
	}
	var acks []int64
	// HEC takes events concatenated, with nothing around or between them.
	if err := sinkutil.Chunks(s.ends[:len(batch)+1], 0, 0, or(s.cfg.MaxBodyBytes, DefaultMaxBodyBytes), 0, func(lo, hi int) error {
		return s.sendRange(ctx, batch, lo, hi, &acks)
	}); err != nil {
		return err
	}
	if s.cfg.Ack {
		return s.waitAcks(ctx, acks)
	}
	return nil
}

// encode writes each event's envelope into s.all, event i at
// s.ends[i]:s.ends[i+1].
func (s *Sink) encode(batch []*hashtrail.Event) error {
	s.all = s.all[:0]
	s.ends = append(s.ends[:0], 0)
	for _, ev := range batch {
		t := ev.Time
		if t.IsZero() {
			t = ev.ReceivedAt
		}
		us := t.Micros()
		s.all = append(s.all, `{"time":`...)
		s.all = strconv.AppendInt(s.all, us/1e6, 10)
		frac := us % 1e6
		s.all = append(s.all, '.')
		for d := int64(1e5); d > 0; d /= 10 {
			s.all = append(s.all, byte('0'+frac/d%10))
		}
		host := s.cfg.Host
		if host == "" && ev.Service != nil {
			host = ev.Service.Host
		}
		if host != "" {
			s.all = append(s.all, `,"host":`...)
			s.all = appendJSON(s.all, host)
		}
		s.all = append(s.all, s.tail...)
		s.scratch.Reset()
		if err := s.enc.Encode(ev); err != nil {
			return &hashtrail.PermanentError{Err: fmt.Errorf("splunk: encode event %s seq %d: %w", ev.Tenant, ev.Seq, err)}
		}
		s.all = append(s.all, bytes.TrimSuffix(s.scratch.Bytes(), []byte{'\n'})...)
		s.all = append(s.all, '}')
		s.ends = append(s.ends, len(s.all))
	}
	return nil
}

func appendJSON(b []byte, v string) []byte {
	q, _ := json.Marshal(v)
	return append(b, q...)
}

// hecAnswer is HEC's JSON answer.
type hecAnswer struct {
	Text               string          `json:"text"`
	Code               *int            `json:"code"`
	AckID              *int64          `json:"ackId"`
	InvalidEventNumber *int            `json:"invalid-event-number"`
	Acks               map[string]bool `json:"acks"`
}

var errTooLarge = errors.New("splunk: 413")

// sendRange sends events [i, j) of batch in one request and appends its
// ackId to acks; on 413 it sends the halves instead.
func (s *Sink) sendRange(ctx context.Context, batch []*hashtrail.Event, i, j int, acks *[]int64) error {
	s.body.Reset()
	s.body.Write(s.all[s.ends[i]:s.ends[j]])
	ans, err := s.post(ctx, s.eventURL, s.body.Bytes())
	if errors.Is(err, errTooLarge) && j-i > 1 {
		mid := i + (j-i)/2
		if err := s.sendRange(ctx, batch, i, mid, acks); err != nil {
			return err
		}
		return s.sendRange(ctx, batch, mid, j, acks)
	}
	if err != nil {
		if ans != nil && ans.InvalidEventNumber != nil {
			if k := i + *ans.InvalidEventNumber; k >= i && k < j {
				err = fmt.Errorf("%w (event %s seq %d)", err, batch[k].Tenant, batch[k].Seq)
			}
		}
		if errors.Is(err, errTooLarge) {
			err = fmt.Errorf("splunk: %s refused one event of %d bytes as too large (%s seq %d)", s.host, s.ends[j]-s.ends[i], batch[i].Tenant, batch[i].Seq)
		}
		if !hashtrail.IsPermanent(err) && !isRetry(err) {
			err = &hashtrail.PermanentError{Err: err}
		}
		return err
	}
	if s.cfg.Ack {
		if ans.AckID == nil {
			return &hashtrail.PermanentError{Err: fmt.Errorf("splunk: ack is on in the settings but %s answered no ackId: turn on indexer acknowledgement for the token, or ack off", s.host)}
		}
		*acks = append(*acks, *ans.AckID)
	}
	return nil
}

func isRetry(err error) bool {
	var r *RetryError
	return errors.As(err, &r)
}

// waitAcks polls the ack endpoint until every id in acks is acknowledged.
func (s *Sink) waitAcks(ctx context.Context, acks []int64) error {
	deadline := time.Now().Add(time.Duration(or(s.cfg.AckTimeout, Duration(DefaultAckTimeout))))
	maxPause := time.Duration(or(s.cfg.AckPollInterval, Duration(DefaultAckPollInterval)))
	pause := min(50*time.Millisecond, maxPause)
	pending := acks
	for len(pending) > 0 {
		body, _ := json.Marshal(map[string][]int64{"acks": pending})
		ans, err := s.post(ctx, s.ackURL, body)
		if err != nil {
			return err
		}
		left := pending[:0:0]
		for _, id := range pending {
			if !ans.Acks[strconv.FormatInt(id, 10)] {
				left = append(left, id)
			}
		}
		pending = left
		if len(pending) == 0 {
			break
		}
		if time.Now().Add(pause).After(deadline) {
			return &RetryError{Err: fmt.Errorf("splunk: %d of %d requests not acknowledged by %s within %v; the batch is sent again", len(pending), len(acks), s.host, time.Duration(or(s.cfg.AckTimeout, Duration(DefaultAckTimeout))))}
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return &RetryError{Err: fmt.Errorf("splunk: waiting for acknowledgement: %w", ctx.Err())}
		case <-t.C:
		}
		pause = min(2*pause, maxPause)
	}
	return nil
}

// bodyExcerpt is how much of an unparsable error answer an error quotes.
const bodyExcerpt = 256

// post sends one request and classifies the answer.
func (s *Sink) post(ctx context.Context, url_ string, body []byte) (*hecAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(or(s.cfg.Timeout, Duration(DefaultTimeout))))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url_, bytes.NewReader(body))
	if err != nil {
		return nil, &hashtrail.PermanentError{Err: fmt.Errorf("splunk: %w", err)}
	}
	req.Header.Set("Authorization", s.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Hashtrail-Splunk/1")
	if s.channel != "" {
		req.Header.Set("X-Splunk-Request-Channel", s.channel)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &RetryError{Err: fmt.Errorf("splunk: POST to %s: %w", s.host, err)}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var ans hecAnswer
	parsed := json.Unmarshal(raw, &ans) == nil
	if resp.StatusCode == http.StatusOK && (!parsed || ans.Code == nil || *ans.Code == 0) {
		if !parsed && s.cfg.Ack {
			return nil, &RetryError{Err: fmt.Errorf("splunk: %s answered 200 with a body that is not HEC's JSON: %s", s.host, sinkutil.Excerpt(raw, bodyExcerpt))}
		}
		return &ans, nil
	}
	var status error
	switch {
	case parsed && ans.Code != nil:
		status = fmt.Errorf("splunk: %s answered %s: %s (code %d)", s.host, resp.Status, ans.Text, *ans.Code)
	case len(raw) > 0:
		status = fmt.Errorf("splunk: %s answered %s: %s", s.host, resp.Status, sinkutil.Excerpt(raw, bodyExcerpt))
	default:
		status = fmt.Errorf("splunk: %s answered %s", s.host, resp.Status)
	}
	switch c := resp.StatusCode; {
	case c == http.StatusRequestEntityTooLarge:
		return &ans, fmt.Errorf("%w: %w", errTooLarge, status)
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return &ans, &RetryError{Err: status, After: sinkutil.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	case c == http.StatusOK:
		// 200 with a non-zero code: not documented; retry rather than lose.
		return &ans, &RetryError{Err: status}
	default:
		return &ans, &hashtrail.PermanentError{Err: status}
	}
}
