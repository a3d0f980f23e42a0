// Package client is Hashtrail's Go SDK and its client-side verifier: the
// code an outside party runs to check that a tenant's log is what the
// installation's signed checkpoints say it is (DESIGN §2, docs/integrity.md).
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
