// Package s3 is the S3-compatible archive destination of the sink
// dispatcher. Each delivered batch becomes one gzip-compressed JSON Lines
// object per tenant and time window (by received_at), under a key that is
// a function of its content:
//
//	<prefix>/<tenant>/<yyyy>/<mm>/<dd>/<hh>/<first seq>-<last seq>.jsonl.gz
//
// (seqs zero-padded to 20 digits so keys sort in log order; no <hh> with
// window "day"). Each line is one event as the API answers it to an admin.
// The gzip stream is deterministic (no name, no time, fixed level), so a
// batch sent again writes the same bytes to the same key: a replay or a
// retry overwrites, never adds.
//
// Beside each object, <same key without .jsonl.gz>.checkpoint holds the
// tenant's signed checkpoint (C2SP tlog-checkpoint signed note) that
// covers the object's last event, so an archive can be verified offline
// with the log's public key and proofs. The sink gets it through
// Checkpoints, which the dispatcher supplies (its hashtrail.LogStore has
// the method); it waits up to checkpoint_wait for the server to sign one.
//
// Deliver returns nil only after S3 answered 200 to both PUTs of every
// object of the batch. Signatures are AWS Signature Version 4, written here
// with the standard library (see Signer).
package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hashtrail/hashtrail"
)

// Checkpoints gives the signed checkpoint of a tenant's log that covers an
// event: the one method of hashtrail.LogStore the archive needs (the
// dispatcher passes its store). ENOTFOUND while none covers seq yet.
type Checkpoints interface {
	CheckpointCovering(ctx context.Context, tenant string, seq int64) (*hashtrail.SignedCheckpoint, error)
}

// Options are what the dispatcher supplies besides the settings.
type Options struct {
	// Checkpoints, when set, makes the sink write each object's
	// checkpoint sidecar; without it no sidecar is written.
	Checkpoints Checkpoints
	// HTTPClient sends requests (default: a client with the settings'
	// timeout). The dispatcher may pass one that refuses private
	// addresses.
	HTTPClient *http.Client
	// Now is the clock that dates signatures (default time.Now).
	Now func() time.Time
}

// Sink writes batches to an S3 bucket. It holds no connection state of
// its own; Deliver is called by one goroutine at a time.
type Sink struct {
	cfg    Config
	opts   Options
	signer Signer
}

var _ hashtrail.Sink = (*Sink)(nil)

// New returns a sink for cfg (validated here).
func New(cfg Config, opts Options) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: cfg.duration(cfg.Timeout, 30*time.Second)}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sink{cfg: cfg, opts: opts, signer: Signer{
		AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, SessionToken: cfg.SessionToken,
		Region: cfg.region(), Service: "s3",
	}}, nil
}

// Open is New from a sink's JSON settings.
func Open(settings json.RawMessage, opts Options) (*Sink, error) {
	cfg, err := ParseConfig(settings)
	if err != nil {
		return nil, err
	}
	return New(cfg, opts)
}

// Object is one archive object: events of one tenant and window.
type Object struct {
	Key    string
	Tenant string
	Events []*hashtrail.Event
}

// Objects splits batch into objects: a new object starts when the tenant
// or the window changes.
func (s *Sink) Objects(batch []*hashtrail.Event) []Object {
	var out []Object
	for _, e := range batch {
		w := s.window(e)
		if n := len(out); n > 0 && out[n-1].Tenant == e.Tenant && s.window(out[n-1].Events[0]) == w {
			out[n-1].Events = append(out[n-1].Events, e)
			continue
		}
		out = append(out, Object{Tenant: e.Tenant, Events: []*hashtrail.Event{e}})
	}
	for i := range out {
		o := &out[i]
		o.Key = fmt.Sprintf("%s/%s/%s/%020d-%020d.jsonl.gz", s.cfg.prefix(), o.Tenant, s.window(o.Events[0]),
			o.Events[0].Seq, o.Events[len(o.Events)-1].Seq)
	}
	return out
}

// window is the object's time path: yyyy/mm/dd/hh (or yyyy/mm/dd) of the
// event's received_at (its time if absent).
func (s *Sink) window(e *hashtrail.Event) string {
	t := e.ReceivedAt.Time
	if t.IsZero() {
		t = e.Time.Time
	}
	t = t.UTC()
	if s.cfg.Window == WindowDay {
		return t.Format("2006/01/02")
	}
	return t.Format("2006/01/02/15")
}

// CheckpointKey returns the key of an object's checkpoint sidecar.
func CheckpointKey(objectKey string) string {
	const ext = ".jsonl.gz"
	if len(objectKey) > len(ext) && objectKey[len(objectKey)-len(ext):] == ext {
		objectKey = objectKey[:len(objectKey)-len(ext)]
	}
	return objectKey + ".checkpoint"
}

