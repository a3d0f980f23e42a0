package hashtrail

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Limits of DESIGN §1.
const (
	MaxEventBytes    = 1 << 20   // one event, encoded
	MaxBatchEvents   = 1000      // events in one request
	MaxBatchBytes    = 8 << 20   // one request body
	MaxMetadataBytes = 32 << 10  // an event's metadata, encoded
	MaxOutputBytes   = 256 << 10 // output.stdout and output.stderr, each
)

// Submission is one event as a client submitted it, decoded and validated.
type Submission struct {
	Event *Event
	// Tenants is the fan-out list of POST /v1/events, if the event named one.
	Tenants []string
	// Index is the event's position in its request.
	Index int
	// ContentHash is SHA-256 over the RFC 8785 form of the event as
	// submitted, before defaults: what idempotency compares.
	ContentHash []byte
}

// DecodeOptions say where an event arrives.
type DecodeOptions struct {
	// Installation is true for POST /v1/events, where each event names
	// "tenant" or "tenants". Otherwise a "tenant" member, if any, must equal
	// PathTenant.
	Installation bool
	PathTenant   string
}

// SplitBatch splits a request body into its raw events: the body is either one
// event object or {"events": [...]}. Errors name the offending field.
func SplitBatch(body []byte) ([]json.RawMessage, error) {
	if len(body) > MaxBatchBytes {
		return nil, Errorf(ETOOLARGE, "the request body is larger than %d bytes", MaxBatchBytes)
	}
	if events, ok := splitFast(body); ok {
		return events, nil
	}
	return splitFull(body)
}

// splitFull is SplitBatch's path that explains every problem.
func splitFull(body []byte) ([]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, InvalidFields([]FieldError{{Field: "", Message: "the body is not valid UTF-8"}})
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, InvalidFields([]FieldError{{Field: "", Message: "the body must be a JSON object: " + jsonErrorText(err)}})
	}
	if top == nil { // null
		return nil, InvalidFields([]FieldError{{Field: "", Message: "the body must be a JSON object"}})
	}
	raw, ok := top["events"]
	if !ok {
		return []json.RawMessage{body}, nil
	}
	var errs []FieldError
	for k := range top {
		if k != "events" {
			errs = append(errs, FieldError{Field: k, Message: "unknown field; a batch has only \"events\""})
		}
	}
	var events []json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil {
		errs = append(errs, FieldError{Field: "events", Message: "must be an array of event objects"})
	}
	if len(errs) > 0 {
		return nil, InvalidFields(errs)
	}
	if len(events) == 0 {
		return nil, InvalidFields([]FieldError{{Field: "events", Message: "must hold at least one event"}})
	}
	if len(events) > MaxBatchEvents {
		return nil, &Error{Code: ETOOLARGE, Message: fmt.Sprintf("a batch holds at most %d events", MaxBatchEvents),
			Fields: []FieldError{{Field: "events", Message: fmt.Sprintf("has %d events; the limit is %d", len(events), MaxBatchEvents)}}}
	}
	return events, nil
}

// splitFast splits a well-formed batch {"events":[{...},...]} of 1 to
// MaxBatchEvents objects in one streaming pass; anything else (one event, an
// error of any kind) answers ok=false and takes the full path.
func splitFast(body []byte) (events []json.RawMessage, ok bool) {
	d := jsontext.NewDecoder(bytes.NewReader(body))
	if t, err := d.ReadToken(); err != nil || t.Kind() != '{' {
		return nil, false
	}
	if t, err := d.ReadToken(); err != nil || t.Kind() != '"' || t.String() != "events" {
		return nil, false
	}
	if t, err := d.ReadToken(); err != nil || t.Kind() != '[' {
		return nil, false
	}
	for d.PeekKind() == '{' && len(events) < MaxBatchEvents {
		v, err := d.ReadValue()
		if err != nil {
			return nil, false
		}
		events = append(events, json.RawMessage(bytes.Clone(v)))
	}
	if t, err := d.ReadToken(); err != nil || t.Kind() != ']' || len(events) == 0 {
		return nil, false
	}
	if t, err := d.ReadToken(); err != nil || t.Kind() != '}' {
		return nil, false
	}
	if _, err := d.ReadToken(); err != io.EOF {
		return nil, false
	}
	return events, true
}

