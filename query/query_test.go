package query_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/query"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []query.Term
	}{
		{"", nil},
		{"   ", nil},
		{`action:user.login actor:alice@example.com -outcome:success target:project:7 created:>=2026-01-01 ip:203.0.113.0/24 "free text"`,
			[]query.Term{
				{Field: "action", Values: []string{"user.login"}},
				{Field: "actor", Values: []string{"alice@example.com"}},
				{Not: true, Field: "outcome", Values: []string{"success"}},
				{Field: "target", Values: []string{"project:7"}},
				{Field: "created", Op: ">=", Values: []string{"2026-01-01"}},
				{Field: "ip", Values: []string{"203.0.113.0/24"}},
				{Field: "", Values: []string{"free text"}},
			}},
		{"action:user.login,user.logout,role.*", []query.Term{{Field: "action", Values: []string{"user.login", "user.logout", "role.*"}}}},
		{"Action:user.*", []query.Term{{Field: "action", Values: []string{"user.*"}}}},
		{"severity:>=high severity:low,medium", []query.Term{
			{Field: "severity", Op: ">=", Values: []string{"high"}}, {Field: "severity", Values: []string{"low", "medium"}}}},
		{"created:2026-01-01..2026-01-31 created:*..2026-03-01T10:00:00Z", []query.Term{
			{Field: "created", Op: "..", Values: []string{"2026-01-01", "2026-01-31"}},
			{Field: "created", Op: "..", Values: []string{"*", "2026-03-01T10:00:00Z"}}}},
		{`meta.billing.plan:pro meta.Note:"a, b",c -tag:* pay*`, []query.Term{
			{Field: "meta", Key: "billing.plan", Values: []string{"pro"}},
			{Field: "meta", Key: "Note", Values: []string{"a, b", "c"}},
			{Not: true, Field: "tag", Values: []string{"*"}},
			{Field: "", Values: []string{"pay*"}}}},
		{`-"rotated key" alice`, []query.Term{{Not: true, Values: []string{"rotated key"}}, {Values: []string{"alice"}}}},
		{`"say \"hi\" \\ now"`, []query.Term{{Values: []string{`say "hi" \ now`}}}},
		{"actor.type:service target.type:project country:de id:01J*", []query.Term{
			{Field: "actor.type", Values: []string{"service"}}, {Field: "target.type", Values: []string{"project"}},
			{Field: "country", Values: []string{"de"}}, {Field: "id", Values: []string{"01J*"}}}},
	} {
		s, err := query.Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(s.Terms, c.want) {
			t.Errorf("Parse(%q) =\n%#v\nwant\n%#v", c.in, s.Terms, c.want)
		}
		back, err := query.Parse(s.String())
		if err != nil || !reflect.DeepEqual(back, s) {
			t.Errorf("Parse(Format(Parse(%q))) = %#v, %v; Format gave %q", c.in, back, err, s.String())
		}
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[string]string{
		`Action:user.login   -OUTCOME:success`: `action:user.login -outcome:success`,
		`"alice"`:                              `alice`,
		`"a:b" "-x" "two words"`:               `"a:b" "-x" "two words"`,
		`meta.k:"x y","","p,q"`:                `meta.k:"x y","","p,q"`,
		`created:2026-01-01..*`:                `created:2026-01-01..*`,
		`severity:>high`:                       `severity:>high`,
	} {
		s, err := query.Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if got := s.String(); got != want {
			t.Errorf("Format(Parse(%q)) = %q, want %q", in, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"action:user.login acton:x":      `position 19: unknown qualifier "acton" (did you mean action?)`,
		`outcome:failure "never closed`:  "position 17: unterminated quote",
		"created:2026-13-01":             `position 9: created: "2026-13-01" is not a date`,
		"created:>=yesterday":            `position 11: created: "yesterday" is not a date`,
		"ip:203.0.113.0/33":              `position 4: ip: "203.0.113.0/33" is not an IP address`,
		"action:":                        "position 8: action: empty value",
		"action:a.b, x":                  "position 12: action: empty value; give another value after the comma",
		"-created:>2026-01-01":           "position 1: created: cannot be negated",
		"- foo":                          `position 1: "-" must be followed`,
		"category:nope":                  `category: "nope" is not a category`,
		"severity:>critical":             "severity:>critical matches nothing",
		"user:42":                        `unknown qualifier "user"; to search for it as text, quote it`,
		"metadata.plan:pro":              "(did you mean meta.plan?)",
		"meta:pro":                       "meta needs a member name",
		"country:deu":                    "two-letter country code",
		"--x":                            `position 2: a term is negated by one "-"`,
		"ab\"c":                          "position 3: a quote inside a word",
		`"x"y`:                           "position 4: a space must follow",
		"***":                            "has no letters or digits",
		"created:2026-02-01..2026-01-01": "the range ends before it starts",
		"é action:x":                     "position 10: action:", // positions count characters, not bytes
		"category:*":                     "* (present) does not apply",
		"target:project":                 "must be type:id",
		"actor:bob":                      "must be type:id",
		"created:2026-01-01,2026-01-02":  "position 19: created: takes one time or range",
		`"bad \escape"`:                  `position 6: a backslash in quotes`,
		"action:user.login " + strings.Repeat("x ", 70): "more than 64 terms",
	} {
		_, err := query.Parse(in)
		if err == nil {
			t.Errorf("Parse(%q): no error, want %q", in, want)
			continue
		}
		e, ok := err.(*hashtrail.Error)
		if !ok || e.Code != hashtrail.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != "q" {
			t.Errorf("Parse(%q): %#v, want an EINVALID *hashtrail.Error naming q", in, err)
			continue
		}
		if !strings.Contains(e.Fields[0].Message, want) {
			t.Errorf("Parse(%q): %q, want it to contain %q", in, e.Fields[0].Message, want)
		}
	}
	_, err := query.ParseField("filter", "acton:x")
	if e, ok := err.(*hashtrail.Error); !ok || e.Fields[0].Field != "filter" {
		t.Errorf("ParseField: %v", err)
	}
}

func TestApply(t *testing.T) {
	s, err := query.Parse(`action:user.* severity:>=high -country:de,fr created:2026-01-01..2026-01-31 created:<2026-01-15 pay* meta.plan:pro`)
	if err != nil {
		t.Fatal(err)
	}
	since, _ := hashtrail.ParseTime("2025-12-01T00:00:00Z")
	q := hashtrail.Query{Tenant: "acme", Since: since, Outcomes: []hashtrail.Outcome{"failure"}}
	s.Apply(&q)
	wantSince, _ := hashtrail.ParseTime("2026-01-01T00:00:00Z")
	wantUntil, _ := hashtrail.ParseTime("2026-01-15T00:00:00Z")
	if !q.Since.Equal(wantSince.Time) || !q.Until.Equal(wantUntil.Time) {
		t.Errorf("bounds %v..%v, want %v..%v", q.Since, q.Until, wantSince, wantUntil)
	}
	want := []hashtrail.Term{
		{Field: hashtrail.TermAction, Values: []string{"user.*"}},
		{Field: hashtrail.TermSeverity, Values: []string{"high", "critical"}},
		{Field: hashtrail.TermCountry, Values: []string{"DE", "FR"}, Not: true},
		{Field: hashtrail.TermText, Values: []string{"pay*"}},
		{Field: hashtrail.TermMeta, Key: "plan", Values: []string{"pro"}},
	}
	if !reflect.DeepEqual(q.Terms, want) {
		t.Errorf("terms %#v\nwant %#v", q.Terms, want)
	}
	if all := q.AllTerms(); len(all) != 6 || all[0].Field != hashtrail.TermOutcome {
		t.Errorf("AllTerms: %#v", all)
	}
	for in, want := range map[string][2]string{
		"created:2026-01-05":                   {"2026-01-05T00:00:00.000000Z", "2026-01-06T00:00:00.000000Z"},
		"created:>2026-01-05":                  {"2026-01-06T00:00:00.000000Z", ""},
		"created:<=2026-01-05T10:00:00Z":       {"", "2026-01-05T10:00:00.000001Z"},
		"created:2026-01-05T10:00:00+02:00..*": {"2026-01-05T08:00:00.000000Z", ""},
	} {
		s, err := query.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		var q hashtrail.Query
		s.Apply(&q)
		got := [2]string{}
		if !q.Since.IsZero() {
			got[0] = q.Since.String()
		}
		if !q.Until.IsZero() {
			got[1] = q.Until.String()
		}
		if got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// formats to a search that parses to the same terms. Its seeds
// (testdata/fuzz/FuzzParse and the ones below) run with go test.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`action:user.login actor:alice@example.com -outcome:success target:project:7 created:>=2026-01-01 ip:203.0.113.0/24 "free text"`,
		`meta.a.b:"x, y",z -tag:* "q\"uote" pay*`,
		`severity:>=high created:2026-01-01..* country:DE,fr`,
		`acton:x`, `"unterminated`, `-`, `a,b`, `x:"`, `meta.:x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := query.Parse(in)
		if err != nil {
			if e, ok := err.(*hashtrail.Error); !ok || e.Code != hashtrail.EINVALID || !strings.HasPrefix(e.Fields[0].Message, "position ") {
				t.Fatalf("Parse(%q): error %v is not a positioned EINVALID", in, err)
			}
			return
		}
		out := query.Format(s)
		back, err := query.Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but Parse(Format) = Parse(%q): %v", in, out, err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip of %q via %q:\n%#v\n%#v", in, out, s, back)
		}
		if query.Format(back) != out {
			t.Fatalf("Format is not stable for %q", in)
		}
		var q hashtrail.Query
		s.Apply(&q)
		for _, term := range q.Terms {
			if len(term.Values) == 0 {
				t.Fatalf("Parse(%q): a term without values: %#v", in, term)
			}
		}
	})
}

func TestFromTerms(t *testing.T) {
	const text = `-action:user.* severity:high,critical country:DE meta.a.b:"x y" "two words" -tag:*`
	s, err := query.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	var q hashtrail.Query
	s.Apply(&q)
	back, err := query.FromTerms(q.Terms)
	if err != nil {
		t.Fatal(err)
	}
	var q2 hashtrail.Query
	s2, err := query.Parse(back.String())
	if err != nil {
		t.Fatalf("Parse(%q): %v", back.String(), err)
	}
	s2.Apply(&q2)
	if !reflect.DeepEqual(q.Terms, q2.Terms) {
		t.Errorf("terms %#v\nafter FromTerms and back %#v", q.Terms, q2.Terms)
	}
	if _, err := query.FromTerms([]hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"a", "b"}}}); err == nil {
		t.Error("FromTerms of text alternatives: no error")
	}
}

// BenchmarkParse measures parsing a typical search and writing it back.
func BenchmarkParse(b *testing.B) {
	const text = `action:user.login,user.logout actor:alice@example.com -outcome:success target:project:7 created:>=2026-01-01 ip:203.0.113.0/24 meta.plan:pro "free text"`
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := query.Parse(text); err != nil {
				b.Fatal(err)
			}
		}
	})
	s, _ := query.Parse(text)
	b.Run("format", func(b *testing.B) {
		for b.Loop() {
			_ = s.String()
		}
	})
	b.Run("apply", func(b *testing.B) {
		for b.Loop() {
			var q hashtrail.Query
			s.Apply(&q)
		}
	})
}
