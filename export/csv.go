package export

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// CSVColumns is the fixed column set of the CSV format, in order.
var CSVColumns = []string{
	"seq", "id", "time", "received_at", "tenant", "action", "category", "severity", "outcome",
	"actor_type", "actor_id", "actor_name", "actor_email", "targets", "ip", "user_agent", "country",
	"description", "reason", "error", "tags", "metadata",
}

// CSV writes RFC 4180 CSV (CRLF line ends, a header row of CSVColumns).
// targets is "type:id" per target, joined with a space; tags are joined with
// a comma; metadata is its JSON text.
//
// Spreadsheet formula injection: a cell that starts with =, +, -, @, a tab
// or a carriage return gets a leading apostrophe ('), so spreadsheet
// programs show it as text instead of evaluating it. The apostrophe is part
// of the cell: strip it when reading the file as data.
//
// A cell is quoted when it holds a comma, a double quote (doubled), CR or
// LF, or starts with a space; its bytes are kept as they are (line ends
// inside a cell are not rewritten).
type CSV struct {
	w   *bufio.Writer
	row []string
}

// NewCSV returns a CSV encoder writing to w.
func NewCSV(w io.Writer) *CSV {
	return &CSV{w: bufio.NewWriter(w), row: make([]string, len(CSVColumns))}
}

// Begin writes the header row.
func (c *CSV) Begin() error { return c.write(CSVColumns) }

// write writes one record and its CRLF.
func (c *CSV) write(r []string) error {
	for i, s := range r {
		if i > 0 {
			c.w.WriteByte(',')
		}
		if s == "" || (!strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ') {
			c.w.WriteString(s)
			continue
		}
		c.w.WriteByte('"')
		for {
			j := strings.IndexByte(s, '"')
			if j < 0 {
				break
			}
			c.w.WriteString(s[:j+1])
			c.w.WriteByte('"')
			s = s[j+1:]
		}
		c.w.WriteString(s)
		c.w.WriteByte('"')
	}
	_, err := c.w.WriteString("\r\n")
	return err
}

// Encode writes e's row.
func (c *CSV) Encode(e *hashtrail.Event) error {
	r := c.row
	clear(r)
	r[0] = strconv.FormatInt(e.Seq, 10)
	r[1] = e.ID
	r[2] = e.Time.String()
	r[3] = e.ReceivedAt.String()
	r[4] = e.Tenant
	r[5] = e.Action
	r[6] = string(e.Category)
	r[7] = string(e.Severity)
	r[8] = string(e.Outcome)
	if a := e.Actor; a != nil {
		r[9], r[10], r[11], r[12] = string(a.Type), a.ID, a.Name, a.Email
	}
	var b strings.Builder
	for i, t := range e.Targets {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.Key())
	}
	r[13] = b.String()
	if x := e.Context; x != nil {
		r[14], r[15] = x.IP, x.UserAgent
		if x.Location != nil {
			r[16] = x.Location.Country
		}
	}
	r[17], r[18], r[19] = e.Description, e.Reason, e.Error
	r[20] = strings.Join(e.Tags, ",")
	r[21] = string(e.Metadata)
	for i, s := range r {
		r[i] = defuseCell(s)
	}
	return c.write(r)
}

// Flush writes out the buffered rows.
func (c *CSV) Flush() error { return c.w.Flush() }

// End flushes the rows.
func (c *CSV) End() error { return c.w.Flush() }

// defuseCell prefixes an apostrophe to a cell a spreadsheet would read as
// a formula.
func defuseCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
