package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// tryResult says why a try left events to retry.
type tryResult struct {
	status     int           // 0 for a network error
	retryAfter time.Duration // the server's Retry-After, if any
	err        error
}

// attempt sends ps once (splitting the batch when one of its events makes
// the server refuse the whole request) and resolves every event the server
// answered for. It returns the suffix of ps still to send, and why.
func (c *Client) attempt(ctx context.Context, ps []*pending) ([]*pending, *tryResult) {
	status, ans, prob, retryAfter, err := c.post(ctx, ps)
	switch {
	case err != nil:
		return ps, &tryResult{err: err}
	case status == http.StatusOK:
		c.resolveAnswer(ps, ans)
		return nil, nil
	case status == http.StatusTooManyRequests || status >= 500:
		return ps, &tryResult{status: status, retryAfter: retryAfter, err: asError(prob)}
	case len(ps) > 1 && splittable(status):
		// One event spoils the request (a reused id, a body too large, a
		// batch-level 400): send each half on its own, in order.
		half := len(ps) / 2
		if rest, why := c.attempt(ctx, ps[:half]); len(rest) > 0 {
			return append(rest, ps[half:]...), why
		}
		return c.attempt(ctx, ps[half:])
	default:
		var fields []hashtrail.FieldError
		if prob != nil {
			fields = prob.Errors
		}
		for _, p := range ps {
			c.fail(p, status, fields, asError(prob))
		}
		return nil, nil
	}
}

// splittable reports whether an answer may concern only some events of a
// batch, so that sending them separately can help.
func splittable(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// resolveAnswer settles every event of a 200 answer.
func (c *Client) resolveAnswer(ps []*pending, ans *api.IngestResponse) {
	receipts := make([][]hashtrail.Receipt, len(ps))
	for _, r := range ans.Events {
		if r.Index >= 0 && r.Index < len(ps) {
			receipts[r.Index] = append(receipts[r.Index], r)
		}
	}
	rejected := make(map[int][]hashtrail.FieldError, len(ans.Rejected))
	for _, rj := range ans.Rejected {
		rejected[rj.Index] = rj.Errors
	}
	for i, p := range ps {
		switch {
		case len(receipts[i]) > 0:
			c.sent.Add(1)
			if p.wait != nil {
				p.wait.resolve(receipts[i], nil)
			}
		case rejected[i] != nil:
			c.fail(p, http.StatusBadRequest, rejected[i], errors.New("the server rejected the event"))
		default:
			c.fail(p, http.StatusOK, nil, errors.New("the server's answer has no receipt for the event"))
		}
	}
}

// fail gives up on p: counted, reported, and its RecordSync caller told.
func (c *Client) fail(p *pending, status int, fields []hashtrail.FieldError, err error) {
	c.failed.Add(1)
	ee := p.eventError(status, fields, err)
	if p.wait != nil {
		p.wait.resolve(nil, ee)
	}
	c.report(ee)
}

// ProblemError is an error answer of the server (RFC 9457 problem details
// with the HTTP status): the Err of an *EventError the server refused, or of
// a *RetryError for a 429 or 5xx.
type ProblemError struct {
	Status int
	api.Problem
}

func (e *ProblemError) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, msg)
}

// asError returns prob as an error, nil when it is nil.
func asError(prob *ProblemError) error {
	if prob == nil {
		return nil
	}
	return prob
}

// post sends one request of ps. A nil err means the server answered:
// status, and ans for a 200 or prob otherwise.
func (c *Client) post(ctx context.Context, ps []*pending) (status int, ans *api.IngestResponse, prob *ProblemError, retryAfter time.Duration, err error) {
	n := len(`{"events":[]}`) + len(ps)
	for _, p := range ps {
		n += len(p.body)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, `{"events":[`...)
	for i, p := range ps {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, p.body...)
	}
	buf = append(buf, "]}"...)

	rctx, cancel := context.WithTimeout(ctx, c.cfg.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.endpoint, bytes.NewReader(buf))
	if err != nil {
		return 0, nil, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.cfg.userAgent)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		ans = &api.IngestResponse{}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(ans); err != nil {
			// The events may be durable; the same bytes are sent again and
			// answered with the original receipts.
			return 0, nil, nil, 0, fmt.Errorf("reading the answer: %w", err)
		}
		return http.StatusOK, ans, nil, 0, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	prob = &ProblemError{Status: resp.StatusCode}
	if json.Unmarshal(body, &prob.Problem) != nil || prob.Code == "" {
		prob.Problem = api.Problem{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), Detail: strings.TrimSpace(string(body))}
		if len(prob.Detail) > 200 {
			prob.Detail = prob.Detail[:200]
		}
	}
	return resp.StatusCode, nil, prob, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), nil
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// backoff is the wait before try attempt+1: full jitter over an
// exponentially growing cap, or the server's Retry-After when longer.
func (c *Client) backoff(attempt int, why *tryResult) time.Duration {
	ceiling := c.cfg.minBackoff
	for i := 1; i < attempt && ceiling < c.cfg.maxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, c.cfg.maxBackoff)
	wait := time.Duration(rand.Int64N(int64(ceiling))) + 1
	if why != nil && why.retryAfter > wait {
		wait = min(why.retryAfter, c.cfg.maxRetryAfter)
	}
	return wait
}

// retryError is the report of a failed try.
func retryError(attempt, events int, wait time.Duration, why *tryResult) *RetryError {
	return &RetryError{Attempt: attempt, Events: events, Status: why.status, Wait: wait, Err: why.err}
}
