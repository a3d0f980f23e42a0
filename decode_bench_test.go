package hashtrail_test

import (
	"encoding/json"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

func BenchmarkDecodeRealistic(b *testing.B) {
	raw := json.RawMessage(`{"id":"01KAZ3Q0ZQ8J5R2T6V9X1Y3B4C","action":"user.login","actor":{"type":"user","id":"4711","name":"Alice Example","email":"alice@example.com","auth":{"method":"password+totp","mfa":true}},` +
		`"targets":[{"type":"project","id":"7","name":"Payments API"}],"context":{"ip":"203.0.113.7","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",` +
		`"request_id":"req-0123456789abcdef","session_id":"sess-01234567","method":"POST","path":"/api/v1/projects/settings","source":"web","location":{"country":"DE","city":"Berlin"}},` +
		`"service":{"name":"console","version":"4.2.1","environment":"production","host":"web-3"},"metadata":{"plan":"enterprise","attempt":1},"tags":["web","eu-central-1"]}`)
	now := hashtrail.NewTime(time.Now())
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, errs := hashtrail.DecodeEvent(raw, "", hashtrail.DecodeOptions{PathTenant: "t"}, now); errs != nil {
			b.Fatal(errs)
		}
	}
}
