package client

// WithDiscard makes the sender drop every event unseen, so that a benchmark
// measures Record alone (tests only).
func WithDiscard() Option { return func(c *config) { c.discard = true } }
