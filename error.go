package hashtrail

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Only httpapi maps them to HTTP statuses.
const (
	EINVALID      = "invalid"      // the input is wrong; Fields says where
	EUNAUTHORIZED = "unauthorized" // missing, unknown, expired or revoked credentials
	EFORBIDDEN    = "forbidden"    // valid credentials whose role may not do this
	ENOTFOUND     = "not_found"    // unknown resource, or one the caller cannot see
	ECONFLICT     = "conflict"     // an id reused with other content, or a resource that exists
	ETOOLARGE     = "too_large"    // a body, batch, event or field over its limit
	EUNSUPPORTED  = "unsupported"  // a media type other than JSON
	ERATELIMIT    = "rate_limited" // too many requests; retry later
	EUNAVAILABLE  = "unavailable"  // overloaded or the store is unreachable; retry later
	EINTERNAL     = "internal"     // a bug or an unexpected failure
)

// FieldError names one wrong field by its JSON path, such as events[3].severity.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an expected failure with a code, a message safe to show to the
// caller, and optionally the fields that are wrong.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("hashtrail: %s: %s", e.Code, e.Message)
	}
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		if f.Field == "" {
			parts = append(parts, f.Message)
			continue
		}
		parts = append(parts, f.Field+": "+f.Message)
	}
	return fmt.Sprintf("hashtrail: %s: %s (%s)", e.Code, e.Message, strings.Join(parts, "; "))
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidFields returns an EINVALID error listing the wrong fields.
func InvalidFields(fields []FieldError) *Error {
	msg := "the request has invalid fields"
	if len(fields) == 1 {
		msg = "the request has an invalid field"
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the message of its
// *Error, or a generic text for internal errors, which must not leak details.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