// DecodeEvent decodes one raw event strictly and validates it against the
// rules of DESIGN §1 at time now. prefix is prepended to every field path (for
// example "events[3]"). It reports every wrong field it finds, not just the
// first. Defaults are not applied; see Event.ApplyDefaults.
func DecodeEvent(raw json.RawMessage, prefix string, opt DecodeOptions, now Time) (*Submission, []FieldError) {
	at := func(f string) string { return joinPath(prefix, f) }
	if len(raw) > MaxEventBytes {
		return nil, []FieldError{{Field: at(""), Message: fmt.Sprintf("the event is %d bytes; the limit is %d", len(raw), MaxEventBytes)}}
	}
	if !utf8.Valid(raw) {
		return nil, []FieldError{{Field: at(""), Message: "the event is not valid UTF-8"}}
	}
	if sub, ok := decodeFast(raw, opt, now); ok {
		return sub, nil
	}
	return decodeFull(raw, prefix, opt, now)
}

// decodeFull is the decoder that names every problem: it decodes generically,
// walks the value against the Event type, and validates what it could decode.
func decodeFull(raw json.RawMessage, prefix string, opt DecodeOptions, now Time) (*Submission, []FieldError) {
	at := func(f string) string { return joinPath(prefix, f) }
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, []FieldError{{Field: at(""), Message: "not valid JSON: " + jsonErrorText(err)}}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, []FieldError{{Field: at(""), Message: "must be a JSON object"}}
	}
	var errs []FieldError
	sub := &Submission{}
	t, namesTenants := obj["tenants"]
	if namesTenants {
		delete(obj, "tenants")
		if !opt.Installation {
			errs = append(errs, FieldError{at("tenants"), "allowed only on POST /v1/events with an installation-wide key"})
		} else {
			sub.Tenants, errs = decodeTenantList(t, at("tenants"), errs)
		}
	}
	for _, f := range []string{"seq", "received_at", "leaf_hash", "key_id", "pii"} {
		if _, ok := obj[f]; ok {
			errs = append(errs, FieldError{at(f), "is assigned by the server and must not be sent"})
			delete(obj, f)
		}
	}
	if m, ok := obj["metadata"]; ok && m == nil {
		delete(obj, "metadata") // null means absent, as everywhere else
	}
	checkShape(obj, eventType, prefix, &errs)
	// Decode what is well-formed even when some fields are not, so that the
	// field rules below report every other problem too. HTML is not escaped,
	// so that metadata keeps the size the client sent.
	ev := &Event{}
	var clean bytes.Buffer
	enc := json.NewEncoder(&clean)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(obj)
	if err := json.Unmarshal(clean.Bytes(), ev); err != nil && len(errs) == 0 {
		return nil, []FieldError{{Field: at(""), Message: jsonErrorText(err)}}
	}
	bad := make(map[string]bool, len(errs))
	for _, e := range errs {
		bad[e.Field] = true
	}
	// underBad reports whether f is, or lies inside, a field already reported.
	underBad := func(f string) bool {
		for p := f; ; {
			if bad[p] {
				return true
			}
			i := strings.LastIndexAny(p, ".[")
			if i <= len(prefix) {
				return false
			}
			p = p[:i]
		}
	}
	switch {
	case opt.Installation && ev.Tenant == "" && !namesTenants:
		errs = append(errs, FieldError{at("tenant"), "is required with an installation-wide key: name \"tenant\" or \"tenants\""})
	case opt.Installation && ev.Tenant != "" && len(sub.Tenants) > 0:
		errs = append(errs, FieldError{at("tenants"), "name either \"tenant\" or \"tenants\", not both"})
	case !opt.Installation && ev.Tenant != "" && ev.Tenant != opt.PathTenant:
		errs = append(errs, FieldError{at("tenant"), "differs from the tenant in the path"})
	case ev.Tenant != "" && !ValidTenantID(ev.Tenant):
		errs = append(errs, FieldError{at("tenant"), "must match " + tenantIDPattern})
	}
	for _, fe := range ev.Validate(now) {
		if f := at(fe.Field); !underBad(f) {
			errs = append(errs, FieldError{f, fe.Message})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	hash, err := contentHash(raw)
	if err != nil {
		return nil, []FieldError{{Field: at(""), Message: canonicalErrorText(err)}}
	}
	if err := canonicalizeRaw(ev); err != nil {
		return nil, []FieldError{{Field: at(""), Message: canonicalErrorText(err)}}
	}
	sub.Event, sub.ContentHash = ev, hash
	return sub, nil
}

func canonicalErrorText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "jsontext: ")
	if strings.Contains(msg, "duplicate") {
		return "has a duplicate object member name: " + msg
	}
	return "cannot be canonicalized (RFC 8785): " + msg
}

