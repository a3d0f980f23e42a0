package sqlite

import "context"

// Pragma returns the value of a PRAGMA on the writer and on a reader.
func (s *Store) Pragma(ctx context.Context, name string) (w, r string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.wc.QueryRowContext(ctx, "PRAGMA "+name).Scan(&w); err != nil {
		return "", "", err
	}
	err = s.r.QueryRowContext(ctx, "PRAGMA "+name).Scan(&r)
	return w, r, err
}
