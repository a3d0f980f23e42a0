package webhook

import "github.com/hashtrail/hashtrail/sink/sinkutil"

// RetryError is a failure that a later attempt may not meet; see
// sinkutil.RetryError. The dispatcher honours its Retry-After.
type RetryError = sinkutil.RetryError
