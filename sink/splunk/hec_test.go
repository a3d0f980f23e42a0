package splunk_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink/splunk"
)

// fakeHEC is a local HTTP Event Collector that enforces HEC's documented
// contract: the Authorization: Splunk <token> header, the JSON event
// protocol (objects one after the other with time, host, source,
// sourcetype, index, fields and a non-blank event), allowed indexes, the
// request channel and indexer acknowledgement, Splunk's status codes and
// error codes (with invalid-event-number), "Server is busy" and a maximum
// content length.
type fakeHEC struct {
	token    string
	indexes  map[string]bool // allowed explicit indexes
	ack      bool            // the token uses indexer acknowledgement
	ackAfter int             // polls of an ackId before it is acknowledged
	maxBody  int

	mu       sync.Mutex
	busy     int // answer 503 Server is busy to the next busy event requests
	events   []hecEvent
	raw      [][]byte // accepted event request bodies
	requests int
	polls    int
	nextAck  int64
	acks     map[string]map[int64]*pendingAck // channel -> ackId
}

type pendingAck struct {
	events []hecEvent
	polls  int
	done   bool
}

type hecEvent struct {
	Time       json.Number     `json:"time"`
	Host       string          `json:"host"`
	Source     string          `json:"source"`
	Sourcetype string          `json:"sourcetype"`
	Index      string          `json:"index"`
	Event      hashtrail.Event `json:"event"`
}

func (h *fakeHEC) answer(w http.ResponseWriter, status int, v map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (h *fakeHEC) fail(w http.ResponseWriter, status, code int, text string) {
	h.answer(w, status, map[string]any{"text": text, "code": code})
}

var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

func (h *fakeHEC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != splunk.EventPath && r.URL.Path != splunk.AckPath {
		h.fail(w, http.StatusNotFound, 404, "The requested URL was not found on this server.")
		return
	}
	if r.Method != http.MethodPost {
		h.fail(w, http.StatusMethodNotAllowed, 405, "Method not allowed")
		return
	}
	auth := r.Header.Get("Authorization")
	tok, ok := bytes.CutPrefix([]byte(auth), []byte("Splunk "))
	switch {
	case auth == "":
		h.fail(w, http.StatusUnauthorized, 2, "Token is required")
		return
	case !ok:
		h.fail(w, http.StatusUnauthorized, 3, "Invalid authorization")
		return
	case string(tok) != h.token:
		h.fail(w, http.StatusForbidden, 4, "Invalid token")
		return
	}
	channel := r.Header.Get("X-Splunk-Request-Channel")
	if channel == "" {
		channel = r.URL.Query().Get("channel")
	}
	if h.ack || r.URL.Path == splunk.AckPath {
		if channel == "" {
			h.fail(w, http.StatusBadRequest, 10, "Data channel is missing")
			return
		}
		if !guidRE.MatchString(channel) {
			h.fail(w, http.StatusBadRequest, 11, "Invalid data channel")
			return
		}
	}
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == splunk.AckPath {
		h.serveAck(w, channel, body)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if h.busy > 0 {
		h.busy--
		h.fail(w, http.StatusServiceUnavailable, 9, "Server is busy")
		return
	}
	if h.maxBody > 0 && len(body) > h.maxBody {
		h.fail(w, http.StatusRequestEntityTooLarge, 413, "Content too large")
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		h.fail(w, http.StatusBadRequest, 5, "No data")
		return
	}
	var got []hecEvent
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	for n := 0; d.More(); n++ {
		bad := func(code int, text string) {
			h.answer(w, http.StatusBadRequest, map[string]any{"text": text, "code": code, "invalid-event-number": n})
		}
		var m map[string]json.RawMessage
		if err := d.Decode(&m); err != nil || m == nil {
			bad(6, "Invalid data format")
			return
		}
		for k := range m {
			switch k {
			case "time", "host", "source", "sourcetype", "index", "event", "fields":
			default:
				bad(6, "Invalid data format")
				return
			}
		}
		ev, ok := m["event"]
		if !ok {
			bad(12, "Event field is required")
			return
		}
		if s := string(bytes.TrimSpace(ev)); s == "null" || s == `""` || s == "{}" {
			bad(13, "Event field cannot be blank")
			return
		}
		var e hecEvent
		if err := json.Unmarshal(mustReencode(m), &e); err != nil {
			bad(6, "Invalid data format")
			return
		}
		if t, ok := m["time"]; ok {
			if _, err := strconv.ParseFloat(string(t), 64); err != nil {
				bad(6, "Invalid data format")
				return
			}
		}
		if e.Index != "" && !h.indexes[e.Index] {
			bad(7, "Incorrect index")
			return
		}
		got = append(got, e)
	}
	h.raw = append(h.raw, body)
	if !h.ack {
		h.events = append(h.events, got...)
		h.answer(w, http.StatusOK, map[string]any{"text": "Success", "code": 0})
		return
	}
	if h.acks == nil {
		h.acks = map[string]map[int64]*pendingAck{}
	}
	if h.acks[channel] == nil {
		h.acks[channel] = map[int64]*pendingAck{}
	}
	id := h.nextAck
	h.nextAck++
	h.acks[channel][id] = &pendingAck{events: got}
	h.answer(w, http.StatusOK, map[string]any{"text": "Success", "code": 0, "ackId": id})
}

// serveAck answers POST /services/collector/ack: {"acks":[ids]} ->
// {"acks":{"id":bool}}; events count as indexed once acknowledged.
func (h *fakeHEC) serveAck(w http.ResponseWriter, channel string, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.ack {
		h.fail(w, http.StatusBadRequest, 14, "ACK is disabled")
		return
	}
	var q struct {
		Acks []int64 `json:"acks"`
	}
	if err := json.Unmarshal(body, &q); err != nil || q.Acks == nil {
		h.fail(w, http.StatusBadRequest, 6, "Invalid data format")
		return
	}
	h.polls++
	out := map[string]bool{}
	for _, id := range q.Acks {
		p := h.acks[channel][id]
		if p == nil {
			out[strconv.FormatInt(id, 10)] = false
			continue
		}
		p.polls++
		if p.polls >= h.ackAfter && !p.done {
			p.done = true
			h.events = append(h.events, p.events...)
		}
		out[strconv.FormatInt(id, 10)] = p.done
	}
	h.answer(w, http.StatusOK, map[string]any{"acks": out})
}

func mustReencode(m map[string]json.RawMessage) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(errors.New("reencode"))
	}
	return b
}

func (h *fakeHEC) indexed() []hecEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hecEvent(nil), h.events...)
}
