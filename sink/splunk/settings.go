package splunk

import "github.com/hashtrail/hashtrail/sink/sinkutil"

// Duration is a time.Duration written as a Go duration string ("10s").
type Duration = sinkutil.Duration