// canonicalizeRaw rewrites the free-form JSON of an event (metadata, change
// values) in its RFC 8785 form, so an event is stored the same way whatever
// key order, spacing and escapes the client used.
func canonicalizeRaw(ev *Event) error {
	canon := func(p *json.RawMessage) error {
		if len(*p) == 0 {
			return nil
		}
		v := jsontext.Value(bytes.Clone(*p))
		if err := v.Canonicalize(); err != nil {
			return err
		}
		*p = json.RawMessage(v)
		return nil
	}
	if err := canon(&ev.Metadata); err != nil {
		return err
	}
	for i := range ev.Changes {
		if err := canon(&ev.Changes[i].Old); err != nil {
			return err
		}
		if err := canon(&ev.Changes[i].New); err != nil {
			return err
		}
	}
	return nil
}

// contentHash is SHA-256 over the RFC 8785 form of a raw event.
func contentHash(raw []byte) ([]byte, error) {
	canon, err := canonicalJSON(raw)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(canon)
	return h[:], nil
}

// canonicalJSON returns the RFC 8785 (JCS) form of a JSON value. It refuses
// invalid UTF-8 and duplicate member names. raw is not modified.
func canonicalJSON(raw []byte) ([]byte, error) {
	// jsontext would silently round such numbers (1e400 to the largest
	// double), which would make the canonical form lie about the input.
	if !numbersExact(raw) {
		return nil, fmt.Errorf("a number cannot be represented exactly as an IEEE 754 double")
	}
	v := jsontext.Value(bytes.Clone(raw))
	if err := v.Canonicalize(); err != nil {
		return nil, err
	}
	return v, nil
}

// reservedMembers are the members a client event must not carry on the fast
// path: server-assigned fields and the fan-out list, which need the full
// decoder. A match inside a string merely sends the event down the slow path.
var reservedMembers = [][]byte{[]byte(`"seq"`), []byte(`"received_at"`), []byte(`"leaf_hash"`),
	[]byte(`"key_id"`), []byte(`"pii"`), []byte(`"tenants"`), []byte(`null`)}

// decodeFast decodes a well-formed, valid event in one strict pass. It
// answers ok=false for anything unusual or wrong, and the caller then runs
// the full decoder, which names every problem. Both accept exactly the same
// events (FuzzDecodeEvent checks it).
func decodeFast(raw []byte, opt DecodeOptions, now Time) (*Submission, bool) {
	for _, m := range reservedMembers {
		if bytes.Contains(raw, m) {
			return nil, false
		}
	}
	// encoding/json/v2 semantics: member names match exactly (v1 folds
	// case), duplicates and unknown members are refused.
	ev := &Event{}
	if err := jsonv2.Unmarshal(raw, ev, jsonv2.RejectUnknownMembers(true)); err != nil {
		return nil, false
	}
	if o := ev.Output; o != nil && o.ExitCode != nil && (*o.ExitCode < math.MinInt32 || *o.ExitCode > math.MaxInt32) {
		return nil, false
	}
	if !numbersExact(ev.Metadata) {
		return nil, false
	}
	for _, c := range ev.Changes {
		if !numbersExact(c.Old) || !numbersExact(c.New) {
			return nil, false
		}
	}
	switch {
	case opt.Installation && ev.Tenant == "",
		!opt.Installation && ev.Tenant != "" && ev.Tenant != opt.PathTenant,
		ev.Tenant != "" && !ValidTenantID(ev.Tenant):
		return nil, false
	}
	if len(ev.Validate(now)) > 0 {
		return nil, false
	}
	hash, err := contentHash(raw)
	if err != nil || canonicalizeRaw(ev) != nil {
		return nil, false
	}
	return &Submission{Event: ev, ContentHash: hash}, true
}

// numbersExact reports whether every number in raw JSON is exactly
// representable as a double. Short plain numbers (at most 15 significant
// digits, no exponent) always are; anything else gets the exact check.
func numbersExact(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(raw) && strings.IndexByte("+-0123456789.eE", raw[j]) >= 0 {
				j++
			}
			if tok := raw[i:j]; j-i > 15 || bytes.ContainsAny(tok, "eE") {
				if !exactDouble(string(tok)) {
					return false
				}
			}
			i = j - 1
		}
	}
	return true
}

func decodeTenantList(v any, path string, errs []FieldError) ([]string, []FieldError) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, append(errs, FieldError{path, "must be a non-empty array of tenant ids"})
	}
	seen := map[string]bool{}
	var out []string
	for i, e := range list {
		s, ok := e.(string)
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case !ok || !ValidTenantID(s):
			errs = append(errs, FieldError{p, "must be a tenant id matching " + tenantIDPattern})
		case seen[s]:
			errs = append(errs, FieldError{p, "names a tenant twice"})
		default:
			seen[s] = true
			out = append(out, s)
		}
	}
	return out, errs
}

