// Package checkpoint writes, signs and opens the checkpoints of Hashtrail's
// tenant logs (DESIGN §2): C2SP tlog-checkpoint texts signed as C2SP signed
// notes with Ed25519 (golang.org/x/mod/sumdb/note).
//
// # Text
//
// A checkpoint's text is at least three non-empty lines, each ending in a
// newline (U+000A):
//
//	<origin>
//	<tree size>
//	<root hash>
//	[<extension line>]...
//
// The origin names the log: for Hashtrail `<server name>/<tenant>` (Origin).
// The tree size is ASCII decimal without leading zeros; the root hash is the
// standard, padded base64 of the RFC 6962 root of the log at that size.
// Extension lines are opaque and optional; Hashtrail writes none. Format and
// Parse convert between Checkpoint and this text, byte for byte.
//
// # Signatures
//
// A signed checkpoint is the text, a blank line and one signature line per
// key: "— <key name> <base64(key hash || Ed25519 signature of the text)>".
// The key name is the checkpoint's origin, as C2SP recommends, so one
// installation key signs every tenant's log under that log's name; its key
// hash is the first four bytes (big-endian) of
// SHA-256(key name || "\n" || 0x01 || Ed25519 public key). During a rotation
// a checkpoint carries two signature lines, one per key (Sign takes several
// keys). Verifier keys are the note form "<name>+<hash hex>+<base64(0x01 ||
// public key)>" (VerifierKey); a verifier that knows the installation's public
// key derives each log's verifier from the origin.
//
// Signing goes through crypto.Signer, so the private key may live in a file or
// variable today (LoadKey) and in a KMS or HSM later; only its Ed25519 public
// key and pure Ed25519 signatures are required.
package checkpoint

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashtrail/hashtrail/merkle"
)

// MaxTextSize bounds the checkpoint texts Parse accepts.
const MaxTextSize = 64 << 10

// ErrMalformed reports a checkpoint text or signed note that does not follow
// the format.
var ErrMalformed = errors.New("checkpoint: malformed checkpoint")

// Checkpoint is a log's signed statement: its name, size and root hash.
type Checkpoint struct {
	// Origin names the log; see Origin.
	Origin string
	// Size is the number of leaves in the log.
	Size int64
	// Root is the RFC 6962 root hash of the log's first Size leaves.
	Root merkle.Hash
	// Extensions are the optional extension lines, without their newlines.
	Extensions []string
}

// Origin returns the origin of a tenant's log, "<serverName>/<tenant>".
func Origin(serverName, tenant string) string { return serverName + "/" + tenant }

// ValidKeyName reports whether name can name a note signing key and so
// serve as an origin that Sign signs under: non-empty valid UTF-8 without
// Unicode spaces, control characters or plus signs (U+002B).
func ValidKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) && !strings.Contains(name, "+") &&
		strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) < 0
}

// validLine reports whether s can be one line of a note text: non-empty valid
// UTF-8 without ASCII control characters (the newline included).
func validLine(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 {
			return false
		}
	}
	return true
}

// Format returns the checkpoint text. It fails when the origin or an
// extension line is empty or holds a control character (a newline would frame
// another checkpoint), or when Size is negative.
func (c Checkpoint) Format() ([]byte, error) {
	if !validLine(c.Origin) {
		return nil, fmt.Errorf("%w: the origin %.80q must be one non-empty line without control characters", ErrMalformed, c.Origin)
	}
	if c.Size < 0 {
		return nil, fmt.Errorf("%w: negative tree size %d", ErrMalformed, c.Size)
	}
	var b bytes.Buffer
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatInt(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(c.Root[:]))
	b.WriteByte('\n')
	for i, e := range c.Extensions {
		if !validLine(e) {
			return nil, fmt.Errorf("%w: extension line %d %.80q must be non-empty and without control characters", ErrMalformed, i, e)
		}
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// String returns the checkpoint text, or "" if Format fails.
func (c Checkpoint) String() string {
	b, _ := c.Format()
	return string(b)
}

// Parse reads a checkpoint text (a note's text, without signatures). It is
// strict: the text must be exactly what Format writes for the result.
func Parse(text []byte) (Checkpoint, error) {
	bad := func(format string, args ...any) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	if len(text) > MaxTextSize {
		return bad("the text is larger than %d bytes", MaxTextSize)
	}
	if !bytes.HasSuffix(text, []byte("\n")) {
		return bad("the text must end with a newline")
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return bad("the text has %d lines; a checkpoint has at least 3", len(lines))
	}
	for i, l := range lines {
		if !validLine(l) {
			return bad("line %d is empty or holds a control character", i+1)
		}
	}
	var c Checkpoint
	c.Origin = lines[0]
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return bad("the tree size %.40q is not a decimal number without sign or leading zeros", lines[1])
	}
	c.Size = n
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != merkle.HashSize || base64.StdEncoding.EncodeToString(root) != lines[2] {
		return bad("the root hash %.60q is not the base64 of %d bytes", lines[2], merkle.HashSize)
	}
	copy(c.Root[:], root)
	if len(lines) > 3 {
		c.Extensions = lines[3:]
	}
	return c, nil
}
