// Package tlogwitness is a client of the C2SP tlog-witness protocol
// (https://c2sp.org/tlog-witness): it submits a log's signed checkpoints to
// a witness with POST <url>/add-checkpoint and returns the witness's
// cosignature lines. It implements hashtrail.Witness.
//
// A request body is "old <size>\n", one consistency proof hash per line
// (standard base64), a blank line, and the signed checkpoint. The witness
// answers 200 with its signature lines, 409 Conflict with the tree size it
// knows (text/x.tlog.size) when old is not that size, 422 for a bad proof,
// 403 for a signature it cannot verify and 404 for a log it does not know.
package tlogwitness

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// maxProofLines is the most consistency proof lines the protocol allows.
const maxProofLines = 63

// Client reaches one witness.
type Client struct {
	// URL is the witness's submission prefix; requests go to URL +
	// "/add-checkpoint".
	URL string
	// KeyName names the witness (its verifier key's name) in errors.
	KeyName string
	// HTTP is the client to use (http.DefaultClient if nil).
	HTTP *http.Client
}

var _ hashtrail.Witness = (*Client)(nil)

// Name returns the witness's key name.
func (c *Client) Name() string { return c.KeyName }

// AddCheckpoint submits a signed checkpoint with the previous size the
// witness knows and a consistency proof from it, and returns the
// cosignature lines the witness answers.
func (c *Client) AddCheckpoint(ctx context.Context, oldSize int64, proof []merkle.Hash, note []byte) ([]byte, error) {
	if len(proof) > maxProofLines {
		return nil, fmt.Errorf("tlogwitness: a consistency proof of %d hashes is longer than the protocol allows", len(proof))
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", oldSize)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(note)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/add-checkpoint", &b)
	if err != nil {
		return nil, fmt.Errorf("tlogwitness: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tlogwitness: %s: %w", c.KeyName, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("tlogwitness: %s: reading the answer: %w", c.KeyName, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusConflict:
		n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("tlogwitness: %s answered 409 without a tree size: %.100q", c.KeyName, body)
		}
		return nil, &hashtrail.WitnessConflictError{Witness: c.KeyName, Known: n}
	}
	return nil, fmt.Errorf("tlogwitness: %s answered %s: %.200s", c.KeyName, resp.Status, strings.TrimSpace(string(body)))
}