func joinPath(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case strings.HasPrefix(field, "["):
		return prefix + field
	}
	return prefix + "." + field
}

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if e, ok := err.(*json.SyntaxError); ok {
		se = e
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

var (
	eventType = reflect.TypeFor[Event]()
	timeType  = reflect.TypeFor[Time]()
	rawType   = reflect.TypeFor[json.RawMessage]()

	fieldCache sync.Map // reflect.Type -> map[string]reflect.StructField
)

func jsonFields(t reflect.Type) map[string]reflect.StructField {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.StructField)
	}
	m := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = f
		}
	}
	fieldCache.Store(t, m)
	return m
}

// checkShape walks a generically decoded JSON value against the Go type it
// will be decoded into and records every unknown field and wrong type.
func checkShape(v any, t reflect.Type, path string, errs *[]FieldError) {
	add := func(msg string) { *errs = append(*errs, FieldError{path, msg}) }
	if v == nil {
		return // null means absent
	}
	switch {
	case t == timeType:
		s, ok := v.(string)
		if !ok {
			add("must be an RFC 3339 time string")
			return
		}
		if tm, err := ParseTime(s); err != nil {
			add(err.Error())
		} else if tm.Year() < 1970 {
			// Checked here too: the zero time would otherwise pass as absent.
			add("must not be before 1970")
		}
		return
	case t == rawType:
		checkNumbers(v, path, errs)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkShape(v, t.Elem(), path, errs)
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			add("must be an object")
			return
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(obj) {
			f, ok := fields[k]
			if !ok {
				*errs = append(*errs, FieldError{joinPath(path, k), "unknown field"})
				continue
			}
			checkShape(obj[k], f.Type, joinPath(path, k), errs)
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			add("must be an array")
			return
		}
		for i, e := range list {
			p := fmt.Sprintf("%s[%d]", path, i)
			if e == nil {
				*errs = append(*errs, FieldError{p, "must not be null"})
				continue
			}
			checkShape(e, t.Elem(), p, errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			add("must be a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			add("must be true or false")
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := v.(json.Number)
		if !ok {
			add("must be an integer")
			return
		}
		if _, err := strconv.ParseInt(n.String(), 10, 32); err != nil {
			add("must be an integer between -2147483648 and 2147483647")
		}
	default:
		add("has an unsupported type")
	}
}

// checkNumbers reports numbers in free JSON that an IEEE double cannot hold
// exactly, so that canonical JSON (RFC 8785) keeps them unchanged.
func checkNumbers(v any, path string, errs *[]FieldError) {
	switch x := v.(type) {
	case json.Number:
		if !exactDouble(x.String()) {
			*errs = append(*errs, FieldError{path, fmt.Sprintf("the number %.40s cannot be represented exactly as an IEEE 754 double; send it as a string", x.String())})
		}
	case []any:
		for i, e := range x {
			checkNumbers(e, fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			checkNumbers(x[k], joinPath(path, k), errs)
		}
	}
}

// exactDouble reports whether the JSON number s survives a round trip through
// a float64 and its shortest representation unchanged in value, which is what
// RFC 8785 writes.
func exactDouble(s string) bool {
	// Reduce s to digits × 10^exp without leading or trailing zeros first, so
	// that big.Rat, whose cost grows quadratically with the length of what it
	// parses, only ever sees a short literal: a shortest representation has
	// at most 17 significant digits and lies between 5e-324 and 1.8e308.
	mant, exps, hasExp := strings.Cut(strings.ToLower(strings.TrimPrefix(s, "-")), "e")
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(exps)
		if err != nil || e > 1<<30 || e < -1<<30 {
			return false
		}
		exp = e
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return true // zero
	}
	trimmed := strings.TrimRight(digits, "0")
	exp += len(digits) - len(trimmed) - len(frac)
	if len(trimmed) > 17 || exp+len(trimmed) > 400 || exp < -400 {
		return false
	}
	norm := trimmed + "e" + strconv.Itoa(exp)
	f, err := strconv.ParseFloat(norm, 64)
	if err != nil {
		return false
	}
	orig, ok1 := new(big.Rat).SetString(norm)
	back, ok2 := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', -1, 64))
	return ok1 && ok2 && orig.Cmp(back) == 0
}

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
