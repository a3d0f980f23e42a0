// Package client is Hashtrail's Go SDK and its client-side verifier: the
// code an app runs to record audit events, and the code an outside party
// runs to check that a tenant's log is what the installation's signed
// checkpoints say it is (DESIGN §2, docs/integrity.md). docs/sdk.md is the
// guide.
//
// # Recording
//
// A Client (New) sends events to a server. Record queues an event and
// returns at once (no allocation, well under a microsecond); one background
// sender batches events by size and time, posts them (to
// /v1/tenants/{t}/events with a tenant's key, WithTenant, or to /v1/events
// with an installation-wide key), retries 429, 5xx and network errors with
// exponential backoff, full jitter and the server's Retry-After, and gives
// every event a ULID id before its first try so that a retry never records
// it twice. A batch with invalid events is sent with ?partial=true: the
// valid ones are written and each rejected one reaches the error handler
// (WithErrorHandler) as an *EventError with its field errors. Events leave
// in the order they were recorded, so each tenant's log keeps it.
//
// RecordSync waits until the event is durable and returns its receipt
// (seq, leaf_hash). RecordFanOut records one action in several tenants. The
// queue is bounded (WithQueueSize) and, when full, blocks up to a deadline
// or drops and counts (WithBlockWhenFull, WithDropWhenFull). WithSpool keeps
// what cannot be sent yet on disk, so events survive an outage and a
// restart and are sent in order when the server returns. Flush, Close and
// Stats do what they say.
//
// Middleware (net/http) and WithActor / WithEventContext put the actor and
// the request's context (client IP, user agent, request id...) in a
// context.Context, from which Record fills events that leave them empty.
// Diff builds an event's changes from two structs or maps without ever
// recording a secret's value (hashtrail.SecretName). Outbox writes events in the
// app's own database transaction and relays them once committed, so an
// event exists exactly when its change committed.
//
// # Verifying
//
// A Verifier checks one tenant log read through a Source. Three sources come
// with the package or the hashtrail command:
//
//   - a complete source holds every entry of the log (the data directory,
//     read by `hashtrail verify --data`, or every event of a running server,
//     read by HTTPSource): the verifier rebuilds each leaf from its event,
//     recomputes the whole tree and compares it with every checkpoint and,
//     when the source has them, with every stored tree hash;
//   - a partial source holds some entries (a random sample read by
//     HTTPSource, or an evidence Bundle): each entry is checked with an
//     inclusion proof against the latest verified checkpoint.
//
// In every case the checkpoints must be signed by one of the pinned log keys
// under the log's origin "<server name>/<tenant>", checkpoints of one size
// must agree, and the latest one must be consistent with the one remembered
// from an earlier run (State, trust on first use, like a witness).
//
// Personal values may be missing from a leaf's event, and a whole event body
// may be missing from the log, only where the log itself says so first: a
// system.subject_erased or system.retention_purge event (see SubjectErased
// and RetentionPurge) within a signed checkpoint must cover each one.
// Anything else that does not match is reported as a Divergence: the first
// place, in seq order, where the log stops matching its commitments.
//
// The package imports only the root package, api, merkle, checkpoint and the
// standard library: it builds without any database driver.
package client
