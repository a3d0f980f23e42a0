package hashtrail

// DecodeEventFull exposes the full decoder, which the fast path must agree with.
var DecodeEventFull = decodeFull
