package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// maxChunk is the most rows one multi-row INSERT writes and the most values
// one IN list holds. Fewer, larger statements cut the driver's per-call
// overhead, which dominates SQLite write cost in Go.
const maxChunk = 64

// wtx is a write transaction on the writer connection, begun IMMEDIATE.
// Public write methods own one (Store.write); private helpers take it.
// Statements are prepared once on the connection and cached by SQL text.
type wtx struct {
	ctx  context.Context
	conn *sql.Conn
	st   map[string]*sql.Stmt
}

// stmt returns the prepared statement for query.
func (t *wtx) stmt(query string) (*sql.Stmt, error) {
	st, ok := t.st[query]
	if !ok {
		var err error
		if st, err = t.conn.PrepareContext(t.ctx, query); err != nil {
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
		t.st[query] = st
	}
	return st, nil
}

// exec runs a prepared statement.
func (t *wtx) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	res, err := st.ExecContext(t.ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: exec: %w", err)
	}
	return res, nil
}

// query runs a prepared query; the caller closes the rows.
func (t *wtx) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(t.ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query: %w", err)
	}
	return rows, nil
}

// queryRow runs a prepared single-row query.
func (t *wtx) queryRow(query string, args ...any) (*sql.Row, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(t.ctx, args...), nil
}

// insertRows writes rows of width columns (args holds them back to back)
// with multi-row INSERTs of head, such as "INSERT INTO t (a, b) VALUES ".
// Chunks of maxChunk rows, then the remainder split into powers of two,
// keep the set of distinct prepared statements small.
func (t *wtx) insertRows(head string, width int, args []any) error {
	rows := len(args) / width
	for rows > 0 {
		n := maxChunk
		for n > rows {
			n /= 2
		}
		if _, err := t.exec(head+valuesList(n, width), args[:n*width]...); err != nil {
			return err
		}
		args = args[n*width:]
		rows -= n
	}
	return nil
}

// valuesList returns "(?, ?), (?, ?)" for n rows of width columns.
func valuesList(n, width int) string {
	row := "(" + strings.Repeat("?,", width-1) + "?)"
	return strings.Repeat(row+",", n-1) + row
}

// inChunks calls fn with the values split into IN lists whose length is a
// power of two up to maxChunk, padded by repeating the last value, so that
// few distinct statements are prepared. list is "?,?,..." for the chunk.
func inChunks[T any](vals []T, fn func(list string, chunk []any) error) error {
	for len(vals) > 0 {
		n := 1
		for n < len(vals) && n < maxChunk {
			n *= 2
		}
		take := min(n, len(vals))
		chunk := make([]any, n)
		for i := range n {
			chunk[i] = vals[min(i, take-1)]
		}
		if err := fn(strings.Repeat("?,", n-1)+"?", chunk); err != nil {
			return err
		}
		vals = vals[take:]
	}
	return nil
}
