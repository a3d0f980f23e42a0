// Package hashtrail names the vocabulary of the Hashtrail audit-log service:
// events and their parts, tenants, API keys, queries, errors, and the
// interfaces that the engine (ledger), the stores and the HTTP API meet at.
//
// The package is pure: it does no I/O and imports nothing of the project but
// merkle. Every other package speaks in these types.
package hashtrail
