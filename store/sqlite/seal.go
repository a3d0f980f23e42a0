package sqlite

import (
	"errors"

	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// preparePerWorker is the least work worth another goroutine.
const preparePerWorker = 32

// prepared is what write stores for a new event, computed from its seal.
type prepared struct {
	body []byte // events.body: the event without its personal values
	pii  []any  // its event_pii rows
}

// prepare encodes the body and personal-value rows of every new event of
// the call, on up to GOMAXPROCS goroutines, and sets a.prep.
func (a *appender) prepare() error {
	added := a.plan.Added
	a.prep = make([]prepared, len(added))
	errs := make([]error, len(added))
	ingest.Parallel(len(added), preparePerWorker, func(i int) {
		e, sl := added[i].Event, a.plan.Sealed[i]
		p := &a.prep[i]
		if p.body, errs[i] = encodeBody(nil, sl.Public); errs[i] == nil {
			p.pii, errs[i] = piiRows(nil, a.heads[e.Tenant].num, e.Seq, sl.Roles)
		}
	})
	return errors.Join(errs...)
}
