package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/merkle"
)

// APISource reads one tenant's log from a running server over the v1 API
// as an outside party: the latest checkpoint, the events (all of them, or a
// random sample) and proofs. It never asks the server for its log key: the
// verifier's keys are pinned by its user.
//
// It speaks the API through Get: HTTPGetter, or any transport.
type APISource struct {
	// Get performs one authenticated GET request.
	Get Getter
	// TenantID names the tenant.
	TenantID string
	// Sample, when positive, checks that many events drawn at random (and
	// the events that announce erasures and purges) with inclusion proofs
	// instead of every event.
	Sample int
	// PersonalData says the key may see personal data, so every role that
	// was not erased must come with its values and salt (see
	// PersonalDataSource).
	PersonalData bool
	// Rand draws the sample (default: a randomly seeded generator).
	Rand *rand.Rand
}

var (
	_ ProofSource        = (*APISource)(nil)
	_ PersonalDataSource = (*APISource)(nil)
)

// Getter performs a GET of path (such as "/v1/tenants/acme/log/checkpoint",
// with its query) on the server, authenticated, and returns the body of a
// 200 answer. Other answers are errors; an answer 404 should match
// hashtrail.ENOTFOUND (hashtrail.ErrorCode). It retries what is worth
// retrying (429, 5xx).
type Getter func(ctx context.Context, path string) ([]byte, error)

// Tenant implements Source.
func (s *APISource) Tenant() string { return s.TenantID }

// Complete implements Source: true unless sampling.
func (s *APISource) Complete() bool { return s.Sample <= 0 }

// ShowsPersonalData implements PersonalDataSource.
func (s *APISource) ShowsPersonalData() bool { return s.PersonalData }

func (s *APISource) tenantPath() string {
	return "/v1/tenants/" + url.PathEscape(s.TenantID)
}

// Checkpoints implements Source with the latest checkpoint
// (GET /v1/tenants/{t}/log/checkpoint).
func (s *APISource) Checkpoints(ctx context.Context) ([][]byte, error) {
	note, err := s.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	return [][]byte{note}, nil
}

// Checkpoint returns the latest signed checkpoint of the log.
func (s *APISource) Checkpoint(ctx context.Context) ([]byte, error) {
	return s.get(ctx, s.tenantPath()+"/log/checkpoint")
}

// LogKeys returns the verifier keys the server lists (GET /v1/log/keys), for
// an evidence bundle's information; a verifier never trusts them.
func (s *APISource) LogKeys(ctx context.Context) ([]string, error) {
	body, err := s.get(ctx, "/v1/log/keys")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, l := range strings.Split(string(body), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			keys = append(keys, l)
		}
	}
	return keys, nil
}

// InclusionProof implements ProofSource
// (GET /v1/tenants/{t}/log/proof/inclusion?seq=&size=).
func (s *APISource) InclusionProof(ctx context.Context, seq, size int64) ([]merkle.Hash, error) {
	var p hashtrail.InclusionProof
	q := url.Values{"seq": {strconv.FormatInt(seq, 10)}, "size": {strconv.FormatInt(size, 10)}}
	if err := s.getJSON(ctx, s.tenantPath()+"/log/proof/inclusion?"+q.Encode(), &p); err != nil {
		return nil, err
	}
	if p.LeafIndex != seq || p.TreeSize != size {
		return nil, fmt.Errorf("the server proved seq %d in size %d, not seq %d in size %d", p.LeafIndex, p.TreeSize, seq, size)
	}
	return toHashes(p.Hashes)
}

// ConsistencyProof implements ProofSource
// (GET /v1/tenants/{t}/log/proof/consistency?from=&to=).
func (s *APISource) ConsistencyProof(ctx context.Context, from, to int64) ([]merkle.Hash, error) {
	var p hashtrail.ConsistencyProof
	q := url.Values{"from": {strconv.FormatInt(from, 10)}, "to": {strconv.FormatInt(to, 10)}}
	if err := s.getJSON(ctx, s.tenantPath()+"/log/proof/consistency?"+q.Encode(), &p); err != nil {
		return nil, err
	}
	if p.From != from || p.To != to {
		return nil, fmt.Errorf("the server proved %d to %d, not %d to %d", p.From, p.To, from, to)
	}
	return toHashes(p.Hashes)
}