// Encode returns an object's body: gzip (deterministic) of one JSON line
// per event.
func Encode(events []*hashtrail.Event) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	enc := json.NewEncoder(zw)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return nil, fmt.Errorf("s3: encoding event %s/%s: %w", e.Tenant, e.ID, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Deliver writes the batch's objects, each followed by its checkpoint
// sidecar, and returns nil once S3 accepted all of them.
func (s *Sink) Deliver(ctx context.Context, batch []*hashtrail.Event) error {
	for _, o := range s.Objects(batch) {
		var cp *hashtrail.SignedCheckpoint
		if s.opts.Checkpoints != nil {
			var err error
			if cp, err = s.checkpoint(ctx, o.Tenant, o.Events[len(o.Events)-1].Seq); err != nil {
				return err
			}
		}
		body, err := Encode(o.Events)
		if err != nil {
			return err
		}
		first, last := o.Events[0].Seq, o.Events[len(o.Events)-1].Seq
		meta := map[string]string{
			"X-Amz-Meta-Hashtrail-Tenant":    o.Tenant,
			"X-Amz-Meta-Hashtrail-First-Seq": strconv.FormatInt(first, 10),
			"X-Amz-Meta-Hashtrail-Last-Seq":  strconv.FormatInt(last, 10),
			"X-Amz-Meta-Hashtrail-Count":     strconv.Itoa(len(o.Events)),
		}
		if cp != nil {
			meta["X-Amz-Meta-Hashtrail-Checkpoint-Size"] = strconv.FormatInt(cp.Size, 10)
		}
		if err := s.put(ctx, o.Key, "application/gzip", body, meta); err != nil {
			return err
		}
		if cp != nil {
			if err := s.put(ctx, CheckpointKey(o.Key), "text/plain; charset=utf-8", cp.Note, map[string]string{
				"X-Amz-Meta-Hashtrail-Tenant":          o.Tenant,
				"X-Amz-Meta-Hashtrail-Checkpoint-Size": strconv.FormatInt(cp.Size, 10),
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkpoint waits for the smallest checkpoint of tenant covering seq.
func (s *Sink) checkpoint(ctx context.Context, tenant string, seq int64) (*hashtrail.SignedCheckpoint, error) {
	deadline := time.Now().Add(s.cfg.duration(s.cfg.CheckpointWait, 10*time.Second))
	for {
		cp, err := s.opts.Checkpoints.CheckpointCovering(ctx, tenant, seq)
		if err == nil {
			return cp, nil
		}
		if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			return nil, fmt.Errorf("s3: reading the checkpoint covering %s seq %d: %w", tenant, seq, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("s3: no signed checkpoint covers %s seq %d yet; the batch is retried", tenant, seq)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// objectURL returns the URL of key.
func (s *Sink) objectURL(key string) *url.URL {
	u, _ := url.Parse(s.cfg.Endpoint)
	if s.cfg.VirtualHosted {
		u.Host = s.cfg.Bucket + "." + u.Host
		u.Path = "/" + key
	} else {
		u.Path = "/" + s.cfg.Bucket + "/" + key
	}
	u.RawPath = URIEncode(u.Path, false)
	return u
}

// put PUTs body to key with a Content-MD5 the server checks.
func (s *Sink) put(ctx context.Context, key, contentType string, body []byte, meta map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.objectURL(key).String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	md := md5.Sum(body)
	sum := sha256.Sum256(body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(md[:]))
	for k, v := range meta {
		req.Header.Set(k, v)
	}
	if s.cfg.StorageClass != "" {
		req.Header.Set("X-Amz-Storage-Class", s.cfg.StorageClass)
	}
	s.signer.Sign(req, hex.EncodeToString(sum[:]), s.opts.Now())
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("s3: PUT %s: %w", key, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil
	}
	return s.errorOf(key, resp)
}

// errorOf turns an S3 error answer into a delivery error: 5xx, 408, 429
// and 307 (and S3's SlowDown, RequestTimeout, TemporaryRedirect) are
// retried; other answers (AccessDenied, NoSuchBucket, InvalidAccessKeyId,
// SignatureDoesNotMatch, PermanentRedirect for a wrong region or endpoint,
// InvalidStorageClass...) need an operator and are permanent. Redirects
// are never followed.
func (s *Sink) errorOf(key string, resp *http.Response) error {
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	xml.Unmarshal(raw, &e)
	if e.Code == "" {
		e.Code = resp.Status
	}
	err := fmt.Errorf("s3: PUT %s/%s: %d %s: %s", s.cfg.Bucket, key, resp.StatusCode, e.Code, e.Message)
	switch {
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode == http.StatusTemporaryRedirect, e.Code == "TemporaryRedirect",
		e.Code == "SlowDown", e.Code == "RequestTimeout", e.Code == "RequestTimeTooSkewed", e.Code == "ExpiredToken":
		// A skewed clock or an expired session token can be fixed
		// without touching the sink: retry.
		return err
	}
	return &hashtrail.PermanentError{Err: err}
}

// Close releases idle connections.
func (s *Sink) Close() error {
	s.opts.HTTPClient.CloseIdleConnections()
	return nil
}
