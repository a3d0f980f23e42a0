package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/hashtrail/hashtrail"
)

// TestJCSObject checks JCSObject against hashtrail.Commit, which
// canonicalizes P_R itself: values_jcs must be JCS(P_R) byte for byte,
// whatever the member names (UTF-16 order, escapes).
func TestJCSObject(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, hashtrail.SaltSize)
	for _, m := range []map[string]json.RawMessage{
		{},
		{"/actor/email": json.RawMessage(`"a@b.example"`), "/actor/name": json.RawMessage(`"Ø"`), "/context/location": json.RawMessage(`{"city":"Berlin"}`)},
		{"/changes/10/old": json.RawMessage(`1`), "/changes/2/old": json.RawMessage(`2`), "/changes/2/new": json.RawMessage(`[true,null]`)},
		{"\u20ac": json.RawMessage(`1`), "\U0001F600": json.RawMessage(`2`), "\ufb01": json.RawMessage(`3`), "a\"b\\c\n\u007f<": json.RawMessage(`4`)},
	} {
		got, err := JCSObject(m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := hashtrail.Commit(m, salt)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(append(bytes.Clone(salt), got...))
		if hex.EncodeToString(sum[:]) != want {
			t.Errorf("JCSObject(%v) = %s: not the canonical form Commit hashes", m, got)
		}
	}
}
