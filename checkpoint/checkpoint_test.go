package checkpoint_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
)

func mustRoot(t testing.TB, s string) merkle.Hash {
	t.Helper()
	h, err := merkle.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestFormat(t *testing.T) {
	c := checkpoint.Checkpoint{
		Origin: "example.com/behind-the-sofa",
		Size:   20852163,
		Root:   mustRoot(t, "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="),
	}
	// The example of c2sp.org/tlog-checkpoint.
	want := "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	got, err := c.Format()
	if err != nil || string(got) != want {
		t.Fatalf("Format = %q, %v; want %q", got, err, want)
	}
	if c.String() != want {
		t.Errorf("String = %q", c.String())
	}
	c.Extensions = []string{"ext one", "— ext two"}
	got, _ = c.Format()
	if want += "ext one\n— ext two\n"; string(got) != want {
		t.Errorf("Format with extensions = %q, want %q", got, want)
	}
	back, err := checkpoint.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.Origin != c.Origin || back.Size != c.Size || back.Root != c.Root || strings.Join(back.Extensions, "|") != "ext one|— ext two" {
		t.Errorf("Parse(Format(c)) = %+v", back)
	}
	empty := checkpoint.Checkpoint{Origin: checkpoint.Origin("audit.example.com", "acme"), Root: merkle.EmptyRoot}
	if got := empty.String(); got != "audit.example.com/acme\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n" {
		t.Errorf("empty log = %q", got)
	}
}

func TestFormatRejects(t *testing.T) {
	for _, c := range []checkpoint.Checkpoint{
		{Origin: ""},
		{Origin: "a\nb"},
		{Origin: "a\tb"},
		{Origin: "ok", Size: -1},
		{Origin: "ok", Extensions: []string{""}},
		{Origin: "ok", Extensions: []string{"x\ny"}},
		{Origin: "bad utf8 \xff"},
	} {
		if b, err := c.Format(); err == nil || !errors.Is(err, checkpoint.ErrMalformed) {
			t.Errorf("Format(%+v) = %q, %v; want ErrMalformed", c, b, err)
		}
		if c.String() != "" {
			t.Errorf("String(%+v) = %q, want \"\"", c, c.String())
		}
	}
}

func TestParseRejects(t *testing.T) {
	const root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
	for _, text := range []string{
		"",
		"o\n1\n" + root,          // no final newline
		"o\n1\n",                 // two lines
		"\n1\n" + root + "\n",    // empty origin
		"o\n01\n" + root + "\n",  // leading zero
		"o\n+1\n" + root + "\n",  // sign
		"o\n-1\n" + root + "\n",  // negative
		"o\n 1\n" + root + "\n",  // space
		"o\n1.0\n" + root + "\n", // not an integer
		"o\n99999999999999999999\n" + root + "\n",
		"o\n1\n" + root[:43] + "\n",          // no padding
		"o\n1\n" + root[:42] + "J=\n",        // non-zero padding bits
		"o\n1\nAAAA\n",                       // short hash
		"o\n1\n" + root + "\n\n",             // empty extension line
		"o\n1\n" + root + "\next\n\nmore\n",  // empty line inside
		"o\r\n1\r\n" + root + "\r\n",         // CRLF
		"o\n1\n" + root + "\nbad \x00 ext\n", // control character
		"o\xff\n1\n" + root + "\n",           // invalid UTF-8
		"o\n1\n" + root + "\n" + strings.Repeat("x", checkpoint.MaxTextSize) + "\n",
	} {
		if c, err := checkpoint.Parse([]byte(text)); !errors.Is(err, checkpoint.ErrMalformed) {
			t.Errorf("Parse(%.60q) = %+v, %v; want ErrMalformed", text, c, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"))
	f.Add([]byte("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"))
	f.Add([]byte("o\n1\nAAAA\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := checkpoint.Parse(text)
		if err != nil {
			return
		}
		back, err := c.Format()
		if err != nil || !bytes.Equal(back, text) {
			t.Fatalf("Format(Parse(%q)) = %q, %v", text, back, err)
		}
	})
}

func TestOrigin(t *testing.T) {
	if got := checkpoint.Origin("audit.example.com", "acme"); got != "audit.example.com/acme" {
		t.Errorf("Origin = %q", got)
	}
	for name, ok := range map[string]bool{
		"audit.example.com/acme": true,
		"hashtrail/ü":            true,
		"":                       false,
		"a b":                    false,
		"a+b":                    false,
		"a\u00a0b":               false, // no-break space
		"a\x01b":                 false,
		"\xff":                   false,
	} {
		if checkpoint.ValidKeyName(name) != ok {
			t.Errorf("ValidKeyName(%q) = %v", name, !ok)
		}
	}
}
