package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// maxManagementBody limits the JSON bodies of management requests (tenants, keys).
const maxManagementBody = 1 << 20

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("httpapi: encoding the answer: %w", err)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) // a failed write means the client left; nothing to answer
	return nil
}

// requireJSON checks that the request body is JSON in UTF-8 and not encoded.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return hashtrail.Errorf(hashtrail.EUNSUPPORTED, "the body must be JSON: send \"Content-Type: application/json\"")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return hashtrail.Errorf(hashtrail.EUNSUPPORTED, "the body must be application/json, not %.100q", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return hashtrail.Errorf(hashtrail.EUNSUPPORTED, "the body must be UTF-8, not charset %.40q", cs)
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return hashtrail.Errorf(hashtrail.EUNSUPPORTED, "content encoding %.40q is not supported; send the body unencoded", ce)
	}
	return nil
}

// readBody reads the whole body, failing with ETOOLARGE past limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	tooLarge := hashtrail.Errorf(hashtrail.ETOOLARGE, "the request body is larger than %d bytes", limit)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		if r.Context().Err() != nil {
			return nil, r.Context().Err()
		}
		return nil, hashtrail.Errorf(hashtrail.EINVALID, "the request body could not be read")
	}
	return body, nil
}

// decodeJSON reads a management request's body strictly into v: JSON only,
// at most maxManagementBody bytes, one object, no unknown fields. Its errors
// name the wrong fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := readBody(w, r, maxManagementBody)
	if err != nil {
		return err
	}
	invalid := func(field, msg string) error {
		return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: field, Message: msg}})
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid("", "the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid(jsonErrorField(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("", "the body holds more than one JSON value")
	}
	return nil
}

// jsonErrorField turns a decoding error into a field path and a message.
func jsonErrorField(err error) (string, string) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "", fmt.Sprintf("not valid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		return te.Field, "must be " + jsonKind(te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "", "the JSON ends early"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		if s, err := strconv.Unquote(name); err == nil {
			return s, "unknown field"
		}
	}
	return "", msg
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}