func toHashes(bs [][]byte) ([]merkle.Hash, error) {
	out := make([]merkle.Hash, len(bs))
	for i, b := range bs {
		h, err := merkle.HashFromBytes(b)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// Events returns one page of events in seq order from after+1 (after < 0:
// from the start), filtered by the given query parameters.
func (s *APISource) Events(ctx context.Context, after int64, limit int, filter url.Values) ([]*hashtrail.Event, error) {
	q := url.Values{}
	for k, v := range filter {
		q[k] = v
	}
	q.Set("order", "asc")
	q.Set("limit", strconv.Itoa(limit))
	if after >= 0 {
		q.Set("after_seq", strconv.FormatInt(after, 10))
	}
	var list api.EventList
	if err := s.getJSON(ctx, s.tenantPath()+"/events?"+q.Encode(), &list); err != nil {
		return nil, err
	}
	for i, e := range list.Events {
		if e == nil || e.Seq <= after || (i > 0 && e.Seq <= list.Events[i-1].Seq) {
			return nil, fmt.Errorf("the server listed events out of seq order")
		}
	}
	return list.Events, nil
}

// Entries implements Source.
func (s *APISource) Entries(ctx context.Context, end int64, fn func(*Entry) error) error {
	if s.Sample > 0 {
		return s.sampleEntries(ctx, end, fn)
	}
	next := int64(0)
	for next < end {
		page, err := s.Events(ctx, next-1, hashtrail.MaxLimit, nil)
		if err != nil {
			return err
		}
		for _, e := range page {
			for ; next < e.Seq && next < end; next++ {
				if err := fn(&Entry{Seq: next}); err != nil {
					return err
				}
			}
			if e.Seq >= end {
				return nil
			}
			if err := fn(&Entry{Seq: e.Seq, Event: e}); err != nil {
				return err
			}
			next = e.Seq + 1
		}
		if len(page) < hashtrail.MaxLimit {
			break
		}
	}
	for ; next < end; next++ {
		if err := fn(&Entry{Seq: next}); err != nil {
			return err
		}
	}
	return nil
}

// sampleEntries passes Sample random entries below end and every event that
// announces an erasure or purge, in seq order.
func (s *APISource) sampleEntries(ctx context.Context, end int64, fn func(*Entry) error) error {
	rng := s.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	picked := map[int64]bool{}
	if int64(s.Sample) >= end {
		for i := range end {
			picked[i] = true
		}
	} else {
		for len(picked) < s.Sample {
			picked[rng.Int64N(end)] = true
		}
	}
	byseq := map[int64]*Entry{}
	// The announcements, all of them: they are few.
	filter := url.Values{"action": {ActionSubjectErased, ActionRetentionPurge}}
	for after := int64(-1); ; {
		page, err := s.Events(ctx, after, hashtrail.MaxLimit, filter)
		if err != nil {
			return err
		}
		for _, e := range page {
			if e.Seq < end {
				byseq[e.Seq] = &Entry{Seq: e.Seq, Event: e}
			}
			after = e.Seq
		}
		if len(page) < hashtrail.MaxLimit || after >= end {
			break
		}
	}
	for seq := range picked {
		if byseq[seq] != nil {
			continue
		}
		page, err := s.Events(ctx, seq-1, 1, nil)
		if err != nil {
			return err
		}
		if len(page) == 1 && page[0].Seq == seq {
			byseq[seq] = &Entry{Seq: seq, Event: page[0]}
		} else {
			byseq[seq] = &Entry{Seq: seq} // no body: must be announced
		}
	}
	seqs := make([]int64, 0, len(byseq))
	for seq := range byseq {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		if err := fn(byseq[seq]); err != nil {
			return err
		}
	}
	return nil
}

// getJSON GETs path and decodes the JSON answer into out.
func (s *APISource) getJSON(ctx context.Context, path string, out any) error {
	body, err := s.get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("the answer to GET %s is not the JSON expected: %w", path, err)
	}
	return nil
}

func (s *APISource) get(ctx context.Context, path string) ([]byte, error) {
	if s.Get == nil {
		return nil, errors.New("client: APISource has no Get function")
	}
	return s.Get(ctx, path)
}

// HTTPGetter returns a Getter that reaches the server at baseURL (such as
// https://audit.example.com) with the API key as bearer token, through hc
// (http.DefaultClient if nil). It retries 429 and 5xx answers up to three
// times, after their Retry-After (at most 10s) or a growing pause.
func HTTPGetter(baseURL, apiKey string, hc *http.Client) Getter {
	if hc == nil {
		hc = http.DefaultClient
	}
	base := strings.TrimRight(baseURL, "/")
	return func(ctx context.Context, path string) ([]byte, error) {
		for attempt := 0; ; attempt++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if err != nil {
				return nil, err
			}
			if apiKey != "" {
				req.Header.Set("Authorization", "Bearer "+apiKey)
			}
			resp, err := hc.Do(req)
			if err != nil {
				return nil, err
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			if err != nil {
				return nil, err
			}
			if resp.StatusCode == http.StatusOK {
				return body, nil
			}
			if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) && attempt < 3 {
				wait := time.Duration(500<<attempt) * time.Millisecond
				if sec, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && sec >= 0 {
					wait = min(time.Duration(sec)*time.Second, 10*time.Second)
				}
				select {
				case <-time.After(wait):
					continue
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return nil, httpError(resp.StatusCode, resp.Status, path, body)
		}
	}
}

// httpError describes an error answer, with the problem's detail if any.
func httpError(code int, status, path string, body []byte) error {
	var p api.Problem
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &p) == nil && (p.Detail != "" || p.Title != "") {
		msg = p.Detail
		if msg == "" {
			msg = p.Title
		}
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	err := fmt.Errorf("GET %s: %s: %s", path, status, msg)
	if code == http.StatusNotFound {
		return errors.Join(err, hashtrail.Errorf(hashtrail.ENOTFOUND, "%s", msg))
	}
	return err
}
