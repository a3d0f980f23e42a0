package datadog

import (
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/hashtrail/hashtrail"
)

// Duration is a time.Duration written as a Go duration string ("10s").
type Duration time.Duration

// MarshalJSON writes d as "10s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "10s" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`must be a duration string such as "10s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New(`must be a duration string such as "10s"`)
	}
	*d = Duration(v)
	return nil
}

// decodeFields decodes a JSON object member by member into fields, naming
// the member that is unknown or of the wrong type.
func decodeFields(settings json.RawMessage, fields map[string]any) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(settings, &raw); err != nil || raw == nil {
		return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "settings", Message: "must be a JSON object"}})
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		p, ok := fields[k]
		if !ok {
			return invalid(k, "is not a setting of this destination")
		}
		if err := json.Unmarshal(raw[k], p); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return invalid(k, "must be a "+jsonType(te.Type.Kind().String()))
			}
			return invalid(k, err.Error())
		}
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	default:
		return "number"
	}
}

func invalid(field, msg string) error {
	return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "settings." + field, Message: msg}})
}
