package hashtrail_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
)

type retryAfterError time.Duration

func (e retryAfterError) Error() string             { return "slow down" }
func (e retryAfterError) RetryAfter() time.Duration { return time.Duration(e) }

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want time.Duration
	}{
		{nil, 0},
		{errors.New("connection refused"), 0},
		{retryAfterError(3 * time.Second), 3 * time.Second},
		{fmt.Errorf("deliver: %w", retryAfterError(time.Minute)), time.Minute},
		{&hashtrail.PermanentError{Err: retryAfterError(time.Second)}, time.Second},
		{retryAfterError(-time.Second), 0},
	} {
		if got := hashtrail.RetryAfter(tc.err); got != tc.want {
			t.Errorf("RetryAfter(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
