package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// statusOf maps hashtrail error codes to HTTP statuses (DESIGN §3). It is the
// only such table in the project; codes missing from it are answered 500.
var statusOf = map[string]int{
	hashtrail.EINVALID:      http.StatusBadRequest,
	hashtrail.EUNAUTHORIZED: http.StatusUnauthorized,
	hashtrail.EFORBIDDEN:    http.StatusForbidden,
	hashtrail.ENOTFOUND:     http.StatusNotFound,
	hashtrail.ECONFLICT:     http.StatusConflict,
	hashtrail.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	hashtrail.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	hashtrail.ERATELIMIT:    http.StatusTooManyRequests,
	hashtrail.EUNAVAILABLE:  http.StatusServiceUnavailable,
	hashtrail.EINTERNAL:     http.StatusInternalServerError,
	// A storage quota does not clear by itself: 403, which clients do not
	// retry, rather than 507 (a 5xx, which they do); see docs/api.md.
	hashtrail.EQUOTA: http.StatusForbidden,
}

// Default Retry-After answers when the error does not say.
const (
	defaultRetryRateLimited = 1 * time.Second
	defaultRetryUnavailable = 5 * time.Second
)

// internalMessage answers every internal error; the details go to the log.
const internalMessage = "internal error; quote the request id to the operator"

// statusClientClosed is logged and counted when the client went away before
// the answer (nginx's 499); the client never sees it.
const statusClientClosed = 499

// retryAfterError is an error that knows when to retry. An ERATELIMIT or
// EUNAVAILABLE error anywhere in a chain may implement it to set Retry-After.
type retryAfterError interface {
	error
	RetryAfter() time.Duration
}

// httpError is a failure that exists only at the HTTP layer and has no
// hashtrail code of its own (405).
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// writeError answers err as a problem. Internal errors are logged here, once,
// and answered with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	info := infoFrom(r.Context())
	if wroteHeader(w) {
		// Too late for a problem; the client sees a truncated answer.
		s.log.LogAttrs(r.Context(), slog.LevelError, "error after the answer started",
			slog.String("request_id", info.id), slog.String("route", info.route), slog.Any("err", err))
		return
	}
	var (
		herr   *httpError
		terr   *hashtrail.Error
		mbe    *http.MaxBytesError
		fields []hashtrail.FieldError
		code   = hashtrail.ErrorCode(err)
		msg    = hashtrail.ErrorMessage(err)
	)
	switch {
	case errors.As(err, &herr):
		s.writeProblem(w, r, herr.status, herr.code, herr.msg, nil)
		return
	case errors.As(err, &mbe):
		code, msg = hashtrail.ETOOLARGE, fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		w.WriteHeader(statusClientClosed) // nobody is listening
		return
	case errors.Is(err, context.DeadlineExceeded) && code == hashtrail.EINTERNAL:
		code, msg = hashtrail.EUNAVAILABLE, "the request took too long; retry later"
	case errors.As(err, &terr):
		fields = terr.Fields
	}
	status, ok := statusOf[code]
	if !ok {
		status, code = http.StatusInternalServerError, hashtrail.EINTERNAL
	}
	if status == http.StatusInternalServerError {
		s.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", info.id), slog.String("route", info.route),
			slog.String("method", normalMethod(r.Method)), slog.Any("err", err))
		msg, fields = internalMessage, nil
	}
	switch status {
	case http.StatusUnauthorized:
		challenge := `Bearer realm="hashtrail"`
		if r.Header.Get("Authorization") != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", retryAfter(err, defaultRetryRateLimited))
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", retryAfter(err, defaultRetryUnavailable))
	}
	s.writeProblem(w, r, status, code, msg, fields)
}

// retryAfter returns the Retry-After value in whole seconds (at least 1).
func retryAfter(err error, def time.Duration) string {
	d := def
	var ra retryAfterError
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		d = ra.RetryAfter()
	}
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}

// writeProblem writes an RFC 9457 problem body.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string, fields []hashtrail.FieldError) {
	p := api.Problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    detail,
		Instance:  r.URL.Path,
		Code:      code,
		Errors:    fields,
		RequestID: infoFrom(r.Context()).id,
	}
	body, err := json.Marshal(p)
	if err != nil { // cannot happen: a Problem is strings and ints
		body = []byte(`{"type":"about:blank","status":500,"code":"internal"}`)
	}
	h := w.Header()
	h.Set("Content-Type", api.ContentTypeProblem)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}
