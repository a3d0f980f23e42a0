package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"strconv"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// ReceiptHeader is the first line of a receipt (C2SP tlog-proof@v1).
const ReceiptHeader = "c2sp.org/tlog-proof@v1"

// Receipt returns an event's proof as an offline receipt in the C2SP
// tlog-proof@v1 format:
//
//	c2sp.org/tlog-proof@v1
//	extra <base64 of the leaf>
//	index <seq>
//	<base64 hash of the inclusion proof, one per line>
//	<empty line>
//	<the signed checkpoint>
//
// The extra data is the event's leaf (DESIGN §2), so the receipt alone shows
// what was logged: its RFC 6962 leaf hash, SHA-256(0x00 || leaf), is the
// record hash that the inclusion proof proves at index seq in the checkpoint's
// tree. wait is as for EventProof.
func (l *Ledger) Receipt(ctx context.Context, tenant, id string, wait time.Duration) ([]byte, error) {
	ep, err := l.EventProof(ctx, tenant, id, wait)
	if err != nil {
		return nil, err
	}
	if ep.Leaf == nil {
		return nil, hashtrail.Errorf(hashtrail.EFORBIDDEN, "this event's leaf holds fields this viewer token hides, so it has no receipt for it; ?proof=true proves its leaf_hash")
	}
	return FormatReceipt(ep), nil
}

// FormatReceipt writes an event proof as a C2SP tlog-proof@v1 receipt (see
// Receipt).
func FormatReceipt(ep *hashtrail.EventProof) []byte {
	var b bytes.Buffer
	b.Grow(len(ReceiptHeader) + base64.StdEncoding.EncodedLen(len(ep.Leaf)) + 45*len(ep.Proof.Hashes) + len(ep.Checkpoint) + 64)
	b.WriteString(ReceiptHeader + "\n")
	b.WriteString("extra ")
	b.WriteString(base64.StdEncoding.EncodeToString(ep.Leaf))
	b.WriteString("\nindex ")
	b.WriteString(strconv.FormatInt(ep.Proof.LeafIndex, 10))
	b.WriteByte('\n')
	for _, h := range ep.Proof.Hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(ep.Checkpoint)
	return b.Bytes()
}
