package export

import (
	"encoding/json"
	"io"

	hashtrail "github.com/hashtrail/hashtrail"
)

// JSONL writes one event per line, as the API answers it (DESIGN §3).
type JSONL struct{ enc *json.Encoder }

// NewJSONL returns a JSON Lines encoder writing to w.
func NewJSONL(w io.Writer) *JSONL {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONL{enc: enc}
}

// Begin writes nothing.
func (j *JSONL) Begin() error { return nil }

// Encode writes e and a newline.
func (j *JSONL) Encode(e *hashtrail.Event) error { return j.enc.Encode(e) }

// Flush does nothing: every event is written as it is encoded.
func (j *JSONL) Flush() error { return nil }

// End writes nothing.
func (j *JSONL) End() error { return nil }
