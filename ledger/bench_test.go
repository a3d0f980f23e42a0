package ledger_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

// BenchmarkIngest measures the engine and the SQLite store together, without
// HTTP: parallel requests of 100 realistic events each, decoded as the API
// would, sharing group commits.
func BenchmarkIngest(b *testing.B) {
	l, _ := MustOpen(b, ledger.Config{AutoCreateTenants: true})
	ctx := as(b.Context(), hashtrail.AllTenants, hashtrail.RoleIngest)
	raw := `{"id":"%s","action":"user.login","actor":{"type":"user","id":"4711","name":"Alice Example","email":"alice@example.com","auth":{"method":"password+totp","mfa":true}},` +
		`"targets":[{"type":"project","id":"7","name":"Payments API"}],"context":{"ip":"203.0.113.7","user_agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",` +
		`"request_id":"req-0123456789abcdef","session_id":"sess-01234567","method":"POST","path":"/api/v1/projects/settings","source":"web","location":{"country":"DE","city":"Berlin"}},` +
		`"service":{"name":"console","version":"4.2.1","environment":"production","host":"web-3"},"metadata":{"plan":"enterprise","attempt":1},"tags":["web","eu-central-1"]}`
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	var n int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := &hashtrail.IngestRequest{Tenant: "bench"}
			for i := range 100 {
				sub, errs := hashtrail.DecodeEvent(json.RawMessage(fmt.Sprintf(raw, hashtrail.NewEventID())), "", hashtrail.DecodeOptions{PathTenant: "bench"}, hashtrail.NewTime(time.Now()))
				if errs != nil {
					b.Fatal(errs)
				}
				sub.Index = i
				req.Submissions = append(req.Submissions, sub)
			}
			if _, err := l.Ingest(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	n = int64(b.N) * 100
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
}
