package hashtrail

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Order is the direction of a listing by seq.
type Order string

// The orders: newest first (the default) or oldest first.
const (
	OrderDesc Order = "desc"
	OrderAsc  Order = "asc"
)

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Query selects events of one tenant. Every set filter must match (AND); the
// values within one list filter are alternatives (OR). Each typed filter
// means exactly the Term AllTerms makes of it (see TermField for what each
// matches, and its case sensitivity); Since and Until bound the event's
// time. Query.Match is this contract in code, and store/storetest checks
// stores against it.
type Query struct {
	Tenant string
	// Actions holds exact action names, or prefixes written "user.*".
	Actions     []string
	Categories  []Category
	MinSeverity Severity // events at or above it; "" for all
	Outcomes    []Outcome
	Actor       string       // "type:id", or an email address
	Target      string       // "type:id"
	IP          netip.Prefix // a single address is a /32 or /128
	Since       Time         // time >= Since
	Until       Time         // time < Until
	// Terms are further conditions, each of which must hold (AND): the
	// search syntax (package query, DESIGN §4) and everything the typed
	// filters above can say. See Term for what each matches; AllTerms
	// returns the typed filters and Terms as one list, which is what a
	// store translates.
	Terms []Term
	// AfterSeq and BeforeSeq bound seq exclusively; nil means unbounded.
	AfterSeq  *int64
	BeforeSeq *int64
	Order     Order
	Limit     int
}

// EventList is one page of events. NextCursor is empty at the end.
type EventList struct {
	Events     []*Event `json:"events"`
	NextCursor string   `json:"next_cursor"`
}

// Cursor is a position in a listing: the last seq returned and the order.
// Its text form is opaque to clients.
type Cursor struct {
	Seq   int64
	Order Order
}

// String encodes c opaquely.
func (c Cursor) String() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "v1.%s.%d", c.Order, c.Seq))
}

// ParseCursor decodes a cursor made by Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		parts := strings.Split(string(b), ".")
		if len(parts) == 3 && parts[0] == "v1" && (parts[1] == string(OrderAsc) || parts[1] == string(OrderDesc)) {
			if seq, err := strconv.ParseInt(parts[2], 10, 64); err == nil && seq >= 0 {
				return Cursor{Seq: seq, Order: Order(parts[1])}, nil
			}
		}
	}
	return Cursor{}, &Error{Code: EINVALID, Message: "invalid cursor",
		Fields: []FieldError{{Field: "cursor", Message: "is not a cursor this server issued; pass next_cursor back unchanged"}}}
}

// ValidActorFilter reports whether s is "type:id" or an email address, as Query.Actor does.
func ValidActorFilter(s string) bool {
	if strings.Contains(s, "@") && !strings.Contains(s, ":") {
		return true
	}
	typ, id, ok := strings.Cut(s, ":")
	return ok && typ != "" && id != ""
}

// ParseIPFilter reads an address or a CIDR prefix.
func ParseIPFilter(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("must be an IP address or CIDR prefix such as 203.0.113.0/24")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("must be an IP address or CIDR prefix such as 203.0.113.0/24")
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}
