package hashtrail_test

import (
	"encoding/base64"
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []hashtrail.Cursor{
		{Seq: 0, Order: hashtrail.OrderAsc},
		{Seq: 0, Order: hashtrail.OrderDesc},
		{Seq: 42, Order: hashtrail.OrderDesc},
		{Seq: 1<<53 + 1, Order: hashtrail.OrderAsc},
		{Seq: math.MaxInt64, Order: hashtrail.OrderAsc},
	} {
		s := c.String()
		if s == "" || strings.ContainsAny(s, "+/=&?# ") {
			t.Errorf("%+v.String() = %q is not URL-safe", c, s)
		}
		got, err := hashtrail.ParseCursor(s)
		if err != nil || got != c {
			t.Errorf("ParseCursor(%q) = %+v, %v; want %+v", s, got, err, c)
		}
	}
	if a, b := (hashtrail.Cursor{Seq: 1, Order: hashtrail.OrderAsc}).String(), (hashtrail.Cursor{Seq: 1, Order: hashtrail.OrderDesc}).String(); a == b {
		t.Error("the order is not part of the cursor")
	}
}

func TestParseCursorRejects(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		"", "garbage!", "12", "v1.asc.5", "djEuYXNjLjU=", // padded
		enc("v2.asc.5"), enc("v1.up.5"), enc("v1.ASC.5"), enc("v1..5"), enc("v1.asc."), enc("v1.asc.-1"),
		enc("v1.asc.x"), enc("v1.asc.5.6"), enc("v1.asc.5 "), enc("v1.asc.0x10"), enc("v1.asc.99999999999999999999"),
		enc("v1.asc"), enc("v1"), enc(""),
		// What String makes of cursors that cannot exist.
		(hashtrail.Cursor{Seq: -1, Order: hashtrail.OrderAsc}).String(),
		(hashtrail.Cursor{Seq: 1}).String(),
	} {
		c, err := hashtrail.ParseCursor(s)
		if err == nil {
			t.Errorf("ParseCursor(%q) = %+v, want an error", s, c)
			continue
		}
		var e *hashtrail.Error
		if !errors.As(err, &e) || e.Code != hashtrail.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != "cursor" {
			t.Errorf("ParseCursor(%q): error %#v, want EINVALID on field cursor", s, err)
		}
		if c != (hashtrail.Cursor{}) {
			t.Errorf("ParseCursor(%q) returned %+v with its error", s, c)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add((hashtrail.Cursor{Seq: 42, Order: hashtrail.OrderDesc}).String())
	f.Fuzz(func(t *testing.T, s string) {
		c, err := hashtrail.ParseCursor(s)
		if err != nil {
			if hashtrail.ErrorCode(err) != hashtrail.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if c.Seq < 0 || (c.Order != hashtrail.OrderAsc && c.Order != hashtrail.OrderDesc) {
			t.Fatalf("ParseCursor(%q) = %+v", s, c)
		}
		again, err := hashtrail.ParseCursor(c.String())
		if err != nil || again != c {
			t.Fatalf("ParseCursor(%q) = %+v, but its String %q parses to %+v, %v", s, c, c.String(), again, err)
		}
	})
}

func TestParseIPFilter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:DB8:0:0::1", "2001:db8::1/128"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"}, // an IPv4-mapped address is the IPv4 address
		{"203.0.113.0/24", "203.0.113.0/24"},
		{"203.0.113.77/24", "203.0.113.0/24"}, // masked
		{"2001:db8::1/32", "2001:db8::/32"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"::/0", "::/0"},
		{"10.1.2.3/32", "10.1.2.3/32"},
	} {
		p, err := hashtrail.ParseIPFilter(tc.in)
		if err != nil {
			t.Errorf("ParseIPFilter(%q): %v", tc.in, err)
			continue
		}
		if !p.IsValid() || p.String() != tc.want {
			t.Errorf("ParseIPFilter(%q) = %s, want %s", tc.in, p, tc.want)
		}
	}
	p, _ := hashtrail.ParseIPFilter("203.0.113.0/24")
	for addr, in := range map[string]bool{"203.0.113.1": true, "203.0.113.255": true, "203.0.114.1": false, "2001:db8::1": false} {
		if p.Contains(netip.MustParseAddr(addr)) != in {
			t.Errorf("203.0.113.0/24 contains %s: %v", addr, !in)
		}
	}
	for _, in := range []string{"", " ", "1.2.3", "256.0.0.1", "example.com", "1.2.3.4/33", "2001:db8::/129", "1.2.3.4/", "/24",
		"1.2.3.4/-1", "1.2.3.4/24/8", "01.2.3.4", "1.2.3.4 ", "*"} {
		if p, err := hashtrail.ParseIPFilter(in); err == nil {
			t.Errorf("ParseIPFilter(%q) = %v, want an error", in, p)
		}
	}
}

func TestValidActorFilter(t *testing.T) {
	for s, ok := range map[string]bool{
		"user:42": true, "api_key:key_1": true, "email:a@example.com": true, "alice@example.com": true, "service:a:b": true,
		"": false, "alice": false, "user:": false, ":42": false, ":": false,
	} {
		if hashtrail.ValidActorFilter(s) != ok {
			t.Errorf("ValidActorFilter(%q) = %v", s, !ok)
		}
	}
}
