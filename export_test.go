package hashtrail

// DecodeEventFull exposes the full decoder, which the fast path must agree with.
var DecodeEventFull = decodeFull

// SplitBatchFull exposes the full batch splitter, which the fast one must agree with.
var SplitBatchFull = splitFull
